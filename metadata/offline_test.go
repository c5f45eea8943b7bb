package metadata_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	tuf "github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/cnabsec/cnabsec/internal/testing/testrepo"
	"github.com/cnabsec/cnabsec/keys"
	"github.com/cnabsec/cnabsec/metadata"
)

func TestOfflineKeysSignLaterAndNothingIsServedUntilAllThresholdsAreMet(t *testing.T) {
	root1, root2, targets, snap, ts := gen(t), gen(t), gen(t), gen(t), gen(t)
	dir := filepath.Join(t.TempDir(), "repo")
	// Root is 2-of-2 with one key offline; snapshot and timestamp sign later.
	repo, err := metadata.Init(dir, metadata.InitOptions{
		Root:      metadata.RoleKeys{Signers: []keys.Signer{root1}, PublicKeys: []*keys.PublicKey{root2.Public()}, Threshold: 2},
		Targets:   metadata.RoleKeys{Signers: []keys.Signer{targets}},
		Snapshot:  metadata.RoleKeys{PublicKeys: []*keys.PublicKey{snap.Public()}},
		Timestamp: metadata.RoleKeys{PublicKeys: []*keys.PublicKey{ts.Public()}},
	})
	if err != nil {
		t.Fatal(err)
	}
	served := func() []string {
		e, _ := os.ReadDir(filepath.Join(dir, "metadata"))
		var out []string
		for _, f := range e {
			out = append(out, f.Name())
		}
		return out
	}
	steps := []struct {
		role    string
		key     keys.Signer
		publish bool
		waiting string
	}{
		{"snapshot", snap, false, "role snapshot has no staged metadata"}, // root is still short of a signature
		{"root", root2, false, "snapshot version 1: signatures from 0 of the 1"},
		{"snapshot", snap, false, "timestamp version 1: signatures from 0 of the 1"},
		{"timestamp", ts, true, ""},
	}
	for _, s := range steps {
		res, err := repo.Sign(ctx, metadata.SignOptions{Role: s.role, Key: s.key})
		if s.publish {
			if err != nil || !res.Published {
				t.Fatalf("sign %s: %v %+v", s.role, err, res)
			}
			continue
		}
		if err != nil {
			if !strings.Contains(err.Error(), s.waiting) {
				t.Fatalf("sign %s: %v", s.role, err)
			}
		} else if res.Published || !strings.Contains(waitingText(res), s.waiting) {
			t.Fatalf("sign %s: %+v, want waiting %q", s.role, res, s.waiting)
		}
		if len(served()) != 0 {
			t.Fatalf("after signing %s, metadata/ serves %v before every threshold is met", s.role, served())
		}
	}
	if got := strings.Join(served(), " "); got != "1.root.json 1.snapshot.json 1.targets.json timestamp.json" {
		t.Errorf("served: %s", got)
	}
	root, err := repo.TrustedRoot()
	if err != nil {
		t.Fatal(err)
	}
	srvDir := testrepo.Repo{Dir: dir, TrustedRoot: root}
	if _, err := srvDir.Refresh(t); err != nil {
		t.Fatalf("client: %v", err)
	}
}

func TestStatusDoesNotTrustItsCacheForATamperedFile(t *testing.T) {
	r := testrepo.New(t, testrepo.WithDelegated("example.com/org/app"))
	r.Update(t, []keys.Signer{r.Releases}, func(tx *metadata.Tx) error { return tx.AddTarget("example.com/org/app:1", blob("1")) })
	p := filepath.Join(r.Dir, "metadata", "2.releases.json")
	md, err := (&tuf.Metadata[tuf.TargetsType]{}).FromFile(p)
	if err != nil {
		t.Fatal(err)
	}
	md.Signatures[0].Signature[0] ^= 1
	b, _ := md.ToBytes(true)
	if err := os.WriteFile(p, b, 0o644); err != nil { // same size, in place
		t.Fatal(err)
	}
	st, err := r.Repo.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, rs := range st.Roles {
		if rs.Role == "releases" && (rs.ThresholdMet() || len(rs.Missing) != 1) {
			t.Errorf("status trusts a cached summary of a tampered file: %+v", rs)
		}
	}
}

func TestSnapshotThresholdTwoCollectsSignaturesOneByOne(t *testing.T) {
	k, s1, s2 := gen(t), gen(t), gen(t)
	one := metadata.RoleKeys{Signers: []keys.Signer{k}}
	dir := filepath.Join(t.TempDir(), "repo")
	repo, err := metadata.Init(dir, metadata.InitOptions{Root: one, Targets: one, Timestamp: one,
		Snapshot: metadata.RoleKeys{Signers: []keys.Signer{s1}, PublicKeys: []*keys.PublicKey{s2.Public()}, Threshold: 2}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := repo.Sign(ctx, metadata.SignOptions{Role: "snapshot", Key: s2, Timestamp: k})
	if err != nil || !res.Published {
		t.Fatalf("second snapshot signature did not complete the threshold: %v %+v", err, res)
	}
	st, err := repo.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, rs := range st.Roles {
		if rs.Role == "snapshot" && (rs.ValidKeys != 2 || rs.Staged) {
			t.Errorf("snapshot: %+v", rs)
		}
	}
}
