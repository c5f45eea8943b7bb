package verifier_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/internal/testing/registrytest"
	"github.com/cnabsec/cnabsec/internal/testing/scenario"
	"github.com/cnabsec/cnabsec/verifier"
)

func build(t *testing.T, provenance bool) *scenario.Scenario {
	t.Helper()
	reg := registrytest.New(t)
	s, err := scenario.Build(context.Background(), scenario.Options{Dir: t.TempDir(), Registry: reg.Host, Provenance: provenance})
	if err != nil {
		t.Fatalf("scenario: %v", err)
	}
	return s
}

func verify(t testing.TB, s *scenario.Scenario, ref string, opts ...option) (*verifier.Report, error) {
	t.Helper()
	opts = append([]option{withTrustedRoot(s.TrustedRoot), withMetadata(s.RepoDir)}, opts...)
	return verifyOnce(context.Background(), ref, opts...)
}

// mustDeny asserts a denial whose first failed check and reason are as given.
func mustDeny(t *testing.T, r *verifier.Report, err error, check, reason string) {
	t.Helper()
	if err == nil || r.Verified {
		t.Fatalf("verified, want a denial by %s (%q)", check, reason)
	}
	if !fault.Is(err, fault.Denied) {
		t.Fatalf("error kind %v, want denied: %v", fault.KindOf(err), err)
	}
	f := r.FirstFailure()
	if f == nil || f.Name != check || !strings.Contains(f.Detail, reason) {
		b, _ := json.MarshalIndent(r.Checks, "", " ")
		t.Fatalf("first failure %+v, want check %s with %q\nchecks: %s", f, check, reason, b)
	}
	if !strings.Contains(r.Error, check) {
		t.Fatalf("report error %q does not name the check %s", r.Error, check)
	}
}

func TestLevel4ReleaseVerifies(t *testing.T) {
	s := build(t, true)
	r, err := verify(t, s, s.BundleRef, withLevel(verifier.Level4))
	if err != nil {
		b, _ := json.MarshalIndent(r, "", " ")
		t.Fatalf("level 4: %v\n%s", err, b)
	}
	if !r.Verified || r.AchievedLevel != verifier.Level4 || r.BundleDigest == "" {
		t.Fatalf("report %+v", r)
	}
	if string(r.VerifiedBundle()) != string(s.BundleJSON) {
		t.Fatal("verified bundle bytes differ from the signed ones")
	}
	// Each image is verified as an image too.
	for _, img := range []string{s.WebRef, s.InstallerRef} {
		r, err := verify(t, s, img, withImage(), withLevel(verifier.Level4))
		if err != nil || r.AchievedLevel != verifier.Level4 {
			t.Fatalf("image %s: %v %+v", img, err, r)
		}
	}
}

func TestLevel2OnlyBundleIsDeniedAt3bNamingMissingProvenance(t *testing.T) {
	s := build(t, false)
	r, err := verify(t, s, s.BundleRef, withLevel(verifier.Level2))
	if err != nil || r.AchievedLevel != verifier.Level2 {
		t.Fatalf("level 2: %v %+v", err, r)
	}
	r, err = verify(t, s, s.BundleRef, withLevel(verifier.Level3b))
	mustDeny(t, r, err, "bundle-provenance", "needs in-toto provenance")
	if r.AchievedLevel != verifier.Level2 {
		t.Fatalf("achieved %s, want 2", r.AchievedLevel)
	}
}

func TestMissingTrustRootIsInputErrorAboveLevel0(t *testing.T) {
	r, err := verifyOnce(context.Background(), "127.0.0.1:1/org/app:1.0", withLevel(verifier.Level1b))
	if !fault.Is(err, fault.Input) || r.Verified {
		t.Fatalf("want input error, got %v", err)
	}
}
