package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/cnabsec/cnabsec/internal/testing/registrytest"
	"github.com/cnabsec/cnabsec/internal/testing/scenario"
	"github.com/cnabsec/cnabsec/server"
	"github.com/cnabsec/cnabsec/verifier"
)

// BenchmarkServiceColdVsCLI: the service's first (uncached) verification of a
// reference, on a service that has done its start-up TUF refresh, vs the CLI
// `cnabsec verify` of the same reference (goal: ratio <= 1.5). Both verify the
// level-4 bundle of the scenario over the loopback registry; the figures are
// medians of interleaved rounds, each service round on a new service.
func BenchmarkServiceColdVsCLI(b *testing.B) {
	ctx := context.Background()
	reg := registrytest.New(b)
	s, err := scenario.Build(ctx, scenario.Options{Dir: b.TempDir(), Registry: reg.Host, Provenance: true})
	if err != nil {
		b.Fatal(err)
	}
	root := filepath.Join(s.RepoDir, "metadata", "1.root.json")
	body := `{"reference":"` + s.BundleRef + `","level":"4"}`
	const rounds = 9
	var cli, cold []time.Duration
	for i := 0; i < b.N*rounds; i++ {
		start := time.Now()
		if code := run([]string{"cnabsec", "verify", s.BundleRef, "--trust-root", root, "--metadata", s.RepoDir, "--level", "4"}, strings.NewReader(""), io.Discard, io.Discard); code != 0 {
			b.Fatalf("CLI verify exit %d", code)
		}
		cli = append(cli, time.Since(start))

		rootBytes, _ := os.ReadFile(root)
		cs := startColdService(b, rootBytes, s.RepoDir)
		status, out, d := cs.post("/v1/verify", []byte(body))
		cold = append(cold, d)
		cs.close()
		if status != 200 || !strings.Contains(string(out), `"verified":true`) {
			b.Fatalf("service: %d %s", status, out)
		}
	}
	med := func(d []time.Duration) time.Duration {
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		return d[len(d)/2]
	}
	c, k := med(cli), med(cold)
	b.ReportMetric(float64(c.Microseconds())/1000, "cli-ms")
	b.ReportMetric(float64(k.Microseconds())/1000, "service-cold-ms")
	b.ReportMetric(float64(k)/float64(c), "cold-vs-cli")
}

// BenchmarkColdAdmissionPerImage: a Pod naming one signed image, admitted at
// level 4 (signature and in-toto provenance, checked over the loopback
// registry) by a service that has done its start-up TUF refresh but has
// verified nothing yet (a new service each round): the time an admission
// takes when its verdict is not cached (median of 9). Reported as context
// beside the peers' published figures (~1 s per image for Ratify, ~2 s for
// Connaisseur with cosign); there is no goal.
func BenchmarkColdAdmissionPerImage(b *testing.B) {
	ctx := context.Background()
	reg := registrytest.New(b)
	s, err := scenario.Build(ctx, scenario.Options{Dir: b.TempDir(), Registry: reg.Host, Provenance: true})
	if err != nil {
		b.Fatal(err)
	}
	rootBytes, err := os.ReadFile(filepath.Join(s.RepoDir, "metadata", "1.root.json"))
	if err != nil {
		b.Fatal(err)
	}
	const rounds = 9
	var cold []time.Duration
	for i := 0; i < b.N*rounds; i++ {
		cs := startColdService(b, rootBytes, s.RepoDir)
		status, out, d := cs.post("/v1/admission", podReview("uid-cold", s.WebRef))
		cold = append(cold, d)
		if status != 200 || !strings.Contains(string(out), `"allowed":true`) {
			b.Fatalf("admission of %s: %d %s", s.WebRef, status, out)
		}
		if i == 0 {
			// What was admitted was verified with its provenance.
			rep, err := cs.v.Verify(ctx, verifier.Request{Reference: s.WebRef, Level: verifier.Level4, Image: true})
			if err != nil || !hasPassed(rep, "image-provenance") {
				b.Fatalf("%s: %v %+v", s.WebRef, err, rep)
			}
		}
		cs.close()
	}
	sort.Slice(cold, func(i, j int) bool { return cold[i] < cold[j] })
	b.ReportMetric(float64(cold[len(cold)/2].Microseconds())/1000, "cold-admission-ms")
}

func hasPassed(rep *verifier.Report, check string) bool {
	for _, c := range rep.Checks {
		if c.Name == check && c.Status == verifier.Pass {
			return true
		}
	}
	return false
}

// coldService is a level-4 service over the real verifier that has done its
// start-up TUF refresh and verified nothing yet.
type coldService struct {
	b   *testing.B
	v   *verifier.Verifier
	srv *httptest.Server
}

func startColdService(b *testing.B, root []byte, repoDir string) *coldService {
	b.Helper()
	v, err := verifier.New(verifier.Config{TrustedRoot: root, Location: repoDir, CacheDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	svc, err := server.New(server.Options{Verifier: v, Level: verifier.Level4})
	if err != nil {
		b.Fatal(err)
	}
	if err := svc.Refresh(context.Background()); err != nil {
		b.Fatal(err)
	}
	return &coldService{b: b, v: v, srv: httptest.NewServer(svc.Handler())}
}

// post sends one request and returns the status, the body and the time to
// the end of the body.
func (c *coldService) post(path string, body []byte) (int, []byte, time.Duration) {
	start := time.Now()
	resp, err := http.Post(c.srv.URL+path, "application/json", bytes.NewReader(body))
	if err != nil {
		c.b.Fatal(err)
	}
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp.StatusCode, out, time.Since(start)
}

func (c *coldService) close() {
	c.srv.Close()
	c.v.Close()
}
