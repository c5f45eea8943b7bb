package verifier_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/verifier"
)

func TestTargetsListsSignedVersionsWithKindAndDigestButNoInTotoFiles(t *testing.T) {
	s := build(t, true) // level 4: the repository also holds a layout, its keys and links
	v, err := verifier.New(verifier.Config{TrustedRoot: s.TrustedRoot, Location: s.RepoDir})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	refs, err := v.Targets(context.Background())
	if err != nil {
		t.Fatalf("Targets: %v", err)
	}
	sum := sha256.Sum256(s.BundleJSON)
	want := map[string]verifier.TargetRef{
		s.BundleRef:    {Name: s.BundleRef, SHA256: hex.EncodeToString(sum[:]), Kind: "bundle"},
		s.WebRef:       {Name: s.WebRef, SHA256: strings.TrimPrefix(s.WebDigest, "sha256:"), Kind: "image"},
		s.InstallerRef: {Name: s.InstallerRef, SHA256: strings.TrimPrefix(s.InstallerDigest, "sha256:"), Kind: "image"},
	}
	if len(refs) != len(want) {
		t.Errorf("Targets returned %d entries, want %d: %+v", len(refs), len(want), refs)
	}
	for _, r := range refs {
		if want[r.Name] != r {
			t.Errorf("entry %+v, want %+v", r, want[r.Name])
		}
	}
	if st := v.State(); st.SnapshotVersion == 0 {
		t.Errorf("Targets did not refresh the verifier first: state %+v", st)
	}
}

func TestTargetsWithoutTrustRootIsInputError(t *testing.T) {
	v, err := verifier.New(verifier.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	_, err = v.Targets(context.Background())
	if !fault.Is(err, fault.Input) || !strings.Contains(err.Error(), "no trusted root") {
		t.Fatalf("want an input error naming the missing trusted root, got %v", err)
	}
}

func TestTargetsWithTAP4MapIsInputErrorNotARefreshLoop(t *testing.T) {
	s := build(t, false)
	v, err := verifier.New(verifier.Config{
		Map: &verifier.MapFile{
			Repositories: map[string][]string{"main": {s.RepoDir}},
			Mapping:      []verifier.MapRule{{Paths: []string{"*"}, Repositories: []string{"main"}, Threshold: 1}},
		},
		MapRoots: map[string][]byte{"main": s.TrustedRoot},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	_, err = v.Targets(context.Background())
	if !fault.Is(err, fault.Input) || !strings.Contains(err.Error(), "a TAP 4 map is not supported") {
		t.Fatalf("want an input error naming the unsupported map, got %v", err)
	}
	if st := v.State(); !st.RefreshedAt.IsZero() {
		t.Errorf("Targets refreshed a map verifier it cannot list: %+v", st)
	}
}
