package verifier

import "testing"

func TestAchievedLevelIsTheGreatestLevelMet(t *testing.T) {
	cases := []struct {
		props Properties
		want  Level
	}{
		{0, Level0},
		{Properties(ImagesTUF), Level1a},
		{Properties(BundleTUF), Level1b},
		{Properties(BundleTUF | ImagesTUF), Level2},
		{Properties(BundleTUF | ImagesTUF | ImagesInToto), Level3a},
		{Properties(BundleTUF | ImagesTUF | BundleInToto), Level3b},
		{Properties(BundleTUF | ImagesTUF | BundleInToto | ImagesInToto), Level4},
		// Provenance without the TUF signature it travels under does not lift the level.
		{Properties(BundleTUF | BundleInToto), Level1b},
		{Properties(ImagesTUF | ImagesInToto), Level1a},
	}
	for _, c := range cases {
		if got := Achieved(c.props); got != c.want {
			t.Errorf("Achieved(%s) = %s, want %s", c.props, got, c.want)
		}
	}
}

func TestLevels1aAnd1bAreIncomparable(t *testing.T) {
	if Level1a.SatisfiedBy(Level1b.Requires()) || Level1b.SatisfiedBy(Level1a.Requires()) {
		t.Fatal("1a and 1b must not imply each other")
	}
	if Level3a.SatisfiedBy(Level3b.Requires()) || Level3b.SatisfiedBy(Level3a.Requires()) {
		t.Fatal("3a and 3b must not imply each other")
	}
	if !Level2.SatisfiedBy(Level4.Requires()) || !Level0.SatisfiedBy(0) {
		t.Fatal("4 must imply 2; 0 needs nothing")
	}
}

func TestUnknownLevelIsUsageError(t *testing.T) {
	if _, err := ParseLevel("5"); err == nil {
		t.Fatal("level 5 accepted")
	}
	if l, err := ParseLevel("3B"); err != nil || l != Level3b {
		t.Fatalf("ParseLevel(3B) = %v, %v", l, err)
	}
}
