package metadata_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/internal/testing/errtest"
	"github.com/cnabsec/cnabsec/internal/testing/testrepo"
	"github.com/cnabsec/cnabsec/keys"
	"github.com/cnabsec/cnabsec/metadata"
)

func TestHashBinTargetsVerifyWithGoTUFClient(t *testing.T) {
	r := testrepo.New(t, testrepo.WithBins(8), testrepo.WithDelegated("example.com/org/app"))
	const n = 24
	var roles []string
	r.Update(t, []keys.Signer{r.Releases}, func(tx *metadata.Tx) error {
		for i := 0; i < n; i++ {
			name := fmt.Sprintf("example.com/org/app:1.%d", i)
			roles = append(roles, tx.RoleFor(name))
			if err := tx.AddTarget(name, blob(name)); err != nil {
				return err
			}
		}
		// Links go to bins too, layouts stay in targets.
		if got := tx.RoleFor("example.com/org/app/in-toto-metadata/root.layout"); got != metadata.RoleTargets {
			t.Errorf("layout role %s", got)
		}
		return nil
	})
	used := map[string]bool{}
	for _, role := range roles {
		if !strings.HasPrefix(role, "releases-bin-") {
			t.Fatalf("a version went to %s, not a hash bin", role)
		}
		used[role] = true
	}
	if len(used) < 2 {
		t.Errorf("%d targets all landed in one bin: %v", n, used)
	}
	up, err := r.Refresh(t)
	if err != nil {
		t.Fatalf("go-tuf client: %v", err)
	}
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("example.com/org/app:1.%d", i)
		tf, err := up.GetTargetInfo(name)
		if err != nil {
			t.Fatalf("GetTargetInfo(%s): %v", name, err)
		}
		if _, data, err := up.DownloadTarget(tf, filepath.Join(t.TempDir(), "f"), ""); err != nil || string(data) != name {
			t.Fatalf("download %s: %q %v", name, data, err)
		}
	}
	// A bin's target refused when signed by a key that is not a releases key.
	_, err = r.Repo.Update(ctx, metadata.UpdateOptions{Signers: []keys.Signer{r.Targets}}, func(tx *metadata.Tx) error {
		return tx.AddTarget("example.com/org/app:2.0", blob("x"))
	})
	errtest.Want(t, err, fault.Input, "is not a key of the role(s) this change modifies: releases-bin-")

	st, err := r.Repo.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	total, bins := 0, 0
	for _, rs := range st.Roles {
		if strings.HasPrefix(rs.Role, "releases-bin-") {
			bins++
			total += *rs.Targets
			if !rs.ThresholdMet() {
				t.Errorf("%s below threshold", rs.Role)
			}
		}
	}
	if bins != 8 || total != n {
		t.Errorf("status: %d bins holding %d targets, want 8 and %d", bins, total, n)
	}
	list, err := r.Repo.List(ctx)
	if err != nil || len(list) != n {
		t.Fatalf("list: %d targets, %v", len(list), err)
	}

	// Rotating the releases key re-signs every bin with the new key.
	newRel := gen(t)
	res, err := r.Repo.Rotate(ctx, metadata.RotateOptions{Role: "releases", Add: []*keys.PublicKey{newRel.Public()}, Remove: []string{r.Releases.Public().ID()},
		Signers: []keys.Signer{r.Targets, newRel}, Snapshot: r.Snapshot, Timestamp: r.Timestamp})
	if err != nil || !res.Published || res.Versions["releases-bin-0"] == 0 {
		t.Fatalf("rotate releases with bins: %v %+v", err, res)
	}
	r.Update(t, []keys.Signer{newRel}, func(tx *metadata.Tx) error { return tx.AddTarget("example.com/org/app:2.0", blob("2")) })
	// Refresh of releases renews its bins.
	res, err = r.Repo.Refresh(ctx, metadata.RefreshOptions{Roles: []string{"releases"}, Signers: []keys.Signer{newRel}, Snapshot: r.Snapshot, Timestamp: r.Timestamp})
	if err != nil || !res.Published || len(res.Versions) != 2+1+8 {
		t.Fatalf("refresh releases: %v %+v", err, res)
	}
	up, err = r.Refresh(t)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := up.GetTargetInfo("example.com/org/app:2.0"); err != nil {
		t.Fatal(err)
	}
}

func TestBinsOtherThanAPowerOfTwoAreRefused(t *testing.T) {
	k := gen(t)
	one := metadata.RoleKeys{Signers: []keys.Signer{k}}
	for _, n := range []int{-2, 1, 3, 1000, metadata.MaxBins * 2} {
		_, err := metadata.Init(filepath.Join(t.TempDir(), "repo"), metadata.InitOptions{Root: one, Targets: one, Snapshot: one, Timestamp: one, Releases: &one, Bins: n})
		errtest.Want(t, err, fault.Input, fmt.Sprintf("bins %d: want a power of two", n))
	}
	_, err := metadata.Init(filepath.Join(t.TempDir(), "repo"), metadata.InitOptions{Root: one, Targets: one, Snapshot: one, Timestamp: one, Bins: 4})
	errtest.Want(t, err, fault.Input, "hash bins need the releases role")
}

// TestRotatingAHashBinIsRefused: a bin is delegated by releases with the
// releases keys; rotating it on its own crashed on a missing delegation.
func TestRotatingAHashBinIsRefused(t *testing.T) {
	r := testrepo.New(t, testrepo.WithBins(4))
	k, err := keys.Generate(keys.GenEd25519)
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.Repo.Rotate(context.Background(), metadata.RotateOptions{
		Role: "releases-bin-0", Add: []*keys.PublicKey{k.Public()},
		Signers: []keys.Signer{r.Targets}, Snapshot: r.Snapshot, Timestamp: r.Timestamp,
	})
	errtest.Want(t, err, fault.Input, "releases-bin-0", "rotate releases")
}
