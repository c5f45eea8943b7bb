package verifier_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cnabsec/cnabsec/bundle"
	"github.com/cnabsec/cnabsec/internal/testing/registrytest"
	"github.com/cnabsec/cnabsec/internal/testing/scenario"
	"github.com/cnabsec/cnabsec/signer"
	"github.com/cnabsec/cnabsec/verifier"
)

// releaseWithImages signs a bundle with n component images (plus the
// installer) into s's repository and returns its reference.
func releaseWithImages(b testing.TB, s *scenario.Scenario, n int) string {
	b.Helper()
	images := map[string]any{}
	items := []signer.Item{}
	for i := 0; i < n; i++ {
		ref := fmt.Sprintf("%s/org/web:img%d-of-%d", s.Registry, i, n)
		img, _ := scenario.RandomImage(int64(1000*n + i))
		p, err := scenario.PushImage(ref, img)
		if err != nil {
			b.Fatal(err)
		}
		h, _ := img.Digest()
		_ = p
		images[fmt.Sprintf("img%d", i)] = map[string]any{"imageType": "docker", "image": ref, "contentDigest": h.String()}
		items = append(items, signer.Item{Kind: "image", Ref: ref})
	}
	raw, _ := json.Marshal(map[string]any{
		"schemaVersion": "v1.0.0", "name": "app", "version": fmt.Sprintf("%d.0.0", n),
		"invocationImages": []any{map[string]any{"imageType": "docker", "image": s.InstallerRef, "contentDigest": s.InstallerDigest}},
		"images":           images,
	})
	canon, err := bundle.Canonicalize(raw)
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), "bundle.json")
	os.WriteFile(path, canon, 0o644)
	ref := fmt.Sprintf("%s:%d-images", s.App, n)
	items = append(items, signer.Item{Kind: "bundle", Ref: ref, File: path, Push: true})
	if _, err := signer.Sign(ctx, s.Repo, s.Signing("releases"), items...); err != nil {
		b.Fatal(err)
	}
	return ref
}

// timeVerify returns the median wall time of rounds verifications.
func timeVerify(b *testing.B, s *scenario.Scenario, ref string, rounds int, opts ...option) time.Duration {
	b.Helper()
	var ds []time.Duration
	for i := 0; i < rounds; i++ {
		start := time.Now()
		if r, err := verify(b, s, ref, opts...); err != nil {
			b.Fatalf("%s: %v %+v", ref, err, r.FirstFailure())
		}
		ds = append(ds, time.Since(start))
	}
	for i := range ds {
		for j := i + 1; j < len(ds); j++ {
			if ds[j] < ds[i] {
				ds[i], ds[j] = ds[j], ds[i]
			}
		}
	}
	return ds[len(ds)/2]
}

// BenchmarkVerifyImages: a bundle of 10 images vs one of 1 image, same
// repository and registry, interleaved (goal: ratio <= 2; images are checked
// concurrently).
func BenchmarkVerifyImages(b *testing.B) {
	reg := registrytest.New(b)
	s, err := scenario.Build(ctx, scenario.Options{Dir: b.TempDir(), Registry: reg.Host})
	if err != nil {
		b.Fatal(err)
	}
	one, ten := releaseWithImages(b, s, 1), releaseWithImages(b, s, 10)
	var t1, t10 time.Duration
	for i := 0; i < b.N; i++ {
		t1 += timeVerify(b, s, one, 7)
		t10 += timeVerify(b, s, ten, 7)
	}
	b.ReportMetric(float64(t1.Microseconds())/float64(b.N), "1-image-µs")
	b.ReportMetric(float64(t10.Microseconds())/float64(b.N), "10-images-µs")
	b.ReportMetric(float64(t10)/float64(t1), "10-vs-1")
}

// BenchmarkVerifyLevels: level 4 vs level 1b on the same release (reported,
// no goal: provenance costs layout, key and link downloads and checks).
func BenchmarkVerifyLevels(b *testing.B) {
	reg := registrytest.New(b)
	s, err := scenario.Build(ctx, scenario.Options{Dir: b.TempDir(), Registry: reg.Host, Provenance: true})
	if err != nil {
		b.Fatal(err)
	}
	var t1b, t4 time.Duration
	for i := 0; i < b.N; i++ {
		t1b += timeVerify(b, s, s.BundleRef, 7, withLevel(verifier.Level1b))
		t4 += timeVerify(b, s, s.BundleRef, 7, withLevel(verifier.Level4))
	}
	b.ReportMetric(float64(t1b.Microseconds())/float64(b.N), "level-1b-µs")
	b.ReportMetric(float64(t4.Microseconds())/float64(b.N), "level-4-µs")
	b.ReportMetric(float64(t4)/float64(t1b), "4-vs-1b")
}
