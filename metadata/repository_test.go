package metadata_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cnabsec/cnabsec/internal/testing/testrepo"
	"github.com/cnabsec/cnabsec/keys"
	"github.com/cnabsec/cnabsec/metadata"
)

var ctx = context.Background()

func sum256(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

func TestPublishedTargetVerifiesWithGoTUFClient(t *testing.T) {
	r := testrepo.New(t, testrepo.WithDelegated("example.com/org/app"))
	layout := []byte(`{"signed":{"_type":"layout"}}`)
	r.Update(t, []keys.Signer{r.Targets}, func(tx *metadata.Tx) error {
		if got := tx.RoleFor("example.com/org/app/in-toto-metadata/root.layout"); got != metadata.RoleTargets {
			t.Errorf("RoleFor(layout) = %s, want targets", got)
		}
		return tx.AddTarget("example.com/org/app/in-toto-metadata/root.layout", metadata.TargetInfo{Content: layout})
	})
	link := []byte(`{"signed":{"_type":"link"}}`)
	r.Update(t, []keys.Signer{r.Releases}, func(tx *metadata.Tx) error {
		for _, n := range []string{"example.com/org/app:1.0", "example.com/org/app@sha256:" + sum256(nil), "example.com/org/app/in-toto-metadata/abc/package.12345678.link"} {
			if got := tx.RoleFor(n); got != metadata.RoleReleases {
				t.Errorf("RoleFor(%s) = %s, want releases", n, got)
			}
		}
		if err := tx.AddTarget("example.com/org/app/in-toto-metadata/abc/package.12345678.link", metadata.TargetInfo{Content: link}); err != nil {
			return err
		}
		return tx.AddTarget("example.com/org/app:1.0", metadata.TargetInfo{Length: 549, Hashes: map[string]string{"sha256": sum256([]byte("bundle"))}, Custom: []byte(`{"in-toto":["example.com/org/app/in-toto-metadata/root.layout"]}`)})
	})
	up, err := r.Refresh(t)
	if err != nil {
		t.Fatalf("go-tuf client refresh: %v", err)
	}
	for name, content := range map[string][]byte{
		"example.com/org/app/in-toto-metadata/root.layout":               layout,
		"example.com/org/app/in-toto-metadata/abc/package.12345678.link": link,
	} {
		tf, err := up.GetTargetInfo(name)
		if err != nil {
			t.Fatalf("GetTargetInfo(%s): %v", name, err)
		}
		// Every listed hash must name a file: the client picks one at random.
		for alg, h := range tf.Hashes {
			dir, base := filepath.Split(name)
			p := filepath.Join(r.Dir, "targets", dir, hex.EncodeToString(h)+"."+base)
			b, err := os.ReadFile(p)
			if err != nil || string(b) != string(content) {
				t.Errorf("%s file for %s: %v", alg, name, err)
			}
		}
		_, got, err := up.DownloadTarget(tf, filepath.Join(t.TempDir(), "f"), "")
		if err != nil || string(got) != string(content) {
			t.Fatalf("DownloadTarget(%s) = %q, %v", name, got, err)
		}
	}
	tf, err := up.GetTargetInfo("example.com/org/app:1.0")
	if err != nil {
		t.Fatalf("GetTargetInfo(version): %v", err)
	}
	if tf.Length != 549 || !strings.Contains(string(*tf.Custom), "root.layout") {
		t.Errorf("version target = %+v", tf)
	}
}
