package names

import (
	"testing"

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
