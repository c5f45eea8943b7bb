package verifier

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/internal/names"
	"github.com/cnabsec/cnabsec/keys"
	"github.com/cnabsec/cnabsec/layouts"
	"github.com/cnabsec/cnabsec/metadata/client"
)

// topLevelTargets is the only role the layout and its keys may come from.
const topLevelTargets = "targets"

// sink receives checks: the report, or one image's result.
type sink interface {
	add(status Status, name, subject, format string, args ...any)
	fail(name, subject string, err error)
	addProvenance(Provenance)
	addLayout(LayoutRead)
}

// provenanceRun verifies the in-toto metadata a version target lists.
type provenanceRun struct {
	w    *workflow
	sink sink
}

// verify returns ok when the provenance verified and binds to the artifact,
// and present when the version lists any in-toto metadata at all. Present
// metadata that does not verify is evidence against: it fails, whatever
// the required level.
func (p *provenanceRun) verify(ctx context.Context, check, subject string, version *client.TargetInfo, artifactSHA256, artifactName string, data []byte) (ok, present bool) {
	custom, err := names.ParseCustom(version.Custom)
	if err != nil {
		p.sink.fail(check, subject, fault.Deniedf("signed target %s: %w", version.Name, err))
		return false, true
	}
	if len(custom.InToto) == 0 {
		return false, false
	}
	a := artifact{subject: subject, version: version.Name, sha256: artifactSHA256, name: artifactName, data: data}
	if err := p.run(ctx, check, a, custom.InToto); err != nil {
		var at *atSubject
		if errors.As(err, &at) {
			p.sink.fail(check, at.subject, at.err)
		} else if !errors.Is(err, errReported) {
			p.sink.fail(check, subject, err)
		}
		return false, true
	}
	return true, true
}

// artifact is what the provenance must vouch for.
type artifact struct {
	subject, version, sha256, name string
	data                           []byte
}

// atSubject is a failure reported under another subject than the artifact
// (the layout or a key it names).
type atSubject struct {
	subject string
	err     error
}

func (e *atSubject) Error() string { return e.err.Error() }
func (e *atSubject) Unwrap() error { return e.err }

// errReported: the failure is already in the report (in-toto's own checks).
var errReported = errors.New("reported")

// run is the provenance workflow: split the listed metadata into the layout
// and the links, check the layout is the one the targets role says governs
// the version, read it and its keys from that role, read the links within
// the limits, and verify with in-toto.
func (p *provenanceRun) run(ctx context.Context, check string, a artifact, listed []string) error {
	repo, err := repositoryOf(a.version)
	if err != nil {
		return err
	}
	layoutName, linkNames, err := p.split(check, a, repo, listed)
	if err != nil {
		return err
	}
	if err := p.checkLayoutChoice(ctx, repo, a.version, layoutName); err != nil {
		return err
	}
	lim := p.w.v.cfg.Provenance.withDefaults()
	layoutBytes, layoutKeys, err := p.layoutAndKeys(ctx, repo, layoutName, lim)
	if err != nil {
		return err
	}
	if p.w.req.KeepLayouts {
		p.sink.addLayout(LayoutRead{Subject: a.subject, Name: layoutName, Layout: layoutBytes})
	}
	links, release, err := p.downloadLinks(ctx, a.version, layoutBytes, linkNames)
	if err != nil {
		return err
	}
	defer release()
	res, err := layouts.Verify(ctx, layouts.VerifyInput{
		Layout:           layoutBytes,
		LayoutName:       layoutName,
		LayoutKeys:       layoutKeys,
		Links:            links,
		Artifact:         layouts.ArtifactBinding{Name: a.name, SHA256: a.sha256, Data: a.data},
		Now:              p.w.tuf.ReferenceTime(),
		AllowInspections: p.w.req.AllowInspectionsUnsafe,
		CIKeyIDs:         p.ciKeyIDs(ctx),
		MaxJSONValues:    lim.MaxValues,
	})
	if err := p.report(a.subject, res, err); err != nil {
		return err
	}
	p.sink.addProvenance(Provenance{Subject: a.subject, Layout: layoutName, LayoutKeys: keyIDs(layoutKeys), Steps: res.Functionaries})
	p.sink.add(Pass, check, a.subject, "layout %s (%s) and %s verify and bind to sha256:%s",
		layoutName, plural(len(layoutKeys), "key", "keys"), plural(len(links), "link", "links"), shortHex(a.sha256))
	return nil
}

// split finds the layout (the one listed entry that is not one of this
// version's links) and the links under the artifact's digest directory;
// anything else listed is reported as ignored.
func (p *provenanceRun) split(check string, a artifact, repo string, listed []string) (string, []string, error) {
	var layoutName string
	var linkNames []string
	for _, e := range listed {
		switch {
		case names.IsLinkTargetFor(e, repo, a.sha256):
			linkNames = append(linkNames, e)
		case strings.HasSuffix(e, ".layout") && strings.HasPrefix(e, repo+"/in-toto-metadata/"):
			if layoutName != "" && layoutName != e {
				return "", nil, fault.Deniedf("signed target %s lists two layouts (%s, %s)", a.version, layoutName, e)
			}
			layoutName = e
		default:
			p.sink.add(Skip, check, a.subject, "ignored %s: not a layout of %s nor a link under this artifact's digest (sha256:%s)", e, repo, shortHex(a.sha256))
		}
	}
	if layoutName == "" {
		return "", nil, fault.Deniedf("signed target %s lists in-toto metadata but no root layout under %s/in-toto-metadata/", a.version, repo)
	}
	return layoutName, linkNames, nil
}

// layoutAndKeys reads the layout and the public keys it lists, both from
// the offline top-level targets role only.
func (p *provenanceRun) layoutAndKeys(ctx context.Context, repo, layoutName string, lim ProvenanceLimits) ([]byte, []*keys.PublicKey, error) {
	layoutBytes, layoutInfo, err := p.fromTargetsRole(ctx, layoutName, min(layouts.MaxMetadataSize, lim.MaxBytes))
	if err != nil {
		return nil, nil, &atSubject{layoutName, err}
	}
	layoutCustom, err := names.ParseCustom(layoutInfo.Custom)
	if err != nil || len(layoutCustom.InToto) == 0 {
		return nil, nil, &atSubject{layoutName, fault.Deniedf("layout target %s lists no layout keys in custom.in-toto", layoutName)}
	}
	var layoutKeys []*keys.PublicKey
	for _, kn := range layoutCustom.InToto {
		k, err := p.layoutKey(ctx, repo, layoutName, kn)
		if err != nil {
			return nil, nil, err
		}
		layoutKeys = append(layoutKeys, k)
	}
	return layoutBytes, layoutKeys, nil
}

func (p *provenanceRun) layoutKey(ctx context.Context, repo, layoutName, kn string) (*keys.PublicKey, error) {
	if !strings.HasPrefix(kn, repo+"/in-toto-pubkeys/") {
		return nil, &atSubject{layoutName, fault.Deniedf("layout key %s is not under %s/in-toto-pubkeys/", kn, repo)}
	}
	kb, _, err := p.fromTargetsRole(ctx, kn, 64<<10)
	if err != nil {
		return nil, &atSubject{kn, err}
	}
	k, err := keys.ParsePublic(kb)
	if err != nil {
		return nil, &atSubject{kn, fault.Deniedf("layout key %s: %w", kn, err)}
	}
	return k, nil
}

// report adds in-toto's checks to the report under the artifact; it returns
// errReported when one of them failed, or the reason verification failed.
func (p *provenanceRun) report(subject string, res *layouts.Result, verr error) error {
	subFailed := false
	if res != nil {
		for _, ch := range res.Checks {
			sub := subject + ": " + ch.Subject
			if ch.Status == layouts.Fail {
				p.sink.fail(ch.Name, sub, fault.Deniedf("%s", ch.Detail))
				subFailed = true
				continue
			}
			p.sink.add(Status(ch.Status), ch.Name, sub, "%s", ch.Detail)
		}
	}
	switch {
	case verr != nil:
		return fault.Wrap(fault.Denied, verr)
	case subFailed:
		return errReported
	case res == nil || !res.Verified:
		detail := "in-toto verification failed"
		if res != nil {
			if f := res.FirstFailure(); f != nil {
				detail = fmt.Sprintf("%s: %s: %s", f.Name, f.Subject, f.Detail)
			}
		}
		return fault.Deniedf("%s", detail)
	}
	return nil
}

// fromTargetsRole downloads a target that only the offline top-level targets
// role may sign (the root layout and its keys, CNAB-Sec 301).
func (p *provenanceRun) fromTargetsRole(ctx context.Context, name string, max int64) ([]byte, *client.TargetInfo, error) {
	b, ti, err := p.w.tuf.Download(ctx, name, max)
	if err != nil {
		return nil, nil, err
	}
	if ti.Role != topLevelTargets {
		return nil, nil, fault.Deniedf("%s is signed by role %s, not the top-level targets role: layouts and layout keys must come from the offline targets key", name, ti.Role)
	}
	return b, ti, nil
}

func repositoryOf(target string) (string, error) {
	v, err := names.ParseVersion(target)
	if err != nil {
		return "", err
	}
	return v.Repository, nil
}

func shortHex(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

// ciKeyIDs are the keys of the releases (CI) delegation, for the layout's
// party warnings; none when the repository has no such role or it cannot
// be read (the warnings are advice, never a verdict).
func (p *provenanceRun) ciKeyIDs(ctx context.Context) []string {
	ids, err := p.w.tuf.DelegationKeyIDs(ctx, "releases")
	if err != nil {
		return nil
	}
	return ids
}

func keyIDs(ks []*keys.PublicKey) []string {
	out := make([]string, 0, len(ks))
	for _, k := range ks {
		out = append(out, k.ID())
	}
	return out
}
