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
