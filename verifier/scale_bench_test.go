package verifier_test

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/secure-systems-lab/go-securesystemslib/cjson"
	tuf "github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/cnabsec/cnabsec/bundle"
	"github.com/cnabsec/cnabsec/internal/testing/registrytest"
	"github.com/cnabsec/cnabsec/internal/testing/scalerepo"
	"github.com/cnabsec/cnabsec/keys"
	"github.com/cnabsec/cnabsec/metadata"
	"github.com/cnabsec/cnabsec/signer"
	"github.com/cnabsec/cnabsec/verifier"
)

// The verification side of the scale benchmarks (issue 7 §3):
//
//	go test -run '^$' -bench VerifyScale -benchtime 1x ./verifier
//
// Same repositories as signer's BenchmarkAddVersion: 100,000 (or 10) synthetic
// versions in 2048 hash bins (see signer/scale_bench_test.go for the choice),
// cached in $TMPDIR, cloned per run.
//
// A bench-only run at another scale (never CI), on the repository signer's
// BenchmarkAddVersion builds for the same environment:
//
//	CNABSEC_SCALE_VERSIONS=1000000 CNABSEC_SCALE_BINS=4096 go test -run '^$' -bench VerifyScale -benchtime 1x -timeout 60m ./verifier
//
// The metrics are then named after the count (1M-vs-10, bytes-vs-flat-1M).
const (
	scaleSeed = 7
	smallN    = 10
)

// bigN and scaleBins are 100,000 and 2048 unless the environment
// (scalerepo.VersionsEnv, scalerepo.BinsEnv) says otherwise.
var bigN, scaleBins = scalerepo.BenchScale()

func bigMetric(name string) string { return scalerepo.BenchMetric(name, bigN) }

// countingHandler counts the bytes it serves under /metadata/.
type countingHandler struct {
	h     http.Handler
	bytes atomic.Int64
}

type countingWriter struct {
	http.ResponseWriter
	n *atomic.Int64
}

func (w countingWriter) Write(b []byte) (int, error) {
	n, err := w.ResponseWriter.Write(b)
	w.n.Add(int64(n))
	return n, err
}

func (c *countingHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/metadata/") {
		w = countingWriter{w, &c.bytes}
	}
	c.h.ServeHTTP(w, r)
}

// scaleRelease is a cloned scale repository with one real release signed in:
// a thin bundle pushed to the registry and its invocation image, both
// targets of the releases bins (level 2).
type scaleRelease struct {
	repo    *scalerepo.Repo
	srv     *httptest.Server
	counter *countingHandler
}

func newScaleRelease(b *testing.B, n int, reg *registrytest.Registry, items []signer.Item) *scaleRelease {
	b.Helper()
	src, err := scalerepo.Cached(ctx, n, scaleBins, scaleSeed, b.Logf)
	if err != nil {
		b.Fatalf("repository of %d versions: %v", n, err)
	}
	r, err := src.Clone(filepath.Join(b.TempDir(), "repo"))
	if err != nil {
		b.Fatal(err)
	}
	if err := r.Delegate(ctx, reg.Host+"/org/app", reg.Host+"/org/app-installer"); err != nil {
		b.Fatal(err)
	}
	opts := signer.Options{Keys: []keys.Signer{r.Keys["releases"]}, Snapshot: r.Keys["snapshot"], Timestamp: r.Keys["timestamp"]}
	if res, err := signer.Sign(ctx, r.Repo, opts, items...); err != nil || !res.Published {
		b.Fatalf("sign the release into %d versions: %v %+v", n, err, res)
	}
	c := &countingHandler{h: metadata.Handler(r.Dir)}
	srv := httptest.NewServer(c)
	b.Cleanup(srv.Close)
	return &scaleRelease{repo: r, srv: srv, counter: c}
}

// verifyOnce verifies ref at level 2 with a fresh client (no cache) and
// returns the wall time, the process CPU time (client, loopback servers and
// registry together: less disturbed by other load on the machine than wall
// time) and the metadata bytes downloaded.
func (s *scaleRelease) verifyOnce(b *testing.B, ref string) (wall, cpu time.Duration, n int64) {
	b.Helper()
	before := s.counter.bytes.Load()
	cpu0 := cpuTime(b)
	start := time.Now()
	r, err := verifyOnce(ctx, ref, withTrustedRoot(s.repo.TrustedRoot), withMetadata(s.srv.URL))
	wall = time.Since(start)
	cpu = cpuTime(b) - cpu0
	if err != nil || !r.Verified || r.AchievedLevel != verifier.Level2 {
		b.Fatalf("verify %s: %v %+v", ref, err, r.FirstFailure())
	}
	return wall, cpu, s.counter.bytes.Load() - before
}

// cpuTime is the user and system CPU time this process has used.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// flatTargetsSize is the canonical JSON length of one unbinned targets
// metadata file (one signature) listing every target of the repository (the
// synthetic versions and the release): what a client would download without
// bins. It is summed entry by entry rather than encoded whole (a million
// versions make a file of some 300 MB): canonical JSON writes the targets
// object as its sorted entries joined by commas, and an Ed25519 signature
// has the same length whatever it signs.
func flatTargetsSize(b *testing.B, s *scaleRelease, n int) int {
	b.Helper()
	md := tuf.Targets(time.Now().UTC().Truncate(time.Second).Add(24 * time.Hour))
	payload, err := cjson.EncodeCanonical(md.Signed)
	if err != nil {
		b.Fatal(err)
	}
	sig, err := s.repo.Keys["releases"].Sign(ctx, payload)
	if err != nil {
		b.Fatal(err)
	}
	md.Signatures = []tuf.Signature{{KeyID: s.repo.Keys["releases"].Public().ID(), Signature: sig}}
	empty, err := cjson.EncodeCanonical(md)
	if err != nil {
		b.Fatal(err)
	}
	all, err := s.repo.Repo.List(ctx)
	if err != nil {
		b.Fatal(err)
	}
	if len(all) < n {
		b.Fatalf("the repository lists %d targets, want at least %d", len(all), n)
	}
	size := len(empty) + len(all) - 1 // the commas between entries
	for _, t := range all {
		size += flatEntrySize(b, t.Name, t.TargetInfo)
	}
	return size
}

// flatEntrySize is the canonical length of "name":{target file} in a
// targets object.
func flatEntrySize(b *testing.B, name string, info metadata.TargetInfo) int {
	tf := &tuf.TargetFiles{Length: info.Length, Hashes: tuf.Hashes{}}
	for alg, h := range info.Hashes {
		raw, err := hex.DecodeString(h)
		if err != nil {
			b.Fatal(err)
		}
		tf.Hashes[alg] = raw
	}
	if len(info.Custom) > 0 {
		c := json.RawMessage(append([]byte(nil), info.Custom...))
		tf.Custom = &c
	}
	k, err1 := cjson.EncodeCanonical(name)
	v, err2 := cjson.EncodeCanonical(tf)
	if err1 != nil || err2 != nil {
		b.Fatal(err1, err2)
	}
	return len(k) + 1 + len(v)
}

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

// BenchmarkVerifyScale verifies one release (a thin bundle and its
// invocation image, level 2, fresh client each time, metadata over loopback
// HTTP) in a repository of 100,000 versions and in one of 10, interleaved,
// median of 15 rounds; goal: ratio ≤ 1.5. It also counts the metadata bytes
// one verification downloads from the 100,000-version repository and divides
// them by the canonical size of a flat, unbinned targets file listing the
// same versions; goal ≤ 1%.
func BenchmarkVerifyScale(b *testing.B) {
	reg := registrytest.New(b)
	inst := reg.PushImage(b, "org/app-installer:1.0", scaleSeed)
	raw := fmt.Sprintf(`{"schemaVersion":"v1.0.0","name":"app","version":"1.0.0",`+
		`"invocationImages":[{"imageType":"docker","image":%q,"contentDigest":%q}]}`, inst.Ref, inst.Digest)
	canon, err := bundle.Canonicalize([]byte(raw))
	if err != nil {
		b.Fatal(err)
	}
	file := filepath.Join(b.TempDir(), "bundle.json")
	if err := os.WriteFile(file, canon, 0o644); err != nil {
		b.Fatal(err)
	}
	ref := reg.Host + "/org/app:1.0"
	items := []signer.Item{{Kind: "image", Ref: inst.Ref}, {Kind: "bundle", Ref: ref, File: file, Push: true}}
	big := newScaleRelease(b, bigN, reg, items)
	small := newScaleRelease(b, smallN, reg, items)

	const rounds = 15
	var tSmall, tBig, cSmall, cBig time.Duration
	var bytesBig, bytesSmall int64
	for i := 0; i < b.N; i++ {
		var ds, dl, cs, cl []time.Duration
		for round := 0; round < rounds; round++ {
			d, c, n := small.verifyOnce(b, ref)
			ds, cs, bytesSmall = append(ds, d), append(cs, c), n
			d, c, n = big.verifyOnce(b, ref)
			dl, cl, bytesBig = append(dl, d), append(cl, c), n
		}
		tSmall += median(ds)
		tBig += median(dl)
		cSmall += median(cs)
		cBig += median(cl)
	}
	tSmall /= time.Duration(b.N)
	tBig /= time.Duration(b.N)
	cSmall /= time.Duration(b.N)
	cBig /= time.Duration(b.N)
	flat := flatTargetsSize(b, big, bigN)
	snap, err := scalerepo.SnapshotBytes(big.repo.Dir)
	if err != nil {
		b.Fatal(err)
	}

	label := scalerepo.Label(bigN)
	b.ReportMetric(float64(tSmall.Microseconds())/1000, "10-ms")
	b.ReportMetric(float64(tBig.Microseconds())/1000, label+"-ms")
	b.ReportMetric(float64(tBig)/float64(tSmall), label+"-vs-10")
	b.ReportMetric(float64(cSmall.Microseconds())/1000, "10-cpu-ms")
	b.ReportMetric(float64(cBig.Microseconds())/1000, label+"-cpu-ms")
	b.ReportMetric(float64(cBig)/float64(cSmall), label+"-vs-10-cpu")
	b.ReportMetric(float64(bytesBig), "metadata-bytes-"+label)
	b.ReportMetric(float64(bytesSmall), "metadata-bytes-10")
	b.ReportMetric(float64(flat), bigMetric("flat-targets-bytes"))
	b.ReportMetric(float64(bytesBig)/float64(flat), bigMetric("bytes-vs-flat"))
	b.ReportMetric(float64(snap), bigMetric("snapshot-bytes"))
	b.ReportMetric(float64(scaleBins), "bins")
	b.Logf("verify one release at level 2 (bins %d, median of %d interleaved rounds): 10 versions %v, %d versions %v, ratio %.2f (goal ≤ 1.5); CPU %v vs %v, ratio %.2f; "+
		"metadata downloaded %d bytes (10 versions: %d; snapshot %d) vs a flat targets file of %d bytes: %.3f%%",
		scaleBins, rounds, tSmall, bigN, tBig, float64(tBig)/float64(tSmall), cSmall, cBig, float64(cBig)/float64(cSmall), bytesBig, bytesSmall, snap, flat, 100*float64(bytesBig)/float64(flat))
}
