package server

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sync/errgroup"

	"github.com/cnabsec/cnabsec/internal/testing/peakrss"
	"github.com/cnabsec/cnabsec/internal/testing/scenario"
	"github.com/cnabsec/cnabsec/signer"
	"github.com/cnabsec/cnabsec/verifier"
)

const (
	gatewayBenchEnv  = "CNABSEC_BENCH_GATEWAY"  // ROOTFILE|REPODIR|UPSTREAM in the gateway child
	registryBenchEnv = "CNABSEC_BENCH_REGISTRY" // BLOBDIR in the registry child
)

// gatewayBenchImage is an image written straight into the registry's blob
// directory (no copy of it in memory).
type gatewayBenchImage struct {
	tag       string
	layers    int
	layerSize int64
	pairs     int // direct and gateway pulls timed
}

// BenchmarkGatewayVsRegistry pulls a 1 GiB image (8 layers of 128 MiB) and a
// 100-layer image (1 MiB each) directly from a registry and through a
// gateway in front of the same registry, in one run, in pairs (one direct
// and one gateway pull right after each other), as docker does (layers
// three at a time, each read to the end, digest checked; with
// go-containerregistry): the median over the pairs of the gateway's
// throughput against the registry's (goal >= 0.9),
// the p99 of a manifest read by tag with the verdict cached against the
// registry's (goal <= 2) and the gateway's peak RSS (goal <= 64 MiB). The
// registry keeps blobs on disk; it and the gateway (the real verifier, level
// 2, --memory-limit's default) each run in a child process, as they would in
// use: the client's process hosts neither (a registry in it would answer the
// direct pulls without a switch between processes, which no real registry
// does), and each party's CPU time and the gateway's RSS are its own.
//
// Each run measures two configurations of the same three processes, one
// after the other:
//
//   - shared cores (the metrics without suffix): client, registry and
//     gateway all run on the machine's cores, as they would were all three
//     on one small box. The gateway then takes CPU away from the client and
//     registry, so the ratio is bounded by the parties' CPU per GiB
//     (CPU-bound-throughput-vs-direct), not by the gateway's speed.
//   - own core (metrics ending in -own-core, skipped with a logged reason
//     when this process may run on fewer than 2 CPUs): the client (every
//     thread of this process) and the registry are pinned to one CPU for
//     both the direct and the gateway pulls, the gateway to a second CPU,
//     each with GOMAXPROCS 1. This is the deployment the goals are about: a
//     gateway on a host or core of its own in front of a registry. Client
//     and registry get the same single core in both sides of the comparison
//     (the direct side is not given less than the gateway side's endpoints
//     get); the gateway's extra core is what a separate gateway host adds.
//     The second core idles during direct pulls. A manifest read through
//     the gateway still needs the registry, which waits for the client's
//     core, and adds the gateway's hop on top: the own-core configuration
//     does not take the registry's turn on the shared core out of its
//     latency.
//
// Other work on the machine is not pinned away from either CPU.
func BenchmarkGatewayVsRegistry(b *testing.B) {
	blobDir := b.TempDir()
	reg := startBenchChild(b, "TestGatewayBenchRegistryChild", registryBenchEnv+"="+blobDir, "")
	upstreamURL, host := "http://"+reg.addr, reg.addr
	s, err := scenario.Build(context.Background(), scenario.Options{Dir: b.TempDir(), Registry: host})
	if err != nil {
		b.Fatal(err)
	}
	images := []gatewayBenchImage{{"1gib", 8, 128 << 20, 3}, {"100-layers", 100, 1 << 20, 15}}
	var items []signer.Item
	for i, im := range images {
		writeBenchImage(b, upstreamURL, blobDir, "org/web", im, uint64(i))
		items = append(items, signer.Item{Kind: "image", Ref: host + "/org/web:" + im.tag})
	}
	if _, err := signer.Sign(context.Background(), s.Repo, s.Signing("releases"), items...); err != nil {
		b.Fatal(err)
	}
	gw := startGatewayChild(b, s, upstreamURL)
	direct, through := benchTransport(), benchTransport()
	pc := &pullCPU{gateway: gw.cmd.Process.Pid, registry: reg.cmd.Process.Pid}
	own := &pullCPU{gateway: gw.cmd.Process.Pid, registry: reg.cmd.Process.Pid, suffix: "-own-core"}
	pin, err := newOwnCorePin()
	if err != nil {
		b.Logf("the own-core configuration is skipped (no *-own-core metrics): %v", err)
	}
	sides := benchSides{direct: direct, through: through, host: host, gwAddr: gw.addr, upstream: upstreamURL}
	configs := 0
	for b.Loop() {
		sides.measure(b, pc, images)
		configs++
		if pin != nil {
			procs := pinOwnCores(b, pin, reg, gw)
			sides.measure(b, own, images)
			configs++
			unpinOwnCores(b, pin, procs, reg, gw)
		}
	}
	pc.report(b)
	own.report(b)
	b.ReportMetric(float64(gw.stop(b))/(1<<20), "gateway-peak-RSS-MiB")
	reg.stop(b)
	// The gateway's CPU time (user and system) per GiB it streamed: what
	// the machine's load does not change.
	cpu := gw.cmd.ProcessState.UserTime() + gw.cmd.ProcessState.SystemTime()
	var streamed float64
	for _, im := range images {
		streamed += float64(int64(im.layers)*im.layerSize*int64(im.pairs*configs)) / (1 << 30)
	}
	b.ReportMetric(cpu.Seconds()/streamed, "gateway-CPU-s-per-GiB")
}

// benchSides are the two sides of the comparison: the registry at host
// (upstream is its URL) and the gateway at gwAddr in front of it, each with
// a client transport of its own.
type benchSides struct {
	direct, through        http.RoundTripper
	host, gwAddr, upstream string
}

// measure pulls images and reads a manifest on both sides, and reports the
// ratios and speeds under metric names ending with cpu.suffix.
func (s benchSides) measure(b *testing.B, cpu *pullCPU, images []gatewayBenchImage) {
	b.Helper()
	sfx := cpu.suffix
	for i, im := range images {
		ratio, dMBs, gMBs := pullRatio(b, cpu, s.direct, s.through, s.host, s.gwAddr, "org/web:"+im.tag, im.pairs)
		b.ReportMetric(ratio, im.tag+"-throughput-vs-direct"+sfx)
		if i == 0 {
			b.ReportMetric(dMBs, "1gib-direct"+sfx+"-MB/s")
			b.ReportMetric(gMBs, "1gib-gateway"+sfx+"-MB/s")
		}
	}
	d, g := manifestLatencies(b, s.upstream, "http://"+s.gwAddr, "/v2/org/web/manifests/"+images[0].tag)
	pd, pg := d.p99(), g.p99()
	b.ReportMetric(float64(pg)/float64(pd), "manifest-p99-vs-direct"+sfx)
	b.ReportMetric(float64(percentile(d, 50).Microseconds()), "manifest-p50-direct"+sfx+"-µs")
	b.ReportMetric(float64(percentile(g, 50).Microseconds()), "manifest-p50-gateway"+sfx+"-µs")
	b.ReportMetric(float64(pd.Microseconds()), "manifest-p99-direct"+sfx+"-µs")
	b.ReportMetric(float64(pg.Microseconds()), "manifest-p99-gateway"+sfx+"-µs")
}

// pinOwnCores pins this process (the client, every thread) and the registry
// to one CPU and the gateway to another, and sets each one's GOMAXPROCS to
// the 1 CPU it now has, as Go does in a process started on one CPU (the
// testing package fixed it at start, so the runtime does not follow a
// change of affinity by itself). It returns this process's GOMAXPROCS
// before.
func pinOwnCores(b *testing.B, pin *ownCorePin, reg, gw *benchChild) int {
	b.Helper()
	if err := pin.pin(reg.cmd.Process.Pid, gw.cmd.Process.Pid); err != nil {
		b.Fatalf("own-core configuration (%v): %v", pin, err)
	}
	b.Logf("own-core configuration: %v, GOMAXPROCS 1 in each", pin)
	return setBenchGOMAXPROCS(b, 1, reg, gw)
}

// unpinOwnCores gives the three processes back the CPUs and GOMAXPROCS
// (procs) they had.
func unpinOwnCores(b *testing.B, pin *ownCorePin, procs int, reg, gw *benchChild) {
	b.Helper()
	if err := pin.restore(reg.cmd.Process.Pid, gw.cmd.Process.Pid); err != nil {
		b.Fatalf("restoring the CPU affinities: %v", err)
	}
	setBenchGOMAXPROCS(b, procs, reg, gw)
}

// setBenchGOMAXPROCS sets GOMAXPROCS to n in this process and the children,
// and returns this process's previous value.
func setBenchGOMAXPROCS(b *testing.B, n int, children ...*benchChild) int {
	b.Helper()
	for _, c := range children {
		fmt.Fprintf(c.stdin, "gomaxprocs %d\n", n)
		if got := c.expect(b, "BENCH-CHILD-GOMAXPROCS "); got != strconv.Itoa(n) {
			b.Fatalf("a benchmark child set GOMAXPROCS to %s, not %d", got, n)
		}
	}
	return runtime.GOMAXPROCS(n)
}

// writeBenchImage writes im's layers (pseudo-random bytes from seed) and a
// config into the disk blob handler's directory and pushes its manifest.
func writeBenchImage(b *testing.B, base, blobDir, repo string, im gatewayBenchImage, seed uint64) {
	b.Helper()
	src := rand.NewChaCha8([32]byte{byte(seed)})
	var layers []v1.Descriptor
	for range im.layers {
		layers = append(layers, writeBenchBlob(b, blobDir, io.LimitReader(src, im.layerSize), "application/vnd.oci.image.layer.v1.tar"))
	}
	cfg, _ := json.Marshal(map[string]any{"architecture": "amd64", "os": "linux", "rootfs": map[string]any{"type": "layers", "diff_ids": []string{}}})
	manifest, _ := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.manifest.v1+json",
		"config":        writeBenchBlob(b, blobDir, bytes.NewReader(cfg), "application/vnd.oci.image.config.v1+json"),
		"layers":        layers,
	})
	req, _ := http.NewRequest(http.MethodPut, base+"/v2/"+repo+"/manifests/"+im.tag, bytes.NewReader(manifest))
	req.Header.Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		b.Fatalf("pushing the manifest of %s: HTTP %d", im.tag, resp.StatusCode)
	}
}

// writeBenchBlob stores r's bytes where the disk blob handler looks for them.
func writeBenchBlob(b *testing.B, blobDir string, r io.Reader, mediaType string) v1.Descriptor {
	b.Helper()
	if err := os.MkdirAll(filepath.Join(blobDir, "sha256"), 0o755); err != nil {
		b.Fatal(err)
	}
	f, err := os.CreateTemp(blobDir, "blob-*")
	if err != nil {
		b.Fatal(err)
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		b.Fatal(err)
	}
	hexd := hex.EncodeToString(h.Sum(nil))
	if err := os.Rename(f.Name(), filepath.Join(blobDir, "sha256", hexd)); err != nil {
		b.Fatal(err)
	}
	return v1.Descriptor{MediaType: types.MediaType(mediaType), Digest: v1.Hash{Algorithm: "sha256", Hex: hexd}, Size: n}
}

func benchTransport() http.RoundTripper {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 16
	return t
}

// pullRatio pulls ref directly (from host) and through the gateway (gwAddr)
// in pairs, one right after the other (which goes first alternates), and
// returns the median over the pairs of the gateway's throughput against the
// registry's (the machine is shared: a pair sees the same load), and both
// throughputs over all pairs in MB/s.
func pullRatio(b *testing.B, cpu *pullCPU, direct, through http.RoundTripper, host, gwAddr, ref string, pairs int) (float64, float64, float64) {
	b.Helper()
	var td, tg time.Duration
	var bytesPulled int64
	ratios := make([]float64, pairs)
	for i := range ratios {
		var n int64
		var d, g time.Duration
		if i%2 == 0 {
			n, d = cpu.directPull(func() (int64, time.Duration) { return pullImage(b, direct, host+"/"+ref) })
			_, g = cpu.gatewayPull(func() (int64, time.Duration) { return pullImage(b, through, gwAddr+"/"+ref) })
		} else {
			_, g = cpu.gatewayPull(func() (int64, time.Duration) { return pullImage(b, through, gwAddr+"/"+ref) })
			n, d = cpu.directPull(func() (int64, time.Duration) { return pullImage(b, direct, host+"/"+ref) })
		}
		ratios[i] = d.Seconds() / g.Seconds()
		td, tg, bytesPulled = td+d, tg+g, bytesPulled+n
	}
	slices.Sort(ratios)
	mbs := func(d time.Duration) float64 { return float64(bytesPulled) / 1e6 / d.Seconds() }
	return ratios[pairs/2], mbs(td), mbs(tg)
}

// pullCPU adds up the CPU time (user and system) each party spent during
// the direct pulls and during the gateway pulls: the client (this process),
// the registry child and the gateway child. With the bytes pulled, it gives
// each party's CPU seconds per GiB and so the throughput ratio the machine's
// cores alone allow.
type pullCPU struct {
	gateway, registry int // process ids
	direct, via       partyCPU
	suffix            string // of the metric names: "" or "-own-core"
}

// partyCPU is the CPU time of each party over some pulls.
type partyCPU struct {
	client, registry, gateway time.Duration
	bytes                     int64
}

// measure runs pull and adds each party's CPU time to into.
func (c *pullCPU) measure(into *partyCPU, pull func() (int64, time.Duration)) (int64, time.Duration) {
	s, r, g := selfCPU(), processCPU(c.registry), processCPU(c.gateway)
	n, d := pull()
	into.client += selfCPU() - s
	into.registry += processCPU(c.registry) - r
	into.gateway += processCPU(c.gateway) - g
	into.bytes += n
	return n, d
}

func (c *pullCPU) directPull(pull func() (int64, time.Duration)) (int64, time.Duration) {
	return c.measure(&c.direct, pull)
}

func (c *pullCPU) gatewayPull(pull func() (int64, time.Duration)) (int64, time.Duration) {
	return c.measure(&c.via, pull)
}

// report gives each party's CPU seconds per GiB, and the throughput ratio
// the cores alone allow were all parties bound by them. On shared cores a
// pull through the gateway costs the machine the client's and registry's
// CPU plus the gateway's, a direct pull only the former. On own cores
// (suffix "-own-core") the client and registry share one core in both
// pulls, and the gateway has the other: a pull through it goes as fast as
// the slower of the two cores allows.
func (c *pullCPU) report(b *testing.B) {
	if c.direct.bytes == 0 || c.via.bytes == 0 || c.via.gateway <= 0 {
		return
	}
	perGiB := func(d time.Duration, n int64) float64 { return d.Seconds() / (float64(n) / (1 << 30)) }
	dc, dr := perGiB(c.direct.client, c.direct.bytes), perGiB(c.direct.registry, c.direct.bytes)
	vc, vr, vg := perGiB(c.via.client, c.via.bytes), perGiB(c.via.registry, c.via.bytes), perGiB(c.via.gateway, c.via.bytes)
	sfx := c.suffix
	b.ReportMetric(dc, "direct-client"+sfx+"-CPU-s-per-GiB")
	b.ReportMetric(dr, "direct-registry"+sfx+"-CPU-s-per-GiB")
	b.ReportMetric(vc, "via-gateway-client"+sfx+"-CPU-s-per-GiB")
	b.ReportMetric(vr, "via-gateway-registry"+sfx+"-CPU-s-per-GiB")
	b.ReportMetric(vg, "via-gateway-gateway"+sfx+"-CPU-s-per-GiB")
	if sfx == "" {
		b.ReportMetric((dc+dr)/(vc+vr+vg), "CPU-bound-throughput-vs-direct")
		return
	}
	b.ReportMetric((dc+dr)/max(vc+vr, vg), "CPU-bound-throughput-vs-direct"+sfx)
}

// selfCPU is this process's CPU time so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// processCPU is the CPU time so far of process pid, from Linux's
// /proc/PID/stat (utime and stime, in clock ticks of 10 ms), or 0.
func processCPU(pid int) time.Duration {
	s, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	_, rest, _ := bytes.Cut(s, []byte(") ")) // after the command name
	f := strings.Fields(string(rest))
	if len(f) < 13 {
		return 0
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// pullImage pulls an image as docker and containerd do: its manifest, then
// its layers three at a time (docker's default max-concurrent-downloads),
// each read to the end (go-containerregistry checks each layer's digest).
func pullImage(b *testing.B, tr http.RoundTripper, ref string) (int64, time.Duration) {
	b.Helper()
	start := time.Now()
	r, err := name.ParseReference(ref)
	if err != nil {
		b.Fatal(err)
	}
	img, err := remote.Image(r, remote.WithTransport(tr))
	if err != nil {
		b.Fatalf("pulling %s: %v", ref, err)
	}
	m, err := img.Manifest()
	if err != nil {
		b.Fatal(err)
	}
	var total atomic.Int64
	var g errgroup.Group
	g.SetLimit(3)
	for _, l := range m.Layers {
		g.Go(func() error {
			n, err := pullLayer(img, l)
			total.Add(n)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		b.Fatalf("pulling %s: %v", ref, err)
	}
	return total.Load(), time.Since(start)
}

// pullLayer reads one layer to the end.
func pullLayer(img v1.Image, l v1.Descriptor) (int64, error) {
	layer, err := img.LayerByDigest(l.Digest)
	if err != nil {
		return 0, err
	}
	rc, err := layer.Compressed()
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	n, err := io.Copy(io.Discard, rc)
	if err == nil && n != l.Size {
		err = fmt.Errorf("layer %s: %d of %d bytes", l.Digest, n, l.Size)
	}
	return n, err
}

// percentile returns the p-th percentile of r's latencies.
func percentile(r loadResult, p int) time.Duration {
	l := slices.Clone(r.latencies)
	slices.Sort(l)
	return l[len(l)*p/100]
}

// manifestLatencies reads a manifest by tag from the registry and through
// the gateway (verdict cached by a first read), in alternating rounds of 4
// keep-alive clients, and returns both sides' latencies.
func manifestLatencies(b *testing.B, direct, gateway, path string) (loadResult, loadResult) {
	b.Helper()
	client := &http.Client{Transport: benchTransport(), Timeout: 30 * time.Second}
	get := func(int) (string, string, []byte) { return http.MethodGet, path, nil }
	generateLoad(client, gateway, 20, 4, get) // the verdict is cached, the connections open
	generateLoad(client, direct, 20, 4, get)
	const n = 4000
	var d, g loadResult
	for range 10 {
		d = d.merge(generateLoad(client, direct, n/10, 4, get))
		g = g.merge(generateLoad(client, gateway, n/10, 4, get))
	}
	if d.errors+g.errors > 0 || d.statuses[200] != n || g.statuses[200] != n {
		b.Fatalf("registry %v (%d errors), gateway %v (%d errors)", d.statuses, d.errors, g.statuses, g.errors)
	}
	return d, g
}

// benchChild is a gateway or registry running in a child process, so that
// its CPU time and RSS are its own and neither shares the client's process.
type benchChild struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Scanner
	addr  string
}

func startGatewayChild(b *testing.B, s *scenario.Scenario, upstream string) *benchChild {
	b.Helper()
	root := filepath.Join(b.TempDir(), "root.json")
	if err := os.WriteFile(root, s.TrustedRoot, 0o644); err != nil {
		b.Fatal(err)
	}
	return startBenchChild(b, "TestGatewayBenchChild", gatewayBenchEnv+"="+root+"|"+s.RepoDir+"|"+upstream,
		os.Getenv("CNABSEC_BENCH_GATEWAY_CPUPROFILE")) // to profile the gateway
}

// startBenchChild runs test (one of the children below) in a new process of
// this test binary, with env set, and waits for the address it serves at.
func startBenchChild(b *testing.B, test, env, cpuProfile string) *benchChild {
	b.Helper()
	args := []string{"-test.run=^" + test + "$", "-test.count=1"}
	if cpuProfile != "" {
		args = append(args, "-test.cpuprofile="+cpuProfile)
	}
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), env)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	c := &benchChild{cmd: cmd, stdin: stdin, out: bufio.NewScanner(stdout)}
	b.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	c.addr = c.expect(b, "BENCH-CHILD-ADDR ")
	return c
}

// expect returns the rest of the child's next line starting with prefix.
func (c *benchChild) expect(b *testing.B, prefix string) string {
	b.Helper()
	for c.out.Scan() {
		if rest, ok := strings.CutPrefix(c.out.Text(), prefix); ok {
			return rest
		}
	}
	b.Fatalf("the benchmark child printed no %q line", prefix)
	return ""
}

// stop ends the child and returns its peak RSS.
func (c *benchChild) stop(b *testing.B) int64 {
	b.Helper()
	c.stdin.Close()
	peak, err := strconv.ParseInt(c.expect(b, "BENCH-CHILD-PEAK-RSS "), 10, 64)
	if err != nil {
		b.Fatal(err)
	}
	for c.out.Scan() {
	}
	if err := c.cmd.Wait(); err != nil {
		b.Fatalf("the benchmark child: %v", err)
	}
	return peak
}

// TestGatewayBenchChild is the gateway of BenchmarkGatewayVsRegistry; it
// does nothing unless the benchmark started it. It serves until its stdin
// closes and then prints its peak RSS.
func TestGatewayBenchChild(t *testing.T) {
	arg := os.Getenv(gatewayBenchEnv)
	if arg == "" {
		t.Skip("only run by BenchmarkGatewayVsRegistry")
	}
	parts := strings.SplitN(arg, "|", 3)
	root, err := os.ReadFile(parts[0])
	if err != nil {
		t.Fatal(err)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(96 << 20) // the gateway's default --memory-limit
	}
	v, err := verifier.New(verifier.Config{TrustedRoot: root, Location: parts[1], Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	g, err := NewGateway(GatewayOptions{Verifier: v, Upstream: parts[2]})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := NewHTTPServer(g.Handler(), GatewayTimeouts(), slog.New(slog.DiscardHandler))
	go srv.Serve(ln)
	defer srv.Close()
	serveUntilStdinCloses(t, ln)
}

// serveUntilStdinCloses prints the child's address, sets GOMAXPROCS to N
// on each "gomaxprocs N" line the benchmark writes to its stdin (answering
// "BENCH-CHILD-GOMAXPROCS N"), and when the benchmark closes its stdin
// prints its peak RSS.
func serveUntilStdinCloses(t *testing.T, ln net.Listener) {
	fmt.Printf("BENCH-CHILD-ADDR %s\n", ln.Addr())
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		arg, ok := strings.CutPrefix(in.Text(), "gomaxprocs ")
		n, err := strconv.Atoi(arg)
		if !ok || err != nil || n < 1 {
			t.Fatalf("the benchmark wrote %q", in.Text())
		}
		runtime.GOMAXPROCS(n)
		fmt.Printf("BENCH-CHILD-GOMAXPROCS %d\n", runtime.GOMAXPROCS(0))
	}
	fmt.Printf("BENCH-CHILD-PEAK-RSS %d\n", peakrss.Peak(t))
}

// TestGatewayBenchRegistryChild is the registry of BenchmarkGatewayVsRegistry
// (go-containerregistry's, blobs on disk); it does nothing unless the
// benchmark started it. It serves until its stdin closes.
func TestGatewayBenchRegistryChild(t *testing.T) {
	blobDir := os.Getenv(registryBenchEnv)
	if blobDir == "" {
		t.Skip("only run by BenchmarkGatewayVsRegistry")
	}
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)), registry.WithBlobHandler(registry.NewDiskBlobHandler(blobDir)))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: reg, ReadHeaderTimeout: 30 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	serveUntilStdinCloses(t, ln)
}
