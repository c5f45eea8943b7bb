package verifier_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cnabsec/cnabsec/bundle"
	"github.com/cnabsec/cnabsec/internal/testing/peakrss"
	"github.com/cnabsec/cnabsec/internal/testing/registrytest"
	"github.com/cnabsec/cnabsec/internal/testing/scenario"
	"github.com/cnabsec/cnabsec/keys"
	"github.com/cnabsec/cnabsec/layouts"
	"github.com/cnabsec/cnabsec/metadata"
	"github.com/cnabsec/cnabsec/signer"
	"github.com/cnabsec/cnabsec/verifier"
)

// level4Rounds is how many times each bundle is timed (median of 3 each).
var level4Rounds = 3

const level4ImagesEnv = "CNABSEC_BENCH_LEVEL4_IMAGES" // ROOTFILE|REPODIR|REF in the child

// BenchmarkVerifyLevel4Images verifies at level 4 a bundle of 100 images,
// each in its own repository with its own root layout and links, against
// one of 1 such image, same repository and registry, interleaved (goal:
// wall time ratio <= 3), and the peak RSS of verifying the 100-image bundle
// in a child process (goal <= 128 MiB).
func BenchmarkVerifyLevel4Images(b *testing.B) {
	reg := registrytest.New(b)
	s, err := scenario.Build(ctx, scenario.Options{Dir: b.TempDir(), Registry: reg.Host, Provenance: true})
	if err != nil {
		b.Fatal(err)
	}
	one, hundred := level4Release(b, s, 1), level4Release(b, s, 100)
	l4 := withLevel(verifier.Level4)
	var t1, t100 time.Duration
	for range b.N {
		for range level4Rounds {
			t1 += timeVerify(b, s, one, 3, l4)
			t100 += timeVerify(b, s, hundred, 3, l4)
		}
	}
	root := filepath.Join(b.TempDir(), "root.json")
	if err := os.WriteFile(root, s.TrustedRoot, 0o644); err != nil {
		b.Fatal(err)
	}
	var peak int64
	for range 2 {
		peak = max(peak, level4ImagesChild(b, root+"|"+s.RepoDir+"|"+hundred))
	}
	b.ReportMetric(float64(t1.Milliseconds())/float64(level4Rounds*b.N), "1-image-ms")
	b.ReportMetric(float64(t100.Milliseconds())/float64(level4Rounds*b.N), "100-images-ms")
	b.ReportMetric(float64(t100)/float64(t1), "100-vs-1")
	b.ReportMetric(float64(peak)/(1<<20), "peak-RSS-MiB")
}

// level4Release signs, with provenance, a bundle of n component images (plus
// the scenario's installer): image i is in its own repository, which gets
// a root layout (CI builds the image) and a link of CI's recording the
// image's manifest; the bundle gets the scenario's write-bundle and package
// links for its own bundle.json. It returns the bundle's reference.
func level4Release(b *testing.B, s *scenario.Scenario, n int) string {
	b.Helper()
	repos := make([]string, n)
	for i := range repos {
		repos[i] = fmt.Sprintf("%s/org/l4-%d-img%03d", s.Registry, n, i)
	}
	if _, err := s.Repo.Update(ctx, metadata.UpdateOptions{Signers: []keys.Signer{s.Keys["targets"]}, Snapshot: s.Keys["snapshot"], Timestamp: s.Keys["timestamp"]}, func(tx *metadata.Tx) error {
		return tx.Delegate(repos...)
	}); err != nil {
		b.Fatal(err)
	}
	images := map[string]any{}
	var items []signer.Item
	for i, repo := range repos {
		ref := repo + ":1.0"
		img, _ := scenario.RandomImage(int64(7000*n + i))
		if _, err := scenario.PushImage(ref, img); err != nil {
			b.Fatal(err)
		}
		manifest, _ := img.RawManifest()
		h, _ := img.Digest()
		publishImageLayout(b, s, repo)
		links := b.TempDir()
		recordStep(b, s, "build-image", "ci", nil, map[string][]byte{"manifest.json": manifest}, links)
		images[fmt.Sprintf("img%03d", i)] = map[string]any{"imageType": "docker", "image": ref, "contentDigest": h.String()}
		items = append(items, signer.Item{Kind: "image", Ref: ref, Links: links})
	}
	raw, _ := json.Marshal(map[string]any{
		"schemaVersion": "v1.0.0", "name": "app", "version": fmt.Sprintf("4.%d.0", n),
		"invocationImages": []any{map[string]any{"imageType": "docker", "image": s.InstallerRef, "contentDigest": s.InstallerDigest}},
		"images":           images,
	})
	canon, err := bundle.Canonicalize(raw)
	if err != nil {
		b.Fatal(err)
	}
	src := map[string][]byte{"bundle.json": canon}
	links := b.TempDir()
	recordStep(b, s, "write-bundle", "developer", nil, src, links)
	recordStep(b, s, "package", "ci", []string{"bundle.json"}, src, links)
	path := filepath.Join(b.TempDir(), "bundle.json")
	if err := os.WriteFile(path, canon, 0o644); err != nil {
		b.Fatal(err)
	}
	ref := fmt.Sprintf("%s:l4-%d-images", s.App, n)
	items = append(items, signer.Item{Kind: "bundle", Ref: ref, File: path, Push: true, Links: links})
	if _, err := signer.Sign(ctx, s.Repo, s.Signing("releases"), items...); err != nil {
		b.Fatal(err)
	}
	return ref
}

// publishImageLayout publishes repo's root layout: CI builds the image and
// records its manifest.
func publishImageLayout(b *testing.B, s *scenario.Scenario, repo string) {
	b.Helper()
	tmpl := fmt.Sprintf(`expires: 8760h
steps:
  - name: build-image
    functionaries: [%s]
    expected_products: [[CREATE, manifest.json], [DISALLOW, "*"]]
`, filepath.Join(s.KeyDir, "ci.pub"))
	mb, err := layouts.CreateLayout(ctx, []byte(tmpl), layouts.CreateOptions{Owners: []keys.Signer{s.Keys["owner"]}, Now: time.Now()})
	if err != nil {
		b.Fatal(err)
	}
	lb, err := layouts.Marshal(mb)
	if err != nil {
		b.Fatal(err)
	}
	if _, _, err := signer.PublishLayout(ctx, s.Repo, s.Signing("targets"), signer.LayoutRelease{Layout: lb, Name: repo, Keys: []*keys.PublicKey{s.Keys["owner"].Public()}}); err != nil {
		b.Fatal(err)
	}
}

// recordStep runs an in-toto step by key over files (its products; the
// names in materials are its materials) and writes its link into out.
func recordStep(b *testing.B, s *scenario.Scenario, step, key string, materials []string, files map[string][]byte, out string) {
	b.Helper()
	dir := b.TempDir()
	var products []string
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			b.Fatal(err)
		}
		products = append(products, name)
	}
	if _, _, err := layouts.RunStep(ctx, layouts.StepOptions{Name: step, Key: s.Keys[key], Materials: materials, Products: products, Dir: dir, OutDir: out}); err != nil {
		b.Fatal(err)
	}
}

// level4ImagesChild verifies in a child process and returns its peak RSS.
func level4ImagesChild(b *testing.B, arg string) int64 {
	b.Helper()
	args := []string{"-test.run=^TestVerifyLevel4ImagesBenchChild$", "-test.count=1"}
	if p := os.Getenv("CNABSEC_BENCH_LEVEL4_CPUPROFILE"); p != "" {
		args = append(args, "-test.cpuprofile="+p) // to profile the verification
	}
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), level4ImagesEnv+"="+arg)
	out, err := cmd.CombinedOutput()
	if err != nil {
		b.Fatalf("child: %v\n%s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if rest, ok := strings.CutPrefix(line, "LEVEL4-PEAK-RSS "); ok {
			n, err := strconv.ParseInt(rest, 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return n
		}
	}
	b.Fatalf("child printed no result:\n%s", out)
	return 0
}

// TestVerifyLevel4ImagesBenchChild is the child of
// BenchmarkVerifyLevel4Images; it does nothing unless the benchmark started it.
func TestVerifyLevel4ImagesBenchChild(t *testing.T) {
	arg := os.Getenv(level4ImagesEnv)
	if arg == "" {
		t.Skip("only run by BenchmarkVerifyLevel4Images")
	}
	parts := strings.SplitN(arg, "|", 3)
	root, err := os.ReadFile(parts[0])
	if err != nil {
		t.Fatal(err)
	}
	v, err := verifier.New(verifier.Config{TrustedRoot: root, Location: parts[1]})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	r, err := v.Verify(context.Background(), verifier.Request{Reference: parts[2], Level: verifier.Level4})
	if err != nil || !r.Verified {
		t.Fatalf("%s: %v %+v", parts[2], err, r.FirstFailure())
	}
	fmt.Printf("LEVEL4-PEAK-RSS %d\n", peakrss.Peak(t))
}
