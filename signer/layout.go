package signer

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/internal/names"
	"github.com/cnabsec/cnabsec/keys"
	"github.com/cnabsec/cnabsec/layouts"
	"github.com/cnabsec/cnabsec/metadata"
)

// LayoutRelease is a root layout to publish for a repository name.
type LayoutRelease struct {
	// Layout is the signed root layout (classic in-toto Metablock).
	Layout []byte
	// Name is REGISTRY/REPO.
	Name string
	// Keys are the layout's public keys (its owners): each must have signed it.
	Keys []*keys.PublicKey
	// Target overrides the layout target name (default NAME/in-toto-metadata/root.layout).
	Target string
	// Covers, when set, publishes a kept layout that governs only the
	// versions these patterns match (NAME:TAG-GLOB, NAME@sha256:HEX); the
	// current layout stays. Empty: the layout becomes NAME's current layout
	// and the previous current one is retired (removed from the targets role).
	Covers []string
	// KeepPreviousFor keeps the previous current layout for the versions
	// these patterns match instead of retiring it.
	KeepPreviousFor []string
}

// PublishLayout signs the layout and its keys into the top-level targets role
// (CNAB-Sec 301) and makes sure the releases role may sign versions of Name.
// opts.Keys must be targets keys: layouts never come from CI.
func PublishLayout(ctx context.Context, repo *metadata.Repository, opts Options, lr LayoutRelease) (string, *metadata.Result, error) {
	name, target, err := layoutNames(lr)
	if err != nil {
		return "", nil, err
	}
	if len(lr.Keys) == 0 {
		return "", nil, fault.Inputf("no layout key given: verifiers need the layout's public keys")
	}
	// Structure and every owner's signature, checked cryptographically: a
	// layout its own keys cannot verify would deny every later verification.
	if _, err := layouts.ReadLayout(lr.Layout, lr.Keys); err != nil {
		return "", nil, err
	}
	keyTargets, keyFiles, err := layoutKeyFiles(name, lr.Keys)
	if err != nil {
		return "", nil, err
	}
	if err := checkPatterns(name, lr); err != nil {
		return "", nil, err
	}
	custom, err := json.Marshal(names.NewLayoutCustom(keyTargets, lr.Covers))
	if err != nil {
		return "", nil, err
	}
	res, err := repo.Update(ctx, metadata.UpdateOptions{Signers: opts.Keys, Snapshot: opts.Snapshot, Timestamp: opts.Timestamp}, func(tx *metadata.Tx) error {
		if err := listLayoutKeys(tx, keyTargets, keyFiles); err != nil {
			return err
		}
		return listLayout(tx, name, target, lr, custom)
	})
	if err != nil {
		return "", nil, err
	}
	return target, res, nil
}

// layoutNames are the repository a layout governs and its target name.
func layoutNames(lr LayoutRelease) (string, string, error) {
	name, err := names.ParseRepository(lr.Name)
	if err != nil {
		return "", "", err
	}
	if strings.HasSuffix(name, "/*") {
		return "", "", fault.Inputf("layout repository %s: a layout belongs to one repository, not a glob", lr.Name)
	}
	target := lr.Target
	if target == "" {
		target = names.LayoutTarget(name)
	}
	if !strings.HasPrefix(target, name+"/in-toto-metadata/") || !strings.HasSuffix(target, ".layout") || strings.Contains(target, "..") {
		return "", "", fault.Inputf("layout target %s: want %s/in-toto-metadata/NAME.layout", target, name)
	}
	return name, target, nil
}

// layoutKeyFiles are the key targets (NAME/in-toto-pubkeys/ID.pub) and their
// PEM files, one per distinct key.
func layoutKeyFiles(name string, ks []*keys.PublicKey) ([]string, map[string][]byte, error) {
	keyTargets := make([]string, 0, len(ks))
	keyFiles := map[string][]byte{}
	for _, k := range ks {
		pem, err := k.PEM()
		if err != nil {
			return nil, nil, err
		}
		kt := names.LayoutKeyTarget(name, k.ID())
		if _, dup := keyFiles[kt]; dup {
			continue
		}
		keyTargets = append(keyTargets, kt)
		keyFiles[kt] = pem
	}
	return keyTargets, keyFiles, nil
}

// listLayoutKeys lists the layout keys, in the top-level targets role only.
func listLayoutKeys(tx *metadata.Tx, keyTargets []string, keyFiles map[string][]byte) error {
	for _, kt := range keyTargets {
		if role := tx.RoleFor(kt); role != metadata.RoleTargets {
			return fault.Inputf("%s would be signed by role %s: layout keys must be in the top-level targets role", kt, role)
		}
		if err := tx.AddTarget(kt, metadata.TargetInfo{Content: keyFiles[kt]}); err != nil {
			return err
		}
	}
	return nil
}

// listLayout lists the layout in the top-level targets role, retiring (or
// keeping for some versions) the previous current one, and lets releases
// sign versions of the repository.
func listLayout(tx *metadata.Tx, name, target string, lr LayoutRelease, custom []byte) error {
	if role := tx.RoleFor(target); role != metadata.RoleTargets {
		return fault.Inputf("%s would be signed by role %s: layouts must be in the top-level targets role", target, role)
	}
	if len(lr.Covers) == 0 {
		if err := retirePrevious(tx, name, target, lr.KeepPreviousFor); err != nil {
			return err
		}
	}
	if err := tx.AddTarget(target, metadata.TargetInfo{Content: lr.Layout, Custom: custom}); err != nil {
		return err
	}
	// A version name (NAME:tag) not yet delegated away from targets
	// means releases (or its bins) may not sign NAME yet.
	if tx.HasRole(metadata.RoleReleases) && !tx.Delegates(name+":x") {
		return tx.Delegate(name)
	}
	return nil
}

// checkPatterns refuses malformed version patterns, and --covers together
// with --keep-previous-for (a kept layout does not replace the current one).
func checkPatterns(repo string, lr LayoutRelease) error {
	if len(lr.Covers) > 0 && len(lr.KeepPreviousFor) > 0 {
		return fault.Inputf("a layout published for some versions only does not replace the current layout: keeping the previous one is not needed")
	}
	for _, p := range append(append([]string{}, lr.Covers...), lr.KeepPreviousFor...) {
		if err := names.CheckCoverPattern(repo, p); err != nil {
			return err
		}
	}
	return nil
}

// retirePrevious makes room for a new current layout of repo: each other
// current layout (none covering particular versions) is removed from the
// targets role, or, with keepFor, re-listed as a kept layout covering those
// versions. Kept layouts stay as they are.
func retirePrevious(tx *metadata.Tx, repo, target string, keepFor []string) error {
	listed, err := tx.TopLevelTargets(names.LayoutDir(repo))
	if err != nil {
		return err
	}
	previous := 0
	for _, t := range listed {
		if t.Name == target || !names.IsLayoutTarget(t.Name, repo) {
			continue
		}
		c, err := names.ParseLayoutCustom(t.Custom)
		if err != nil {
			return fault.Inputf("layout target %s: %w", t.Name, err)
		}
		if len(c.Covers()) > 0 {
			continue
		}
		previous++
		if err := retireOrKeep(tx, t, c, keepFor); err != nil {
			return err
		}
	}
	if previous == 0 && len(keepFor) > 0 {
		// Publishing over the current layout's own name replaces its bytes:
		// nothing would be kept for the versions the patterns name.
		return fault.Inputf("%w: %s has no current layout other than %s", ErrNothingToKeep, repo, target)
	}
	return nil
}

// ErrNothingToKeep: keeping the previous layout for some versions was asked
// for, but the repository has no other current layout.
var ErrNothingToKeep = errors.New("no previous layout to keep")

func retireOrKeep(tx *metadata.Tx, t metadata.Target, c names.LayoutCustom, keepFor []string) error {
	if len(keepFor) == 0 {
		return tx.RemoveTarget(t.Name)
	}
	custom, err := json.Marshal(names.NewLayoutCustom(c.InToto, keepFor))
	if err != nil {
		return err
	}
	info := t.TargetInfo
	info.Custom = custom
	return tx.AddTarget(t.Name, info)
}
