package layouts

import (
	"strings"
	"testing"
)

// A file with several faults must get the same reason on every run: the
// reason names the smallest offending member, not the first one a map
// happens to yield.
func TestEnvelopeWithSeveralUnknownMembersNamesTheSameOneEveryTime(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"signed":{},"signatures":[],"zz":1,"mm":2,"aa":3}`, `unexpected top-level member "aa"`},
		{`{"signed":{"_type":"link","name":"x","materials":{},"products":{},"byproducts":{},"command":[],"environment":{},"Zeta":1,"Beta":2,"Alpha":3},"signatures":[]}`, `member "Alpha" is not in-toto's`},
	} {
		for range 30 {
			_, err := parseEnvelope([]byte(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q every time", err, tc.want)
			}
		}
	}
}

func TestLinkWithSeveralBadArtifactsNamesTheSameOneEveryTime(t *testing.T) {
	in := `{"signed":{"_type":"link","name":"x","materials":{"z/../a":{"sha256":"00"},"ok":{"sha256":"xyz"},"/etc/passwd":{"sha256":"00"}},` +
		`"products":{"./b":{"sha256":"00"}},"byproducts":{},"command":[],"environment":{}},"signatures":[]}`
	for range 30 {
		env, err := parseEnvelope([]byte(in))
		if err != nil {
			t.Fatal(err)
		}
		if env.artifactErr == nil || !strings.Contains(env.artifactErr.Error(), `material artifact path "/etc/passwd" is not a clean relative path`) {
			t.Fatalf("artifactErr = %v, want the material with the smallest name every time", env.artifactErr)
		}
	}
}

func TestLinkWithSeveralMalformedHashObjectsNamesTheSameOneEveryTime(t *testing.T) {
	in := `{"signed":{"_type":"link","name":"x","materials":{"b":{"sha256":1},"a":{"sha512":"00","sha256":2},"c":[]},` +
		`"products":{},"byproducts":{},"command":[],"environment":{}},"signatures":[]}`
	for range 30 {
		_, err := parseEnvelope([]byte(in))
		if err == nil || err.Error() != `signed.materials["a"].sha256: not a string` {
			t.Fatalf("got %v, want the malformed hash of the smallest artifact and algorithm every time", err)
		}
	}
}

func TestLayoutWithSeveralMalformedKeysNamesTheSameOneEveryTime(t *testing.T) {
	in := `{"signed":{"_type":"layout","steps":[],"inspect":[],"expires":"2030-01-01T00:00:00Z","readme":"",` +
		`"keys":{"ff":{"x":1},"aa":{"y":1},"cc":[]}},"signatures":[]}`
	for range 30 {
		_, err := parseEnvelope([]byte(in))
		if err == nil || !strings.HasPrefix(err.Error(), `signed.keys["aa"]: missing member`) {
			t.Fatalf("got %v, want the key with the smallest ID every time", err)
		}
	}
}
