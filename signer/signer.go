package signer

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"os"

	"github.com/cnabsec/cnabsec/bundle"
	"github.com/cnabsec/cnabsec/bundle/oci"
	"github.com/cnabsec/cnabsec/internal/capped"
	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/internal/names"
	"github.com/cnabsec/cnabsec/keys"
	"github.com/cnabsec/cnabsec/metadata"
)

// Item is one version to sign.
type Item struct {
	// Kind is names.KindBundle or names.KindImage.
	Kind string `json:"kind" yaml:"kind"`
	// Ref is the version's reference: its TUF target name once normalized.
	Ref string `json:"ref" yaml:"ref"`
	// File is bundle.json, or the thick archive with Thick. Images have none:
	// their manifest is read from the registry.
	File  string `json:"file,omitempty" yaml:"file,omitempty"`
	Thick bool   `json:"thick,omitempty" yaml:"thick,omitempty"`
	// Links is a directory of in-toto link files (STEP.KEYID8.link) for this version.
	Links string `json:"links,omitempty" yaml:"links,omitempty"`
	// Push also pushes a thin bundle to Ref in the CNAB-in-OCI format.
	Push bool `json:"push,omitempty" yaml:"push,omitempty"`
	// Layout names the root layout target the links are checked against
	// (default NAME/in-toto-metadata/root.layout).
	Layout string `json:"layout,omitempty" yaml:"layout,omitempty"`
}

// Options are the keys and settings of a signing transaction.
type Options struct {
	// Key signs the versions: the releases key (CI) when the repository
	// delegates the names to it, else a targets key.
	Keys []keys.Signer
	// Snapshot and Timestamp publish the change; without them it is staged.
	Snapshot, Timestamp keys.Signer
	// Registry says how to reach registries (images, --push).
	Registry oci.Options
	// CompareWithRegistry compares each thin bundle.json signed without Push
	// with the bundle the registry holds under its reference (see
	// ErrRegistryMismatch); the registry is contacted only when it is set.
	CompareWithRegistry bool
	// AllowRegistryMismatch signs a thin bundle.json even when the registry
	// holds other bytes under its reference (which verifiers then refuse).
	AllowRegistryMismatch bool
}

// Signed is what one item became.
type Signed struct {
	Target string   `json:"target"`
	Role   string   `json:"role"`
	Length int64    `json:"length"`
	SHA256 string   `json:"sha256"`
	Links  []string `json:"links,omitempty"`
	Pushed string   `json:"pushed,omitempty"` // the index digest of a pushed thin bundle
	// Registry is how the signed thin bundle.json compares with the bundle
	// the registry holds under its reference (RegistrySame, RegistryNotChecked
	// or RegistryAllowed, with the reason or the differences); empty when not
	// compared (pushed, thick, images).
	Registry string `json:"registry,omitempty"`
}

// Result reports a signing transaction.
type Result struct {
	Signed []Signed `json:"signed"`
	*metadata.Result
}

// prepared is an item read, checked and hashed, ready to be listed.
type prepared struct {
	item   Item
	ver    names.Version
	info   metadata.TargetInfo
	custom names.Custom
	links  map[string][]byte // link target name → bytes
	raw    []byte            // thin bundle bytes (for --push)
	// registry is the outcome of the comparison with the registry's copy.
	registry string
}

// Sign signs every item into the repository in one transaction: one lock,
// each touched role re-signed once, one snapshot, one timestamp. Nothing is
// written unless every item is valid.
func Sign(ctx context.Context, repo *metadata.Repository, opts Options, items ...Item) (*Result, error) {
	if len(items) == 0 {
		return nil, fault.Inputf("nothing to sign")
	}
	seen := map[string]bool{}
	preps := make([]*prepared, 0, len(items))
	for _, it := range items {
		p, err := prepare(ctx, it, opts)
		if err != nil {
			return nil, err
		}
		if seen[p.ver.Target] {
			return nil, fault.Inputf("%s is listed twice", p.ver.Target)
		}
		seen[p.ver.Target] = true
		preps = append(preps, p)
	}
	res := &Result{}
	for _, p := range preps {
		if p.item.Push {
			desc, err := oci.PushBundle(ctx, p.raw, p.ver.Ref, opts.Registry)
			if err != nil {
				return nil, err
			}
			res.Signed = append(res.Signed, Signed{Pushed: desc.Digest})
		} else {
			res.Signed = append(res.Signed, Signed{Registry: p.registry})
		}
	}
	mres, err := repo.Update(ctx, metadata.UpdateOptions{Signers: opts.Keys, Snapshot: opts.Snapshot, Timestamp: opts.Timestamp}, func(tx *metadata.Tx) error {
		for i, p := range preps {
			if err := p.list(tx); err != nil {
				return err
			}
			s := &res.Signed[i]
			s.Target, s.Role, s.Length, s.SHA256 = p.ver.Target, tx.RoleFor(p.ver.Target), p.info.Length, p.info.Hashes["sha256"]
			for ln := range p.links {
				s.Links = append(s.Links, ln)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	res.Result = mres
	return res, nil
}

// list adds the item's link files and version target in the transaction.
func (p *prepared) list(tx *metadata.Tx) error {
	if len(p.links) > 0 {
		layout, err := governingLayout(tx, p.ver, p.item.Layout)
		if err != nil {
			return err
		}
		p.custom.InToto = append([]string{layout}, p.custom.InToto...)
		for name, b := range p.links {
			if err := tx.AddTarget(name, metadata.TargetInfo{Content: b}); err != nil {
				return err
			}
		}
	}
	custom, err := json.Marshal(p.custom)
	if err != nil {
		return err
	}
	p.info.Custom = custom
	return tx.AddTarget(p.ver.Target, p.info)
}

func prepare(ctx context.Context, it Item, opts Options) (*prepared, error) {
	ver, err := names.ParseVersion(it.Ref)
	if err != nil {
		return nil, err
	}
	p := &prepared{item: it, ver: ver, custom: names.Custom{CNABSec: &names.CNABSecCustom{Kind: it.Kind}}}
	var artifactSHA string
	switch it.Kind {
	case names.KindBundle, "":
		artifactSHA, err = p.prepareBundle(ctx, opts)
	case names.KindImage:
		if it.Thick || it.Push || it.File != "" {
			return nil, fault.Inputf("%s: an image takes no file, thick archive or push: its manifest is read from the registry", it.Ref)
		}
		artifactSHA, err = p.prepareImage(ctx, opts)
	default:
		return nil, fault.Inputf("%s: kind %q (want bundle or image)", it.Ref, it.Kind)
	}
	if err != nil {
		return nil, err
	}
	if it.Links != "" {
		if err := p.readLinks(it.Links, artifactSHA); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// prepareBundle reads a thin bundle.json (compared with the registry's copy
// unless it is pushed) or a thick archive.
func (p *prepared) prepareBundle(ctx context.Context, opts Options) (string, error) {
	it := p.item
	p.custom.CNABSec.Kind = names.KindBundle
	if it.File == "" {
		return "", fault.Inputf("%s: no bundle file given", it.Ref)
	}
	if it.Thick {
		if it.Push {
			return "", fault.Inputf("%s: a push takes a thin bundle.json, not a thick archive", it.Ref)
		}
		return p.prepareThick(it.File)
	}
	sha, err := p.prepareThin(it.File)
	if err != nil || it.Push || !opts.CompareWithRegistry {
		return sha, err
	}
	return sha, p.checkRegistryCopy(ctx, opts)
}

func (p *prepared) prepareThin(path string) (string, error) {
	raw, err := capped.ReadFile(path, bundle.MaxBundleSize)
	if err != nil {
		return "", err
	}
	if err := bundle.CheckCanonical(raw); err != nil {
		return "", fault.WithRemedy(fault.Inputf("bundle %s: %w", path, err),
			fault.RemedyCanonicalize, path)
	}
	b, err := bundle.Parse(raw)
	if err != nil {
		return "", fault.Inputf("bundle %s: %w", path, err)
	}
	if err := b.Validate(); err != nil {
		return "", fault.Inputf("bundle %s: %w", path, err)
	}
	p.raw = raw
	p.info = infoOf(raw)
	return p.info.Hashes["sha256"], nil
}

func (p *prepared) prepareThick(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fault.Inputf("thick bundle %s: %w", path, err)
	}
	defer f.Close()
	th, err := bundle.ReadThick(f, bundle.ThickOptions{})
	if err != nil {
		return "", fault.Inputf("thick bundle %s: %w", path, err)
	}
	if err := th.Bundle.Validate(); err != nil {
		return "", fault.Inputf("thick bundle %s: %w", path, err)
	}
	sha := th.Digest[len("sha256:"):]
	p.info = metadata.TargetInfo{Length: th.Size, Hashes: map[string]string{"sha256": sha}}
	p.custom.CNABSec.Thick = true
	return sha, nil
}

func (p *prepared) prepareImage(ctx context.Context, opts Options) (string, error) {
	ref, err := oci.ParseRef(p.ver.Target, opts.Registry)
	if err != nil {
		return "", err
	}
	desc, err := oci.ResolveImage(ctx, ref, opts.Registry)
	if err != nil {
		return "", err
	}
	p.info = infoOf(desc.RawManifest)
	p.custom.CNABSec.MediaType = desc.MediaType
	return p.info.Hashes["sha256"], nil
}

func infoOf(b []byte) metadata.TargetInfo {
	s256 := sha256.Sum256(b)
	s512 := sha512.Sum512(b)
	return metadata.TargetInfo{Length: int64(len(b)), Hashes: map[string]string{
		"sha256": hex.EncodeToString(s256[:]),
		"sha512": hex.EncodeToString(s512[:]),
	}}
}

// governingLayout is the root layout the top-level targets role says governs
// the version; a layout named by the signer must be that one (the verifier
// denies any other).
func governingLayout(tx *metadata.Tx, ver names.Version, named string) (string, error) {
	listed, err := tx.TopLevelTargets(names.LayoutDir(ver.Repository))
	if err != nil {
		return "", err
	}
	var entries []names.LayoutEntry
	for _, t := range listed {
		if !names.IsLayoutTarget(t.Name, ver.Repository) {
			continue
		}
		c, err := names.ParseLayoutCustom(t.Custom)
		if err != nil {
			return "", fault.Inputf("layout target %s: %w", t.Name, err)
		}
		entries = append(entries, names.LayoutEntry{Name: t.Name, Covers: c.Covers()})
	}
	if len(entries) == 0 {
		return "", fault.WithRemedy(fault.Inputf("%s: no root layout is published by the top-level targets role", ver.Target),
			fault.RemedyPublishLayout, ver.Target)
	}
	gov, err := names.GoverningLayout(ver.Target, entries)
	if err != nil {
		return "", fault.Inputf("%s: %w", ver.Target, err)
	}
	if named != "" && named != gov {
		return "", fault.Inputf("%s: %w", ver.Target, names.CheckNamedLayout(ver.Target, named, entries))
	}
	return gov, nil
}
