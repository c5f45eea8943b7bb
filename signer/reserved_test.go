package signer_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/cnabsec/cnabsec"
	"github.com/cnabsec/cnabsec/internal/names"
	"github.com/cnabsec/cnabsec/internal/testing/registrytest"
	"github.com/cnabsec/cnabsec/internal/testing/testrepo"
	"github.com/cnabsec/cnabsec/keys"
	"github.com/cnabsec/cnabsec/metadata"
	"github.com/cnabsec/cnabsec/signer"
)

// A CI key delegated REPO may not sign REPO/in-toto-metadata/X/Y:T.link (or
// anything under a reserved segment) as an image or bundle: the name is
// matched by REPO's link pattern only. The signer refuses it as input and
// writes nothing, even where the registry serves an image under it.
func TestImageNameWithReservedInTotoSegmentIsRefused(t *testing.T) {
	reg := registrytest.New(t)
	repo := reg.Host + "/org/web"
	img := reg.PushImage(t, "org/web/in-toto-metadata/x/y:1.link", 7)
	r := testrepo.New(t, testrepo.WithDelegated(repo))
	opts := signer.Options{Keys: []keys.Signer{r.Releases}, Snapshot: r.Snapshot, Timestamp: r.Timestamp}
	before, err := r.Repo.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range []signer.Item{
		{Kind: "image", Ref: img.Ref},
		{Kind: "image", Ref: repo + "/in-toto-pubkeys/k:1"},
		{Kind: "bundle", Ref: repo + "/in-toto-metadata/x/y:1.link", File: "bundle.json"},
	} {
		_, err := signer.Sign(context.Background(), r.Repo, opts, it)
		wantKind(t, err, cnabsec.ErrInput, it.Ref, "never an image or bundle")
		if !errors.Is(err, names.ErrReservedSegment) {
			t.Errorf("error %v does not wrap names.ErrReservedSegment", err)
		}
	}
	_, err = signer.Sign(context.Background(), r.Repo, opts, signer.Item{Kind: "image", Ref: img.Ref})
	wantKind(t, err, cnabsec.ErrInput, "link pattern "+repo+"/in-toto-metadata/*/*.link")
	after, err := r.Repo.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before) {
		t.Fatalf("a refused signing changed the repository: %d targets, then %d", len(before), len(after))
	}
}

func TestDelegatingARepositoryNameWithAReservedSegmentIsRefused(t *testing.T) {
	r := testrepo.New(t)
	_, err := r.Repo.Update(context.Background(), metadata.UpdateOptions{Signers: []keys.Signer{r.Targets}}, func(tx *metadata.Tx) error {
		return tx.Delegate("example.com/org/app/in-toto-metadata/x")
	})
	wantKind(t, err, cnabsec.ErrInput, "example.com/org/app/in-toto-metadata/x", "link pattern example.com/org/app/in-toto-metadata/*/*.link")
}

// Revoke can remove what Sign refuses: a target listed under a reserved
// segment (by a key acting outside its policy) is cleaned up by name.
func TestRevokeRemovesAVersionUnderAReservedSegment(t *testing.T) {
	r := testrepo.New(t, testrepo.WithDelegated(app))
	bad := app + "/in-toto-metadata/x/y:1.link"
	r.Update(t, []keys.Signer{r.Releases}, func(tx *metadata.Tx) error {
		return tx.AddTarget(bad, metadata.TargetInfo{Content: []byte("{}")})
	})
	opts := signer.Options{Keys: []keys.Signer{r.Releases}, Snapshot: r.Snapshot, Timestamp: r.Timestamp}
	if _, err := signer.Revoke(context.Background(), r.Repo, opts, bad); err != nil {
		t.Fatalf("revoke %s: %v", bad, err)
	}
	list, err := r.Repo.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, tg := range list {
		if strings.Contains(tg.Name, "in-toto-metadata/x") {
			t.Fatalf("%s is still listed", tg.Name)
		}
	}
}
