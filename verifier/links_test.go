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
// bundle version, extra link targets: count names, each with the given
// content (nil: listed only, no target file).
func listExtraLinks(t testing.TB, s *scenario.Scenario, step string, count int, content []byte) {
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
			if content != nil {
				if err := tx.AddTarget(ln, metadata.TargetInfo{Content: content}); err != nil {
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
	listExtraLinks(t, s, "flood", 3000, nil) // listed only: a download would fail as not found
	r, err := verifyWithLimits(t, s, verifier.ProvenanceLimits{})
	wantProvenanceDenied(t, r, err, "more than the limit of 256 links per verification")
}

func TestManyLinksForOneStepAreDenied(t *testing.T) {
	s := build(t, true)
	listExtraLinks(t, s, "package", 40, nil)
	r, err := verifyWithLimits(t, s, verifier.ProvenanceLimits{MaxLinksPerStep: 8})
	wantProvenanceDenied(t, r, err, `links for step "package", more than the limit of 8 links per step`)
}

func TestFourHugeLinksExceedTheProvenanceBudgetAndAreDenied(t *testing.T) {
	s := build(t, true)
	listExtraLinks(t, s, "huge", 4, bytes.Repeat([]byte(" "), 300<<10))
	r, err := verifyWithLimits(t, s, verifier.ProvenanceLimits{MaxBytes: 1 << 20})
	wantProvenanceDenied(t, r, err, "exceeds the limit of 1048576 bytes per verification")
}

// tinyValuesLink is a link-shaped JSON document of about size bytes whose
// products are one-letter artifacts: the most JSON values, hence the most
// parsing memory, per byte.
func tinyValuesLink(size int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"signatures":[],"signed":{"_type":"link","name":"package","command":[],"byproducts":{},"environment":{},"materials":{},"products":{`)
	for i := 0; b.Len() < size; i++ {
		fmt.Fprintf(&b, `"%x":{"s":""},`, i)
	}
	b.WriteString(`"z":{"s":""}}}}`)
	return b.Bytes()
}

func TestLinksOfMillionsOfTinyJSONValuesAreDeniedBeforeParsing(t *testing.T) {
	s := build(t, true)
	listExtraLinks(t, s, "package", 4, tinyValuesLink(1<<20)) // 4 MiB: well within the bytes limit
	r, err := verifyWithLimits(t, s, verifier.ProvenanceLimits{})
	wantProvenanceDenied(t, r, err, "JSON values, more than the limit of 300000 values per verification")
}

func TestProvenanceWithinTheLimitsStillVerifies(t *testing.T) {
	s := build(t, true)
	if r, err := verifyWithLimits(t, s, verifier.ProvenanceLimits{}); err != nil || !r.Verified {
		t.Fatalf("a real supply chain was denied: %v", err)
	}
}
