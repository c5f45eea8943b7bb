package names

import (
	"errors"
	"path"
	"strings"
	"testing"

	tufmeta "github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/cnabsec/cnabsec/internal/fault"
)

func TestDockerHubShortNamesNormalize(t *testing.T) {
	v, err := ParseVersion("nginx:1.25")
	if err != nil {
		t.Fatal(err)
	}
	if v.Target != "index.docker.io/library/nginx:1.25" || v.Repository != "index.docker.io/library/nginx" {
		t.Fatalf("got %+v", v)
	}
	v, err = ParseVersion("example.com:5000/org/app@sha256:" + "ab"[:2] + "cdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789")
	if err != nil {
		t.Fatal(err)
	}
	if v.Repository != "example.com:5000/org/app" {
		t.Fatalf("got %+v", v)
	}
}

func TestReferenceWithoutVersionIsRefused(t *testing.T) {
	for _, ref := range []string{"example.com/org/app", "example.com:5000/org/app", "", " x:1"} {
		if _, err := ParseVersion(ref); err == nil || !fault.Is(err, fault.Input) {
			t.Errorf("ParseVersion(%q) = %v, want an input error", ref, err)
		}
	}
}

func TestLinkTargetRefusesTraversalAndBadNames(t *testing.T) {
	sha := "5640bfdf00000000000000000000000000000000000000000000000000000000"
	got, err := LinkTarget("example.com/org/app", sha, "package.cbc48efe.link")
	if err != nil || got != "example.com/org/app/in-toto-metadata/"+sha+"/package.cbc48efe.link" {
		t.Fatalf("got %q %v", got, err)
	}
	for _, bad := range []string{"../x.cbc48efe.link", "a/b.cbc48efe.link", "package.link", ".hidden.cbc48efe.link"} {
		if _, err := LinkTarget("example.com/org/app", sha, bad); err == nil {
			t.Errorf("link name %q accepted", bad)
		}
	}
	if _, err := LinkTarget("example.com/org/app", "../../etc", "a.cbc48efe.link"); err == nil {
		t.Error("non-hex digest accepted")
	}
	if !IsLinkTargetFor(got, "example.com/org/app", sha) {
		t.Error("own link not recognized")
	}
	if IsLinkTargetFor("example.com/org/other/in-toto-metadata/"+sha+"/package.cbc48efe.link", "example.com/org/app", sha) {
		t.Error("link of another repository accepted")
	}
}

func TestRepositoryGlobAndTagRefused(t *testing.T) {
	if r, err := ParseRepository("example.com/org/*"); err != nil || r != "example.com/org/*" {
		t.Fatalf("glob: %q %v", r, err)
	}
	if _, err := ParseRepository("example.com/org/app:1.0"); err == nil {
		t.Fatal("tag accepted in repository name")
	}
}

func TestRepositoryWithReservedInTotoSegmentIsRefused(t *testing.T) {
	for _, tc := range []struct{ in, why string }{
		{"example.com/org/app/in-toto-metadata/x/y:1.link", "link pattern example.com/org/app/in-toto-metadata/*/*.link"},
		{"example.com/org/app/in-toto-metadata:root.layout", "link pattern example.com/org/app/in-toto-metadata/*/*.link"},
		{"example.com/org/app/in-toto-pubkeys/k@sha256:" + strings.Repeat("a", 64), "layout keys example.com/org/app/in-toto-pubkeys/*.pub"},
	} {
		_, err := ParseVersion(tc.in)
		if !fault.Is(err, fault.Input) || !errors.Is(err, ErrReservedSegment) || !strings.Contains(err.Error(), tc.why) {
			t.Errorf("ParseVersion(%q) = %v, want an input error wrapping ErrReservedSegment naming %q", tc.in, err, tc.why)
		}
		if _, err := ParseVersionSyntax(tc.in); err != nil {
			t.Errorf("ParseVersionSyntax(%q) = %v: the syntax is valid", tc.in, err)
		}
	}
	for _, repo := range []string{"example.com/org/app/in-toto-metadata/x/y", "example.com/in-toto-pubkeys/*"} {
		if _, err := ParseRepository(repo); !fault.Is(err, fault.Input) || !errors.Is(err, ErrReservedSegment) {
			t.Errorf("ParseRepository(%q) = %v, want an input error wrapping ErrReservedSegment", repo, err)
		}
	}
	// A segment that only contains the word is an ordinary name.
	if _, err := ParseVersion("example.com/org/in-toto-metadata-tools:1"); err != nil {
		t.Errorf("in-toto-metadata-tools refused: %v", err)
	}
}

// FuzzVersionAndLinkNamesNeverOverlap checks the property the releases
// delegation relies on: a name ParseVersion accepts is matched by no
// repository's link pattern, as go-tuf matches delegation paths, and is no
// link target; a link target is no version.
func FuzzVersionAndLinkNamesNeverOverlap(f *testing.F) {
	for _, s := range []string{
		"example.com/org/app/in-toto-metadata/x/y:1.link",
		"example.com/org/app/in-toto-metadata/" + strings.Repeat("a", 64) + "/package.cbc48efe.link",
		"example.com/org/app:1.0", "example.com/org/app/in-toto-metadata/x/y@sha256:" + strings.Repeat("b", 64),
		"example.com/org/app/in-toto-metadata:x.link", "nginx:1.link",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if v, err := ParseVersion(s); err == nil {
			checkNotUnderLinkPattern(t, v.Target)
		}
		if _, err := ParseVersion(linkUnder(s)); err == nil {
			t.Fatalf("link target %q parses as a version", linkUnder(s))
		}
	})
}

func checkNotUnderLinkPattern(t *testing.T, target string) {
	t.Helper()
	for i := range len(target) {
		if target[i] != '/' {
			continue
		}
		repo := target[:i]
		role := tufmeta.DelegatedRole{Name: "releases", Paths: DelegationPaths(repo)[2:]}
		if ok, _ := role.IsDelegatedPath(target); ok {
			t.Fatalf("version %q matches the link pattern %s", target, LinkPattern(repo))
		}
		if IsLinkTargetFor(target, repo, path.Base(path.Dir(target))) {
			t.Fatalf("version %q is a link target of %s", target, repo)
		}
	}
}

// linkUnder is a link target name built from arbitrary text as the step.
func linkUnder(step string) string {
	return "example.com/org/app/in-toto-metadata/" + strings.Repeat("c", 64) + "/" + step + ".cbc48efe.link"
}

// go-containerregistry says only "could not parse reference"; a person needs
// to know what is wrong with it.
func TestMalformedReferenceSaysWhatIsWrong(t *testing.T) {
	for ref, want := range map[string]string{
		"example.com/A/b:1":       "repository can only contain the characters",
		"example.com/a@sha256:zz": "invalid checksum digest length",
		"exa mple.com/a:1":        "registries must be valid RFC 3986 URI authorities",
		"example.com/a:b:c":       "repository can only contain the characters",
	} {
		_, err := ParseVersion(ref)
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "could not parse reference") {
			t.Errorf("%s: %v, want the reason %q", ref, err, want)
		}
	}
}
