// Command benchtable turns `go test -bench` output into the table `make bench`
// prints and bench/results.json: every metric a benchmark reports, with the
// acceptance goal it is held to (when there is one) and whether it is met.
//
//	go test -run '^$' -bench . ./... | go run ./internal/benchtable -json bench/results.json
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// goal is an acceptance bound on one metric of one benchmark.
type goal struct {
	op    string // ">=" or "<="
	bound float64
	note  string
}

// goals are the acceptance figures of the issues, keyed by "Benchmark/metric"
// (the benchmark name without the -GOMAXPROCS suffix; a trailing "*" matches
// any sub-benchmark).
var goals = map[string]goal{
	"BenchmarkThick1GiB/digest/openssl":                                               {">=", 0.9, "archive digest throughput vs openssl dgst -sha256"},
	"BenchmarkThick1GiB/verify/openssl":                                               {">=", 0.5, "full thick verification (one pass) vs openssl"},
	"BenchmarkThick1GiB/peak-RSS-MiB":                                                 {"<=", 64, "peak RSS of the 1 GiB thick verification"},
	"BenchmarkRefresh/10000-vs-10":                                                    {"<=", 2, "repo refresh, 10,000 vs 10 targets"},
	"BenchmarkStatus/10000-vs-10":                                                     {"<=", 2, "repo status, 10,000 vs 10 targets (reported)"},
	"BenchmarkVerifyVsPythonInToto/2-step/x_wall_median_vs_verifylib":                 {">=", 5, "in-toto verification, 2 steps: python verifylib in-process / cnabsec, median wall (warm)"},
	"BenchmarkVerifyVsPythonInToto/2-step/x_cpu_median_vs_verifylib":                  {">=", 5, "in-toto verification, 2 steps: python verifylib in-process / cnabsec, median CPU (warm)"},
	"BenchmarkVerifyVsPythonInToto/2-step-10000-artifacts/x_wall_median_vs_verifylib": {">=", 10, "in-toto verification, 10,000 artifacts per link: python verifylib / cnabsec, median wall (warm)"},
	"BenchmarkVerifyVsPythonInToto/2-step-10000-artifacts/x_cpu_median_vs_verifylib":  {">=", 10, "in-toto verification, 10,000 artifacts per link: python verifylib / cnabsec, median CPU (warm)"},
	"BenchmarkVerifyImages/10-vs-1":                                                   {"<=", 2, "verify a bundle of 10 images vs 1 image"},
	"BenchmarkVerifyLevel4Images/100-vs-1":                                            {"<=", 3, "verify at level 4 a bundle of 100 images (each its own layout and links) vs 1 image"},
	"BenchmarkVerifyLevel4Images/peak-RSS-MiB":                                        {"<=", 128, "peak RSS verifying the 100-image level-4 bundle (child process)"},
	"BenchmarkAddVersion/100k-vs-10":                                                  {"<=", 3, "add one version to 100,000 vs 10 versions"},
	"BenchmarkAddVersion/peak-RSS-MiB":                                                {"<=", 200, "peak RSS adding a version to 100,000"},
	"BenchmarkBatchSign/per-version-vs-single":                                        {"<=", 0.05, "batch-sign 10,000: time per version vs one sign"},
	"BenchmarkVerifyScale/100k-vs-10":                                                 {"<=", 1.5, "verify one version in 100,000 vs 10"},
	"BenchmarkVerifyScale/bytes-vs-flat":                                              {"<=", 0.01, "metadata bytes downloaded vs a flat targets file"},
	"BenchmarkAddVersion/1M-vs-10":                                                    {"<=", 3, "add one version to 1,000,000 vs 10 versions (bench-only: CNABSEC_SCALE_VERSIONS=1000000)"},
	"BenchmarkAddVersion/peak-RSS-MiB-1M":                                             {"<=", 200, "peak RSS adding a version to 1,000,000"},
	"BenchmarkVerifyScale/1M-vs-10":                                                   {"<=", 1.5, "verify one version in 1,000,000 vs 10 (bench-only: CNABSEC_SCALE_VERSIONS=1000000)"},
	"BenchmarkVerifyScale/bytes-vs-flat-1M":                                           {"<=", 0.001, "metadata bytes downloaded vs a flat targets file of 1,000,000 versions"},
	"BenchmarkAdmissionCachedP99VsHealthz/p99-ratio":                                  {"<=", 2, "cached /v1/admission p99 vs /healthz p99"},
	"BenchmarkAdmissionCachedP99VsHealthz/throughput-ratio":                           {">=", 0.5, "cached /v1/admission throughput vs /healthz"},
	"BenchmarkRSSWithTenThousandCachedVerdicts/rss-MiB":                               {"<=", 150, "RSS with 10,000 cached verdicts"},
	"BenchmarkServiceColdVsCLI/cold-vs-cli":                                           {"<=", 1.5, "service's cold verification vs CLI verify of the same reference"},
	"BenchmarkTenThousandRequestsTenPercentMalformed/heap-growth-MiB":                 {"<=", 16, "live heap after 10,000 requests (10% malformed or oversized) vs before"},
	"BenchmarkSlowlorisClientsAreCutOff/slowest-cutoff-vs-timeout":                    {"<=", 2, "the last of 100 slowloris connections closed, vs the header timeout"},
	"BenchmarkGatewayVsRegistry/1gib-throughput-vs-direct-own-core":                   {">=", 0.9, "pulling a 1 GiB image (8 layers) through the gateway vs from the registry; client and registry on one core for both, the gateway on its own core"},
	"BenchmarkGatewayVsRegistry/100-layers-throughput-vs-direct-own-core":             {">=", 0.9, "pulling a 100-layer image through the gateway vs from the registry; client and registry on one core for both, the gateway on its own core"},
	"BenchmarkGatewayVsRegistry/manifest-p99-vs-direct-own-core":                      {"<=", 2, "manifest read by tag (verdict cached): gateway p99 vs registry p99; the gateway on its own core"},
	"BenchmarkGatewayVsRegistry/gateway-peak-RSS-MiB":                                 {"<=", 64, "peak RSS of the gateway (child process) streaming those pulls"},
	"BenchmarkHostileProvenance*/denied-in-s":                                         {"<=", 5, "a hostile release (5,000 links, 4 x 60 MB links, 16 MiB of tiny JSON values) is denied within (s)"},
	"BenchmarkHostileProvenance*/verified-in-s":                                       {"<=", 5, "16 MiB of long strings or 280,000 tiny values (within the limits), alone or 8 at once, are verified within (s)"},
	"BenchmarkHostileProvenance*/peak-RSS-MiB":                                        {"<=", 128, "peak RSS of that verification (child process)"},
}

// notes explain metrics that have no goal (context figures).
var notes = map[string]string{
	"BenchmarkVerifyVsPythonInToto*/x_process_vs_in-toto-verify": "the in-toto-verify command (mostly interpreter start-up) / cnabsec, best wall",
	"BenchmarkVerifyVsPythonInToto*/x_wall_best_vs_verifylib":    "python verifylib / cnabsec, best wall (warm)",
	"BenchmarkVerifyVsPythonInToto*/x_cpu_best_vs_verifylib":     "python verifylib / cnabsec, best CPU (warm)",
	"BenchmarkVerifyVsPythonInToto*/x_wall_cold_vs_verifylib":    "python verifylib / cnabsec, first call of a fresh process, wall",
	"BenchmarkVerifyVsPythonInToto*/x_cpu_cold_vs_verifylib":     "python verifylib / cnabsec, first call of a fresh process, CPU",
	"BenchmarkColdAdmissionPerImage/cold-admission-ms":           "uncached level-4 admission of one image (loopback registry); peers publish ~1000 ms (Ratify), ~2000 ms (Connaisseur with cosign) per image",
	"BenchmarkServiceColdVsCLI/service-cold-ms":                  "uncached level-4 bundle verification by the service (loopback registry)",
	"BenchmarkSlowlorisClientsAreCutOff/healthz-answered":        "health checks answered while the slow clients held connections",
	"BenchmarkVerifyScale/snapshot-bytes-1M":                     "the snapshot every client downloads on each refresh, 1,000,000 versions (its size grows with the bins)",
	"BenchmarkVerifyScale/snapshot-bytes":                        "the snapshot every client downloads on each refresh (its size grows with the bins)",
	"BenchmarkGatewayVsRegistry/1gib-throughput-vs-direct":       "as the -own-core row, but client, registry and gateway share the 2 cores: bounded by the cores to CPU-bound-throughput-vs-direct (the gateway must hash every byte)",
	"BenchmarkGatewayVsRegistry/100-layers-throughput-vs-direct": "as the -own-core row, all three processes on the 2 shared cores (bounded by the cores, see CPU-bound-throughput-vs-direct)",
	"BenchmarkGatewayVsRegistry/manifest-p99-vs-direct":          "as the -own-core row, all three processes on the 2 shared cores",
	"BenchmarkGatewayVsRegistry/CPU-bound-throughput-vs-direct":  "the throughput ratio the 2 shared cores allow: CPU-s per GiB of client and registry direct / of client, registry and gateway",
}

// derived are ratios of two sub-benchmarks' ns/op, reported as a metric of
// their parent: {parent, metric, numerator, denominator}.
var derived = [][4]string{
	{"BenchmarkRefresh", "10000-vs-10", "BenchmarkRefresh/targets=10000", "BenchmarkRefresh/targets=10"},
	{"BenchmarkStatus", "10000-vs-10", "BenchmarkStatus/targets=10000", "BenchmarkStatus/targets=10"},
}

// Row is one reported metric.
type Row struct {
	Benchmark string  `json:"benchmark"`
	Metric    string  `json:"metric"`
	Value     float64 `json:"value"`
	Goal      string  `json:"goal,omitempty"`
	Note      string  `json:"note,omitempty"`
	Met       *bool   `json:"met,omitempty"`
}

var benchLine = regexp.MustCompile(`^(Benchmark\S+?)(-\d+)?\s+\d+\s+(.*)$`)

func main() {
	jsonOut := flag.String("json", "", "write the rows as JSON to this file")
	flag.Parse()
	rows, err := parse(io.TeeReader(os.Stdin, os.Stderr))
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(2)
	}
	render(os.Stdout, rows)
	if *jsonOut != "" {
		b, _ := json.MarshalIndent(map[string]any{"generated": time.Now().UTC().Format(time.RFC3339), "rows": rows}, "", "  ")
		if err := os.WriteFile(*jsonOut, append(b, '\n'), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "benchtable:", err)
			os.Exit(2)
		}
	}
}

func parse(r io.Reader) ([]Row, error) {
	var rows []Row
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		m := benchLine.FindStringSubmatch(strings.TrimSpace(sc.Text()))
		if m == nil {
			continue
		}
		fields := strings.Fields(m[3])
		for i := 0; i+1 < len(fields); i += 2 {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				break
			}
			rows = append(rows, judged(Row{Benchmark: m[1], Metric: fields[i+1], Value: v}))
		}
	}
	nsop := map[string]float64{}
	for _, r := range rows {
		if r.Metric == "ns/op" {
			nsop[r.Benchmark] = r.Value
		}
	}
	for _, d := range derived {
		num, ok1 := nsop[d[2]]
		den, ok2 := nsop[d[3]]
		if !ok1 || !ok2 || den == 0 {
			continue
		}
		rows = append(rows, judged(Row{Benchmark: d[0], Metric: d[1], Value: num / den}))
	}
	return rows, sc.Err()
}

// judged adds to a row its goal and whether it is met, or else its note.
func judged(row Row) Row {
	g, ok := lookup(row.Benchmark, row.Metric)
	if !ok {
		row.Note = note(row.Benchmark, row.Metric)
		return row
	}
	met := (g.op == ">=" && row.Value >= g.bound) || (g.op == "<=" && row.Value <= g.bound)
	row.Goal, row.Note, row.Met = fmt.Sprintf("%s %g", g.op, g.bound), g.note, &met
	return row
}

func lookup(bench, metric string) (goal, bool) {
	return match(goals, bench, metric)
}

func note(bench, metric string) string {
	n, _ := match(notes, bench, metric)
	return n
}

// match finds the entry of table for one metric: "Benchmark/metric" exactly,
// else the first (sorted) "Prefix*/metric" whose prefix the benchmark has.
func match[V any](table map[string]V, bench, metric string) (V, bool) {
	if v, ok := table[bench+"/"+metric]; ok {
		return v, true
	}
	keys := make([]string, 0, len(table))
	for k := range table {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		pat, m, ok := strings.Cut(k, "*/")
		if ok && m == metric && strings.HasPrefix(bench, pat) {
			return table[k], true
		}
	}
	var zero V
	return zero, false
}

func render(w io.Writer, rows []Row) {
	fmt.Fprintf(w, "\n%-52s %-28s %14s  %-9s %s\n", "benchmark", "metric", "value", "goal", "")
	for _, r := range rows {
		status := ""
		if r.Met != nil {
			status = "MET"
			if !*r.Met {
				status = "NOT MET"
			}
		}
		if r.Met == nil && r.Note != "" {
			status = "(" + r.Note + ")"
		}
		fmt.Fprintf(w, "%-52s %-28s %14.4g  %-9s %s\n", r.Benchmark, r.Metric, r.Value, r.Goal, status)
	}
}
