package verifier

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/cnabsec/cnabsec/bundle"
	"github.com/cnabsec/cnabsec/bundle/oci"
	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/internal/names"
	"github.com/cnabsec/cnabsec/metadata/client"
)

// workflow is one verification in progress.
type workflow struct {
	v     *Verifier
	req   Request
	r     *Report
	ver   names.Version
	tuf   trustSource // nil when the level uses no TUF
	thick *bundle.Thick

	resolverOnce sync.Once
	resolver     *oci.Resolver // one registry session for every image
}

// Verify runs the CNAB-Sec 303 workflow for req against the current trusted
// state (see the package function Verify for the meaning of the results).
func (v *Verifier) Verify(ctx context.Context, req Request) (*Report, error) {
	r := newReport(req)
	lvl, err := ParseLevel(string(r.RequiredLevel))
	if err != nil {
		return r.finish(err)
	}
	r.RequiredLevel, r.imageOnly = lvl, req.Image
	if err := checkImageRequest(req, lvl); err != nil {
		return r.finish(err)
	}
	if req.AllowInspectionsUnsafe {
		r.Unsafe = append(r.Unsafe, "in-toto inspections run: the layout's inspection commands were executed")
	}
	// The syntax only: a version under a reserved in-toto segment is denied
	// by its target check (lookup), naming the pattern it falls under.
	ver, err := names.ParseVersionSyntax(req.Reference)
	if err != nil {
		return r.finish(err)
	}
	r.Reference = ver.Target
	w := &workflow{v: v, req: req, r: r, ver: ver}
	return r.finish(w.run(ctx))
}

// run returns an error only when the workflow had to stop early; failed
// checks are recorded in the report.
func (w *workflow) run(ctx context.Context) error {
	lvl := w.r.RequiredLevel
	switch {
	case lvl == Level0:
		w.r.skip(CheckTUFRefresh, w.v.cfg.Location, "level 0 uses no TUF metadata")
	case !w.v.HasTrustRoot():
		return fault.WithRemedy(fault.Inputf("level %s needs TUF metadata but no trusted root was given", lvl),
			fault.RemedyTrustRootOrLevel0, "")
	default:
		c, err := w.v.source(ctx)
		if err != nil {
			w.r.fail(CheckTUFRefresh, w.v.cfg.Location, err)
			return nil
		}
		w.tuf = c
		st := w.v.State()
		w.r.pass(CheckTUFRefresh, c.Location(), "root v%d, timestamp v%d, snapshot v%d, targets v%d (reference time %s)",
			st.RootVersion, st.TimestampVersion, st.SnapshotVersion, st.TargetsVersion, c.ReferenceTime().Format("2006-01-02T15:04:05Z"))
	}
	if w.req.Image {
		return w.runImage(ctx)
	}
	return w.runBundle(ctx)
}

// lookup finds a version target. A target no role lists is missing evidence
// (nil, nil); any other failure is returned. A version of a repository with
// a reserved in-toto segment is denied without a lookup: its name falls
// under another repository's link pattern, which delegates link files only,
// so whatever signed it was not delegated an image or bundle.
func (w *workflow) lookup(ctx context.Context, name string) (*client.TargetInfo, error) {
	if w.tuf == nil {
		return nil, nil
	}
	if err := checkVersionName(name); err != nil {
		return nil, err
	}
	ti, err := w.tuf.Target(ctx, name)
	if err != nil {
		if isTargetNotFound(err) {
			return nil, nil
		}
		return nil, err
	}
	return ti, nil
}

// checkVersionName denies a version target name whose repository has a
// reserved path segment (names.CheckRepository).
func checkVersionName(name string) error {
	v, err := names.ParseVersionSyntax(name)
	if err != nil {
		return err
	}
	if err := names.CheckRepository(v.Repository); err != nil {
		return fault.Deniedf("target %q is not a version target: %w", name, err)
	}
	return nil
}

// isTargetNotFound tells "no trusted role lists this target" (missing
// evidence) from every other TUF failure (evidence against, or inconclusive).
func isTargetNotFound(err error) bool {
	return fault.KindOf(err) == fault.Denied && errors.Is(err, client.ErrTargetNotFound)
}

// digests are the hashes of some bytes, as TUF lists them.
type digests struct {
	length int64
	sha256 string
	sha512 string
}

func digestOf(b []byte) digests {
	s256 := sha256.Sum256(b)
	s512 := sha512.Sum512(b)
	return digests{length: int64(len(b)), sha256: hex.EncodeToString(s256[:]), sha512: hex.EncodeToString(s512[:])}
}

// matchTarget compares what was obtained with the trusted target: the length
// and every hash both sides know. A target listing no hash we computed is
// refused: nothing would have been compared.
func matchTarget(ti *client.TargetInfo, d digests) error {
	if ti.Length != d.length {
		return fault.Deniedf("length %d does not match signed target %s (length %d)", d.length, ti.Name, ti.Length)
	}
	compared := 0
	for alg, want := range ti.Hashes {
		var got string
		switch alg {
		case "sha256":
			got = d.sha256
		case "sha512":
			got = d.sha512
		default:
			continue
		}
		if got == "" {
			continue
		}
		compared++
		if !strings.EqualFold(got, want) {
			return fault.Deniedf("digest %s:%s does not match signed target %s (%s:%s)", alg, got, ti.Name, alg, want)
		}
	}
	if compared == 0 {
		return fault.Deniedf("signed target %s lists no sha256 or sha512 hash to compare", ti.Name)
	}
	return nil
}

func readLocal(path string, max int64, what string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fault.Inputf("%s %s: %w", what, path, err)
	}
	defer f.Close()
	b, err := client.ReadLimited(f, what+" "+path, max)
	if err != nil {
		return nil, fault.Wrap(fault.Input, err)
	}
	return b, nil
}

func (w *workflow) registry() oci.Options { return w.v.registryOptions() }

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}
