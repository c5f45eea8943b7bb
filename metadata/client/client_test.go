package client

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/internal/testing/errtest"
)

func TestRefreshTargetAndDownloadThroughDelegation(t *testing.T) {
	r := newTestRepo(t)
	c := r.client(t)
	ctx := ctxT(t)
	if err := c.Refresh(ctx); err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	if v := c.TrustedSnapshotVersion(); v != 1 {
		t.Errorf("TrustedSnapshotVersion = %d, want 1", v)
	}
	info, err := c.Target(ctx, versionName)
	if err != nil {
		t.Fatalf("Target: %v", err)
	}
	if info.Role != "releases" || info.Name != versionName || info.Length != 39 {
		t.Errorf("TargetInfo = %+v, want role releases, length 39", info)
	}
	if string(info.Custom) != `{"in-toto":["`+layoutName+`","`+linkName+`"]}` {
		t.Errorf("custom = %s, want the in-toto list", info.Custom)
	}
	if len(info.Hashes["sha256"]) != 64 || len(info.Hashes["sha512"]) != 128 {
		t.Errorf("hashes = %v", info.Hashes)
	}
	data, linfo, err := c.Download(ctx, linkName, 0)
	if err != nil {
		t.Fatalf("Download link: %v", err)
	}
	if string(data) != `{"signed":{"_type":"link"}}` || linfo.Role != "releases" {
		t.Errorf("link = %q from %s", data, linfo.Role)
	}
	data, linfo, err = c.Download(ctx, layoutName, 0)
	if err != nil {
		t.Fatalf("Download layout: %v", err)
	}
	if string(data) != `{"_type":"layout"}` || linfo.Role != "targets" {
		t.Errorf("layout = %q from %s", data, linfo.Role)
	}
	roles := c.Roles()
	var names []string
	for _, rs := range roles {
		names = append(names, rs.Role)
		if rs.Version != 1 || !rs.Expires.After(c.ReferenceTime()) {
			t.Errorf("role state %+v", rs)
		}
	}
	if strings.Join(names, ",") != "root,timestamp,snapshot,targets,releases" {
		t.Errorf("Roles() = %v", names)
	}
}

func TestTargetFileInFlatLayoutIsFound(t *testing.T) {
	r := newTestRepo(t)
	// Move the link from targets/<dir>/<hash>.<base> to the flat
	// targets/<hash>.<base> that docs/cli.md's repository layout also allows.
	dir, base := path.Split(linkName)
	for _, h := range r.releases.Signed.Targets[linkName].Hashes {
		old := filepath.Join(r.dir, "targets", filepath.FromSlash(dir), h.String()+"."+base)
		data, err := os.ReadFile(old)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(old); err != nil {
			t.Fatal(err)
		}
		r.write("targets/"+h.String()+"."+base, data)
	}
	data, _, err := r.client(t).Download(ctxT(t), linkName, 0)
	if err != nil || string(data) != `{"signed":{"_type":"link"}}` {
		t.Fatalf("Download = %q, %v", data, err)
	}
}

func TestHTTPAndFileLocations(t *testing.T) {
	r := newTestRepo(t)
	srv := httptest.NewServer(http.FileServer(http.Dir(r.dir)))
	defer srv.Close()
	for _, loc := range []string{srv.URL, srv.URL + "/", "file://" + r.dir} {
		c := r.client(t, func(o *Options) { o.Location = loc })
		data, _, err := c.Download(ctxT(t), versionName, 0)
		if err != nil || !strings.Contains(string(data), `"name":"app"`) {
			t.Errorf("%s: Download = %q, %v", loc, data, err)
		}
	}
}

func TestRefreshRunsOnceAndLaterCallsReuseIt(t *testing.T) {
	r := newTestRepo(t)
	var n int
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		mu.Lock()
		n++
		mu.Unlock()
		http.FileServer(http.Dir(r.dir)).ServeHTTP(w, req)
	}))
	defer srv.Close()
	c := r.client(t, func(o *Options) { o.Location = srv.URL })
	for i := 0; i < 3; i++ {
		if err := c.Refresh(ctxT(t)); err != nil {
			t.Fatal(err)
		}
	}
	// 2.root.json (404), timestamp, 1.snapshot, 1.targets.
	if n != 4 {
		t.Errorf("%d requests for three Refresh calls, want 4 (one refresh)", n)
	}
}

func TestConcurrentLookupsAreSerialized(t *testing.T) {
	r := newTestRepo(t)
	c := r.client(t)
	ctx := ctxT(t)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			name := []string{versionName, linkName, layoutName}[i%3]
			if _, _, err := c.Download(ctx, name, 0); err != nil {
				errs <- err
			}
			_ = c.Roles()
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestNoTrustedRootIsInputError(t *testing.T) {
	r := newTestRepo(t)
	o := r.options()
	o.TrustedRoot = nil
	_, err := New(o)
	errtest.Want(t, err, fault.Input, "no trusted root", "no trust on first use")
	if r, _ := fault.RemedyOf(err); r != fault.RemedyPinTrustRoot {
		t.Errorf("remedy %v, want %v", r, fault.RemedyPinTrustRoot)
	}
}

func TestMalformedTrustedRootIsInputError(t *testing.T) {
	r := newTestRepo(t)
	for name, root := range map[string][]byte{
		"not json":      []byte("{nope"),
		"a timestamp":   toBytes(t, r.timestamp),
		"unsigned root": []byte(strings.Replace(string(r.rootBytes[1]), `"sig": "`, `"sig": "00`, 1)),
	} {
		t.Run(name, func(t *testing.T) {
			o := r.options()
			o.TrustedRoot = root
			_, err := New(o)
			errtest.Want(t, err, fault.Input, "trusted root is not valid root metadata")
		})
	}
}

func TestBadLocationIsInputError(t *testing.T) {
	r := newTestRepo(t)
	for loc, frag := range map[string]string{
		"":                              "no metadata location",
		filepath.Join(r.dir, "missing"): "no such file",
		"ftp://example.com/repo":        `unsupported scheme "ftp"`,
		"https://user:pw@example.com/":  "no query, fragment or credentials",
	} {
		o := r.options()
		o.Location = loc
		_, err := New(o)
		errtest.Want(t, err, fault.Input, frag)
	}
}
