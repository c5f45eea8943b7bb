//go:build interop

package ocistore

// Interop with Docker Distribution (Debian's docker-registry, run with
// `go test -tags interop`; with CI=true a missing binary fails the test):
// the reference registry accepts the artifacts, serves them to the TUF
// client, and its garbage collector keeps every blob the layout needs.

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"

	"github.com/cnabsec/cnabsec/bundle/oci"
)

// distribution is a docker-registry process over a storage directory.
type distribution struct {
	bin, cfg, addr string
	cmd            *exec.Cmd
	logs           bytes.Buffer
}

func newDistribution(t *testing.T) *distribution {
	t.Helper()
	bin, err := exec.LookPath("docker-registry")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("docker-registry is required for the interop tests (CI=true): %v", err)
		}
		t.Skipf("docker-registry not installed: %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d := &distribution{bin: bin, addr: l.Addr().String()}
	l.Close()
	dir := t.TempDir()
	d.cfg = filepath.Join(dir, "config.yml")
	cfg := fmt.Sprintf("version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\nhttp:\n  addr: %s\n",
		filepath.Join(dir, "storage"), d.addr)
	if err := os.WriteFile(d.cfg, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		d.stop()
		if t.Failed() {
			t.Logf("docker-registry output:\n%s", d.logs.String())
		}
	})
	d.start(t)
	return d
}

func (d *distribution) start(t *testing.T) {
	t.Helper()
	d.cmd = exec.Command(d.bin, "serve", d.cfg)
	d.cmd.Stdout, d.cmd.Stderr = &d.logs, &d.logs
	if err := d.cmd.Start(); err != nil {
		t.Fatalf("start docker-registry: %v", err)
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		resp, err := http.Get("http://" + d.addr + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("docker-registry did not come up on %s: %v", d.addr, err)
		}
	}
}

func (d *distribution) stop() {
	if d.cmd != nil && d.cmd.Process != nil {
		d.cmd.Process.Kill()
		d.cmd.Wait()
		d.cmd = nil
	}
}

func TestInteropDistributionServesPushedMetadataAfterGarbageCollection(t *testing.T) {
	d := newDistribution(t)
	r := newRepo(t)
	ctx := context.Background()
	repo, err := name.NewRepository(d.addr + "/org/tuf")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Push(ctx, r.Dir, repo, oci.Options{}); err != nil {
		t.Fatalf("push to docker-registry: %v", err)
	}
	mirror, err := name.NewRepository(d.addr + "/mirror/tuf")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Copy(ctx, repo, mirror, oci.Options{}); err != nil {
		t.Fatalf("copy within docker-registry: %v", err)
	}

	// A blob no manifest references: the collector must delete it (proof
	// that it ran).
	stray := static.NewLayer([]byte("unreferenced"), MediaTypeTarget)
	if err := remote.WriteLayer(repo, stray, oci.RemoteOptions(ctx, oci.Options{})...); err != nil {
		t.Fatal(err)
	}
	strayDigest, _ := stray.Digest()

	// Garbage-collect with the registry stopped, as Distribution requires:
	// every blob must survive because a tagged manifest references it.
	d.stop()
	out, err := exec.Command(d.bin, "garbage-collect", d.cfg).CombinedOutput()
	if err != nil {
		t.Fatalf("garbage-collect: %v\n%s", err, out)
	}
	d.start(t)
	resp, err := http.Head("http://" + d.addr + "/v2/org/tuf/blobs/" + strayDigest.String())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("the unreferenced blob survived garbage collection (HTTP %d): the collector did not run", resp.StatusCode)
	}

	for _, loc := range []string{"oci://" + repo.Name(), "oci://" + mirror.Name()} {
		c := newClient(t, r, loc)
		if err := c.Refresh(ctx); err != nil {
			t.Fatalf("refresh from %s after garbage collection: %v", loc, err)
		}
		data, _, err := c.Download(ctx, testTarget, 0)
		if err != nil || !bytes.Equal(data, testContent) {
			t.Fatalf("download from %s after garbage collection: %q, %v", loc, data, err)
		}
	}
}
