package signer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/cnabsec/cnabsec/bundle/oci"
	"github.com/cnabsec/cnabsec/internal/fault"
)

// ErrRegistryMismatch: the bundle.json being signed is not what the registry
// holds under the version's reference. A verifier pulls the registry's bytes,
// whose digest the signature does not cover, so such a version never
// verifies (cnab-to-oci, for one, re-encodes bundle.json when it pushes and
// drops members such as "images": null).
var ErrRegistryMismatch = errors.New("the signed file differs from the bundle the registry holds")

// maxNamedDifferences bounds the differing members an error lists.
const maxNamedDifferences = 8

// Registry check outcomes reported in Signed.Registry.
const (
	RegistrySame       = "same bytes"
	RegistryNotChecked = "not checked"
	RegistryAllowed    = "differs (allowed)"
)

// checkRegistryCopy compares the thin bundle being signed with the bundle
// the registry holds under its reference. A registry that cannot be reached
// or has no such tag yet leaves it unchecked (noted in the result); a
// difference is an Input error naming the differing members, unless
// allowMismatch.
func (p *prepared) checkRegistryCopy(ctx context.Context, opts Options) error {
	held, _, err := oci.PullBundle(ctx, p.ver.Ref, opts.Registry)
	switch {
	case err == nil:
	case errors.Is(err, oci.ErrTagNotFound) || fault.KindOf(err) == fault.Inconclusive:
		p.registry = RegistryNotChecked + ": " + err.Error()
		return nil
	default:
		return err
	}
	if bytes.Equal(held, p.raw) {
		p.registry = RegistrySame
		return nil
	}
	if opts.AllowRegistryMismatch {
		p.registry = RegistryAllowed + ": " + strings.Join(jsonDifferences(p.raw, held), ", ")
		return nil
	}
	return fault.Inputf("bundle %s: %w at %s: %s", p.item.File, ErrRegistryMismatch, p.ver.Target,
		strings.Join(jsonDifferences(p.raw, held), ", "))
}

// jsonDifferences names where the JSON values file and held differ, as
// member paths ("images" only in the file, "invocationImages[0].size"
// differs), at most maxNamedDifferences of them.
func jsonDifferences(file, held []byte) []string {
	var a, b any
	if err := decodeNumbers(file, &a); err != nil {
		return []string{"the file is not JSON"}
	}
	if err := decodeNumbers(held, &b); err != nil {
		return []string{"the registry's copy is not JSON"}
	}
	d := &differ{}
	d.walk("", a, b)
	if len(d.out) == 0 {
		return []string{"same members, encoded differently"}
	}
	if d.more > 0 {
		d.out = append(d.out, fmt.Sprintf("and %d more", d.more))
	}
	return d.out
}

func decodeNumbers(raw []byte, v *any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	return dec.Decode(v)
}

// differ collects the paths where two decoded JSON values differ.
type differ struct {
	out  []string
	more int
}

func (d *differ) add(path, what string) {
	if len(d.out) >= maxNamedDifferences {
		d.more++
		return
	}
	d.out = append(d.out, fmt.Sprintf("%q %s", path, what))
}

func (d *differ) walk(path string, a, b any) {
	switch av := a.(type) {
	case map[string]any:
		if bv, ok := b.(map[string]any); ok {
			d.objects(path, av, bv)
			return
		}
	case []any:
		if bv, ok := b.([]any); ok && len(av) == len(bv) {
			for i := range av {
				d.walk(fmt.Sprintf("%s[%d]", path, i), av[i], bv[i])
			}
			return
		}
	default:
		if a == b {
			return
		}
	}
	d.add(rootName(path), "differs")
}

func (d *differ) objects(path string, a, b map[string]any) {
	keys := make([]string, 0, len(a)+len(b))
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		av, inA := a[k]
		bv, inB := b[k]
		child := k
		if path != "" {
			child = path + "." + k
		}
		switch {
		case !inB:
			d.add(child, "only in the file")
		case !inA:
			d.add(child, "only in the registry")
		default:
			d.walk(child, av, bv)
		}
	}
}

func rootName(path string) string {
	if path == "" {
		return "(the whole document)"
	}
	return path
}
