package verifier_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/internal/names"
	"github.com/cnabsec/cnabsec/internal/testing/scenario"
	"github.com/cnabsec/cnabsec/keys"
	"github.com/cnabsec/cnabsec/metadata"
	"github.com/cnabsec/cnabsec/verifier"
)

// listExtraLinks plays a CI (releases) key holder who lists, for the signed
// bundle version, extra link targets: count names, each with content of
// size bytes (size 0: listed only, no target file).
func listExtraLinks(t testing.TB, s *scenario.Scenario, step string, count, size int) {
	t.Helper()
	opts := metadata.UpdateOptions{Signers: []keys.Signer{s.Keys["releases"]}, Snapshot: s.Keys["snapshot"], Timestamp: s.Keys["timestamp"]}
	if _, err := s.Repo.Update(context.Background(), opts, func(tx *metadata.Tx) error {
		v, ok, err := tx.Target(s.BundleRef)
		if err != nil || !ok {
			return fmt.Errorf("version %s: %v", s.BundleRef, err)
		}
		var custom names.Custom
		if err := json.Unmarshal(v.Custom, &custom); err != nil {
			return err
		}
		for i := 0; i < count; i++ {
			ln, err := names.LinkTarget(s.App, v.Hashes["sha256"], fmt.Sprintf("%s.%08x.link", step, i))
			if err != nil {
				return err
			}
			custom.InToto = append(custom.InToto, ln)
			if size > 0 {
				if err := tx.AddTarget(ln, metadata.TargetInfo{Content: bytes.Repeat([]byte(" "), size)}); err != nil {
					return err
				}
			}
		}
		v.TargetInfo.Custom, _ = json.Marshal(custom)
		return tx.AddTarget(s.BundleRef, v.TargetInfo)
	}); err != nil {
		t.Fatal(err)
	}
}

func verifyWithLimits(t testing.TB, s *scenario.Scenario, lim verifier.ProvenanceLimits) (*verifier.Report, error) {
	t.Helper()
	v, err := verifier.New(verifier.Config{TrustedRoot: s.TrustedRoot, Location: s.RepoDir, Provenance: lim})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	return v.Verify(context.Background(), verifier.Request{Reference: s.BundleRef, Level: verifier.Level3b})
}

func wantProvenanceDenied(t *testing.T, r *verifier.Report, err error, reason string) {
	t.Helper()
	if err == nil || r.Verified || !fault.Is(err, fault.Denied) || !errors.Is(err, verifier.ErrProvenanceTooLarge) {
		t.Fatalf("verified=%v err=%v: want a denial wrapping ErrProvenanceTooLarge", r.Verified, err)
	}
	if f := r.FirstFailure(); f == nil || f.Name != "bundle-provenance" || !strings.Contains(f.Detail, reason) {
		t.Fatalf("first failure %+v, want bundle-provenance with %q", f, reason)
	}
}

func TestThousandsOfLinksAreDeniedBeforeDownload(t *testing.T) {
	s := build(t, true)
	listExtraLinks(t, s, "flood", 3000, 0) // listed only: a download would fail as not found
	r, err := verifyWithLimits(t, s, verifier.ProvenanceLimits{})
	wantProvenanceDenied(t, r, err, "more than the limit of 256 links per verification")
}

func TestManyLinksForOneStepAreDenied(t *testing.T) {
	s := build(t, true)
	listExtraLinks(t, s, "package", 40, 0)
	r, err := verifyWithLimits(t, s, verifier.ProvenanceLimits{MaxLinksPerStep: 8})
	wantProvenanceDenied(t, r, err, `links for step "package", more than the limit of 8 links per step`)
}

func TestFourHugeLinksExceedTheProvenanceBudgetAndAreDenied(t *testing.T) {
	s := build(t, true)
	listExtraLinks(t, s, "huge", 4, 300<<10)
	r, err := verifyWithLimits(t, s, verifier.ProvenanceLimits{MaxBytes: 1 << 20})
	wantProvenanceDenied(t, r, err, "exceeds the limit of 1048576 bytes per verification")
}

func TestProvenanceWithinTheLimitsStillVerifies(t *testing.T) {
	s := build(t, true)
	if r, err := verifyWithLimits(t, s, verifier.ProvenanceLimits{}); err != nil || !r.Verified {
		t.Fatalf("a real supply chain was denied: %v", err)
	}
}
