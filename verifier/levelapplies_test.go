package verifier_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/internal/testing/registrytest"
	"github.com/cnabsec/cnabsec/internal/testing/scenario"
	"github.com/cnabsec/cnabsec/verifier"
)

// TestBundleLevelOnAnImageIsAUsageErrorNotVerified: 1b and 3b ask only for
// bundle properties; on an unsigned image they checked nothing and answered
// VERIFIED. They are bad input (exit 2), never a verdict.
func TestBundleLevelOnAnImageIsAUsageErrorNotVerified(t *testing.T) {
	reg := registrytest.New(t)
	s, err := scenario.Build(context.Background(), scenario.Options{Dir: t.TempDir(), Registry: reg.Host})
	if err != nil {
		t.Fatal(err)
	}
	unsigned := reg.PushImage(t, "org/unsigned:1.0", 99)
	for _, lvl := range []verifier.Level{verifier.Level1b, verifier.Level3b} {
		r, err := verify(t, s, unsigned.Ref, withImage(), withLevel(lvl))
		if err == nil || r.Verified {
			t.Fatalf("level %s on an unsigned image: verified", lvl)
		}
		if !fault.Is(err, fault.Input) || !errors.Is(err, verifier.ErrLevelNotForImages) {
			t.Fatalf("level %s: error %v (kind %v), want bad input wrapping ErrLevelNotForImages", lvl, err, fault.KindOf(err))
		}
		if want := "level " + string(lvl) + " on an image"; !strings.Contains(r.Error, want) {
			t.Fatalf("level %s: report error %q does not say %q", lvl, r.Error, want)
		}
	}
	// The image levels still verify what they stand for.
	for _, lvl := range []verifier.Level{verifier.Level1a, verifier.Level2} {
		if r, err := verify(t, s, s.WebRef, withImage(), withLevel(lvl)); err != nil || !r.Verified {
			t.Fatalf("level %s on the signed image: %v", lvl, err)
		}
	}
}

func TestCheckImageLevelAcceptsOnlyLevelsWithImageProperties(t *testing.T) {
	for _, c := range []struct {
		l  verifier.Level
		ok bool
	}{{verifier.Level0, true}, {verifier.Level1a, true}, {verifier.Level1b, false}, {verifier.Level2, true}, {verifier.Level3a, true}, {verifier.Level3b, false}, {verifier.Level4, true}} {
		if err := verifier.CheckImageLevel(c.l); (err == nil) != c.ok {
			t.Errorf("CheckImageLevel(%s) = %v", c.l, err)
		}
	}
}

// TestUnknownLevelIsBadInputNotAPanic: a library caller passing a level the
// CLI would have refused got a panic from the verdict.
func TestUnknownLevelIsBadInputNotAPanic(t *testing.T) {
	s := build(t, false)
	r, err := verify(t, s, s.BundleRef, withLevel("5"))
	if !fault.Is(err, fault.Input) || r.Verified || !strings.Contains(r.Error, `security level "5"`) {
		t.Fatalf("level 5: %v (verified %v)", err, r.Verified)
	}
}

// TestRelocationMappingOnAnImageIsAUsageErrorNotIgnored: with an image the
// mapping was never read, yet the verdict was VERIFIED as if the image had
// been checked where the mapping sends it (and a runtime could be handed the
// mapping). A relocation mapping or a thick archive on an image is bad input.
func TestRelocationMappingOnAnImageIsAUsageErrorNotIgnored(t *testing.T) {
	s := build(t, false)
	p := filepath.Join(t.TempDir(), "mapping.json")
	if err := os.WriteFile(p, []byte(`{"`+s.WebRef+`":"evil.example/web:latest"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		opt  option
		want string
	}{
		{withRelocationMapping(p), "a relocation mapping on an image"},
		{withThickFile(p), "a thick bundle archive on an image"},
	} {
		r, err := verify(t, s, s.WebRef, withImage(), c.opt)
		if !fault.Is(err, fault.Input) || r.Verified || !strings.Contains(r.Error, c.want) {
			t.Fatalf("%s: %v (kind %v, verified %v)", c.want, err, fault.KindOf(err), r.Verified)
		}
		if r.VerifiedRelocationMapping() != nil {
			t.Fatalf("%s: a mapping would be handed on", c.want)
		}
	}
}
