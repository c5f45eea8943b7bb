package bundle

import (
	"bufio"
	"bytes"
	stdgzip "compress/gzip"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cnabsec/cnabsec/internal/testing/peakrss"
)

// The acceptance benchmark for thick bundles. It builds (once, cached in
// $TMPDIR) a valid thick bundle of about 1 GiB of random, incompressible
// layers, then measures in the same run:
//
//	(a) openssl dgst -sha256 FILE           the reference (best of 3)
//	(b) DigestReader over the file          goal ≥ 0.9× (a)'s throughput
//	(c) ReadThick over the file             goal ≥ 0.5× (a)'s throughput
//	    in a child process, whose VmHWM is   goal ≤ 64 MiB
//	(d) ReadThick with compress/gzip instead of klauspost's gzip, for comparison
//
// Run: go test -run '^$' -bench BenchmarkThick1GiB -benchtime 1x ./bundle/
// Ratios are reported as metrics (digest/openssl, verify/openssl, peak-RSS-MiB).

const (
	benchArchiveEnv = "CNABSEC_BENCH_THICK_ARCHIVE"
	benchGzipEnv    = "CNABSEC_BENCH_GZIP" // "std": the child uses compress/gzip
)

func benchArchive(b *testing.B) string {
	b.Helper()
	p := filepath.Join(os.TempDir(), "cnabsec-bench-thick-1GiB-v3.tgz")
	if _, err := os.Stat(p); err == nil {
		return p
	}
	b.Logf("building %s (cached for later runs)", p)
	const layers, layerSize = 16, 64 << 20
	rng := rand.NewChaCha8([32]byte{'c', 'n', 'a', 'b'})
	dir := b.TempDir()
	var layerDescs []string
	var blobs []Blob
	addBlob := func(name string, size int64) {
		pp := filepath.Join(dir, name)
		blobs = append(blobs, Blob{Digest: "sha256:" + name, Size: size, Open: func() (io.ReadCloser, error) { return os.Open(pp) }})
	}
	for range layers {
		buf := make([]byte, layerSize)
		rng.Read(buf)
		d := sha256Hex(buf)
		if err := os.WriteFile(filepath.Join(dir, d), buf, 0o644); err != nil {
			b.Fatal(err)
		}
		addBlob(d, layerSize)
		layerDescs = append(layerDescs, fmt.Sprintf(`{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:%s","size":%d}`, d, layerSize))
	}
	config := []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`)
	manifest := []byte(fmt.Sprintf(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%d},"layers":[%s]}`,
		sha256Hex(config), len(config), strings.Join(layerDescs, ",")))
	for _, small := range [][]byte{config, manifest} {
		d := sha256Hex(small)
		os.WriteFile(filepath.Join(dir, d), small, 0o644)
		addBlob(d, int64(len(small)))
	}
	md := "sha256:" + sha256Hex(manifest)
	bundleJSON, err := Canonicalize([]byte(fmt.Sprintf(`{"schemaVersion":"v1.0.0","name":"bench","version":"1.0.0","invocationImages":[{"image":"example.com/bench:1.0","imageType":"oci","contentDigest":%q,"size":%d,"mediaType":"application/vnd.oci.image.manifest.v1+json"}]}`, md, len(manifest))))
	if err != nil {
		b.Fatal(err)
	}
	index := []byte(fmt.Sprintf(`{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":%q,"size":%d}]}`, md, len(manifest)))
	tmp := p + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, chunkSize)
	if err := WriteThick(w, ThickContent{BundleJSON: bundleJSON, Index: index, Blobs: blobs}); err != nil {
		b.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	if err := os.Rename(tmp, p); err != nil {
		b.Fatal(err)
	}
	return p
}

func BenchmarkThick1GiB(b *testing.B) {
	if _, err := exec.LookPath("openssl"); err != nil {
		b.Skip("openssl not found: it is the reference")
	}
	p := benchArchive(b)
	info, err := os.Stat(p)
	if err != nil {
		b.Fatal(err)
	}
	size := float64(info.Size())
	mbps := func(d time.Duration) float64 { return size / d.Seconds() / 1e6 }
	// Warm the page cache so every contender reads from memory.
	if _, _, err := fileDigest(p); err != nil {
		b.Fatal(err)
	}
	// Rounds interleave the contenders so that load from other processes
	// hits them alike; each keeps its best time.
	const rounds = 3
	ssl, dig, verify, verifyStd := time.Duration(1<<63-1), time.Duration(1<<63-1), time.Duration(1<<63-1), time.Duration(1<<63-1)
	var rss int64
	for range rounds {
		start := time.Now()
		sslOut, err := exec.Command("openssl", "dgst", "-sha256", p).Output()
		if err != nil {
			b.Fatal(err)
		}
		ssl = min(ssl, time.Since(start))
		start = time.Now()
		ours, _, err := fileDigest(p)
		if err != nil {
			b.Fatal(err)
		}
		dig = min(dig, time.Since(start))
		if !bytes.Contains(sslOut, []byte(strings.TrimPrefix(ours, "sha256:"))) {
			b.Fatalf("digests differ: openssl %q, ours %s", sslOut, ours)
		}
		d, r := readThickChild(b, p, ours, "")
		verify, rss = min(verify, d), max(rss, r)
		d, _ = readThickChild(b, p, ours, "std")
		verifyStd = min(verifyStd, d)
	}
	b.ReportMetric(mbps(ssl), "openssl-MB/s")
	b.ReportMetric(mbps(dig), "digest-MB/s")
	b.ReportMetric(mbps(verify), "verify-MB/s")
	b.ReportMetric(ssl.Seconds()/dig.Seconds(), "digest/openssl")
	b.ReportMetric(ssl.Seconds()/verify.Seconds(), "verify/openssl")
	b.ReportMetric(ssl.Seconds()/verifyStd.Seconds(), "verify-stdgzip/openssl")
	b.ReportMetric(float64(rss)/(1<<20), "peak-RSS-MiB")
	b.Logf("%.0f MiB archive, best of %d: openssl %v (%.0f MB/s), DigestReader %v (%.2f×), ReadThick %v (%.2f×; with compress/gzip %v, %.2f×), ReadThick peak RSS %.1f MiB",
		size/(1<<20), rounds, ssl, mbps(ssl), dig, ssl.Seconds()/dig.Seconds(), verify, ssl.Seconds()/verify.Seconds(),
		verifyStd, ssl.Seconds()/verifyStd.Seconds(), float64(rss)/(1<<20))
	if rss > 64<<20 {
		b.Errorf("ReadThick peak RSS %d MiB > 64 MiB", rss>>20)
	}
}

func fileDigest(p string) (string, int64, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	return DigestReader(f)
}

// readThickChild runs ReadThick on p in a child process (this test binary,
// TestReadThickBenchChild) and returns its ReadThick time and its VmHWM.
func readThickChild(b *testing.B, p, wantDigest, gz string) (time.Duration, int64) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestReadThickBenchChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), benchArchiveEnv+"="+p, benchGzipEnv+"="+gz)
	out, err := cmd.CombinedOutput()
	if err != nil {
		b.Fatalf("child: %v\n%s", err, out)
	}
	var ns, hwm int64
	var digest string
	for _, line := range strings.Split(string(out), "\n") {
		if rest, ok := strings.CutPrefix(line, "READTHICK "); ok {
			f := strings.Fields(rest)
			if len(f) == 3 {
				ns, _ = strconv.ParseInt(f[0], 10, 64)
				hwm, _ = strconv.ParseInt(f[1], 10, 64)
				digest = f[2]
			}
		}
	}
	if ns == 0 || digest != wantDigest {
		b.Fatalf("child output without a result or with digest %q (want %s):\n%s", digest, wantDigest, out)
	}
	return time.Duration(ns), hwm
}

// TestReadThickBenchChild is the child process of BenchmarkThick1GiB; it does
// nothing unless the benchmark started it.
func TestReadThickBenchChild(t *testing.T) {
	p := os.Getenv(benchArchiveEnv)
	if p == "" {
		t.Skip("only run by BenchmarkThick1GiB")
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if os.Getenv(benchGzipEnv) == "std" {
		newGzipReader = func(r io.Reader) (io.Reader, error) { return stdgzip.NewReader(r) }
	}
	start := time.Now()
	th, err := ReadThick(f, ThickOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d := time.Since(start)
	fmt.Printf("READTHICK %d %d %s\n", d.Nanoseconds(), peakrss.Peak(t), th.Digest)
}
