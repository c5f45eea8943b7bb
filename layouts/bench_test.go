package layouts

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/in-toto/in-toto-golang/in_toto"

	"github.com/cnabsec/cnabsec/keys"
)

// pyVerifyLib times python in-toto's own verification (verifylib.in_toto_verify,
// links read from disk) in-process, without interpreter start-up, and prints
// the best of N runs in seconds, wall clock and CPU time.
const pyVerifyLib = `
import sys, time
from in_toto.models.metadata import Metablock
from in_toto import verifylib
from securesystemslib.interface import import_publickeys_from_file
layout = Metablock.load(sys.argv[1])
keys = import_publickeys_from_file([sys.argv[2]], [sys.argv[3]])
best, best_cpu = 1e9, 1e9
for _ in range(int(sys.argv[5])):
    t, c = time.perf_counter(), time.process_time()
    verifylib.in_toto_verify(layout, keys, link_dir_path=sys.argv[4])
    best = min(best, time.perf_counter() - t)
    best_cpu = min(best_cpu, time.process_time() - c)
print(best, best_cpu)
`

// bigChain is a two-step chain whose links record n artifacts each (made
// directly, without touching n files).
func bigChain(tb testing.TB, n int) *chain {
	tb.Helper()
	c := &chain{dir: tb.TempDir(), links: map[string][]byte{}}
	c.owner, c.dev, c.ci = genKey(tb, keys.GenEd25519), genKey(tb, keys.GenEd25519), ciKey(tb)
	writePub(tb, c.dir, "dev.pub", c.dev)
	writePub(tb, c.dir, "ci.pub", c.ci)
	mb, err := Create([]byte(`steps:
  - name: write-bundle
    functionaries: [dev.pub]
    expected_products: [[CREATE, "src/*"], [DISALLOW, "*"]]
  - name: package
    functionaries: [ci.pub]
    expected_materials: [[MATCH, "src/*", WITH, PRODUCTS, FROM, write-bundle], [DISALLOW, "*"]]
    expected_products: [[CREATE, bundle.json], [MATCH, "src/*", WITH, PRODUCTS, FROM, write-bundle], [DISALLOW, "*"]]
`), []keys.Signer{c.owner}, c.dir, time.Now())
	if err != nil {
		tb.Fatal(err)
	}
	if c.layout, err = Marshal(mb); err != nil {
		tb.Fatal(err)
	}
	src := map[string]in_toto.HashObj{}
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("src/f%05d.txt", i)
		src[name] = in_toto.HashObj{"sha256": sha256Hex([]byte(name))}
	}
	c.bundle = []byte(`{"name":"big"}`)
	prods := map[string]in_toto.HashObj{"bundle.json": {"sha256": sha256Hex(c.bundle)}}
	for k, v := range src {
		prods[k] = v
	}
	c.links[c.linkName("write-bundle", c.dev)] = signLink(tb, newLink("write-bundle", nil, src, nil, nil), c.dev)
	c.links[c.linkName("package", c.ci)] = signLink(tb, newLink("package", src, prods, nil, nil), c.ci)
	return c
}

// BenchmarkVerifyVsPythonInToto measures cnabsec's verification (reading the
// files and verifying) against Debian's python in-toto on the same layout and
// links, measured in the same run: the in-toto-verify command (interpreter
// start-up included) and python's verifylib in-process (verification only).
// It reports how many times faster cnabsec is than each.
func BenchmarkVerifyVsPythonInToto(b *testing.B) {
	for _, n := range []int{0, 10000} {
		name := "2-step"
		if n > 0 {
			name = fmt.Sprintf("2-step-%d-artifacts", n)
		}
		b.Run(name, func(b *testing.B) {
			b.StopTimer()
			tool := pythonTool(b, "in-toto-verify")
			var c *chain
			if n == 0 {
				c = newChain(b, keys.GenEd25519)
			} else {
				c = bigChain(b, n)
			}
			dir := b.TempDir()
			args := writeForPython(b, dir, c.layout, c.owner.Public(), c.links)
			verifyFromDisk := func() (wall, cpu time.Duration) {
				start, cpu0 := time.Now(), cpuTime(b)
				in := VerifyInput{LayoutKeys: []*keys.PublicKey{c.owner.Public()}, Links: map[string][]byte{}, Now: time.Now(),
					Artifact: ArtifactBinding{Name: "bundle.json", SHA256: sha256Hex(c.bundle)}}
				var err error
				if in.Layout, err = os.ReadFile(filepath.Join(dir, "root.layout")); err != nil {
					b.Fatal(err)
				}
				for name := range c.links {
					if in.Links[name], err = os.ReadFile(filepath.Join(dir, "links", name)); err != nil {
						b.Fatal(err)
					}
				}
				if _, err := Verify(context.Background(), in); err != nil {
					b.Fatal(err)
				}
				return time.Since(start), cpuTime(b) - cpu0
			}

			const runs = 3
			cli := time.Duration(1 << 62)
			for i := 0; i < runs; i++ {
				start := time.Now()
				if out, err := exec.Command(tool, args...).CombinedOutput(); err != nil {
					b.Fatalf("in-toto-verify: %v\n%s", err, out)
				}
				cli = min(cli, time.Since(start))
			}
			out, err := exec.Command(interpreterOf(b, tool), "-c", pyVerifyLib, filepath.Join(dir, "root.layout"), filepath.Join(dir, "owner.pub"),
				c.owner.Public().Type, filepath.Join(dir, "links"), strconv.Itoa(runs)).CombinedOutput()
			if err != nil {
				b.Fatalf("python verifylib: %v\n%s", err, out)
			}
			fields := strings.Fields(string(out))
			if len(fields) != 2 {
				b.Fatalf("python verifylib printed %q", out)
			}
			lib, libCPU := seconds(b, fields[0]), seconds(b, fields[1])
			ours, oursCPU := time.Duration(1<<62), time.Duration(1<<62)
			for i := 0; i < 2*runs; i++ {
				w, c := verifyFromDisk()
				ours, oursCPU = min(ours, w), min(oursCPU, c)
			}
			b.StartTimer()
			for i := 0; i < b.N; i++ {
				verifyFromDisk()
			}
			b.ReportMetric(float64(cli)/float64(ours), "x_vs_in-toto-verify")
			b.ReportMetric(float64(lib)/float64(ours), "x_vs_python_verifylib")
			b.ReportMetric(float64(libCPU)/float64(max(oursCPU, 1)), "x_cpu_vs_python_verifylib")
			b.Logf("%s: cnabsec %v (CPU %v), in-toto-verify %v (command), python verifylib %v (CPU %v, in-process); best of %d+ each",
				name, ours, oursCPU, cli, lib, libCPU, runs)
		})
	}
}

// interpreterOf returns the python interpreter a script's #! line names (the
// one that has Debian's in_toto module, not whatever python3 is first on PATH).
func interpreterOf(tb testing.TB, script string) string {
	b, err := os.ReadFile(script)
	if err != nil {
		tb.Fatal(err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	fields := strings.Fields(strings.TrimPrefix(line, "#!"))
	if !strings.HasPrefix(line, "#!") || len(fields) == 0 {
		tb.Fatalf("%s has no #! line", script)
	}
	if filepath.Base(fields[0]) == "env" && len(fields) > 1 {
		return fields[1]
	}
	return fields[0]
}

func seconds(tb testing.TB, s string) time.Duration {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		tb.Fatalf("not a number of seconds: %q", s)
	}
	return time.Duration(f * float64(time.Second))
}
