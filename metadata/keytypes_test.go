package metadata_test

import (
	"path/filepath"
	"testing"

	tuf "github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/cnabsec/cnabsec/internal/testing/testrepo"
	"github.com/cnabsec/cnabsec/keys"
	"github.com/cnabsec/cnabsec/metadata"
)

// TestEveryKeyTypeVerifiesWithGoTUF checks the signatures and key IDs we
// write against go-tuf's own VerifyDelegate and updater, per key type.
func TestEveryKeyTypeVerifiesWithGoTUF(t *testing.T) {
	types := []string{keys.GenEd25519, keys.GenECDSAP256, keys.GenRSA3072}
	if testing.Short() {
		types = types[:2]
	}
	for _, typ := range types {
		t.Run(typ, func(t *testing.T) {
			r := testrepo.New(t, testrepo.WithKeyType(typ), testrepo.WithDelegated("example.com/org/app"))
			r.Update(t, []keys.Signer{r.Releases}, func(tx *metadata.Tx) error {
				return tx.AddTarget("example.com/org/app:1", blob("1"))
			})
			md := func(name string) string { return filepath.Join(r.Dir, "metadata", name) }
			root, err := (&tuf.Metadata[tuf.RootType]{}).FromFile(md("1.root.json"))
			if err != nil {
				t.Fatal(err)
			}
			targets, err := (&tuf.Metadata[tuf.TargetsType]{}).FromFile(md("2.targets.json"))
			if err != nil {
				t.Fatal(err)
			}
			releases, err := (&tuf.Metadata[tuf.TargetsType]{}).FromFile(md("2.releases.json"))
			if err != nil {
				t.Fatal(err)
			}
			snapshot, err := (&tuf.Metadata[tuf.SnapshotType]{}).FromFile(md("3.snapshot.json"))
			if err != nil {
				t.Fatal(err)
			}
			timestamp, err := (&tuf.Metadata[tuf.TimestampType]{}).FromFile(md("timestamp.json"))
			if err != nil {
				t.Fatal(err)
			}
			for role, m := range map[string]any{"root": root, "targets": targets, "snapshot": snapshot, "timestamp": timestamp} {
				if err := root.VerifyDelegate(role, m); err != nil {
					t.Errorf("go-tuf VerifyDelegate(%s): %v", role, err)
				}
			}
			if err := targets.VerifyDelegate("releases", releases); err != nil {
				t.Errorf("go-tuf VerifyDelegate(releases): %v", err)
			}
			// One key ID for TUF and in-toto: go-tuf computes the same ID.
			for id, k := range root.Signed.Keys {
				if got, _ := k.ID(); got != id {
					t.Errorf("key listed as %s, go-tuf computes %s", id, got)
				}
			}
			if _, ok := root.Signed.Keys[r.Root.Public().ID()]; !ok {
				t.Errorf("root key not listed under keys.PublicKey.ID()")
			}
			if _, err := r.Refresh(t); err != nil {
				t.Fatalf("go-tuf client: %v", err)
			}
		})
	}
}
