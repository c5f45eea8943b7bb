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

	"github.com/cnabsec/cnabsec/internal/registrytest"
	"github.com/cnabsec/cnabsec/internal/scenario"
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
		v, err := verifier.New(verifier.Config{TrustedRoot: rootBytes, Location: s.RepoDir, CacheDir: b.TempDir()})
		if err != nil {
			b.Fatal(err)
		}
		svc, err := server.New(server.Options{Verifier: v, Level: verifier.Level4})
		if err != nil {
			b.Fatal(err)
		}
		if err := svc.Refresh(ctx); err != nil {
			b.Fatal(err)
		}
		srv := httptest.NewServer(svc.Handler())
		start = time.Now()
		resp, err := http.Post(srv.URL+"/v1/verify", "application/json", bytes.NewBufferString(body))
		if err != nil {
			b.Fatal(err)
		}
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		cold = append(cold, time.Since(start))
		srv.Close()
		v.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(out), `"verified":true`) {
			b.Fatalf("service: %d %s", resp.StatusCode, out)
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
