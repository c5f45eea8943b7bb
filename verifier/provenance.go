package verifier

import (
	"context"
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
	repo, err := repositoryOf(version.Name)
	if err != nil {
		p.sink.fail(check, subject, err)
		return false, true
	}
	c := p.w.tuf

	// The layout: the one listed entry that is not one of this version's links.
	var layoutName string
	var linkNames []string
	for _, e := range custom.InToto {
		switch {
		case names.IsLinkTargetFor(e, repo, artifactSHA256):
			linkNames = append(linkNames, e)
		case strings.HasSuffix(e, ".layout") && strings.HasPrefix(e, repo+"/in-toto-metadata/"):
			if layoutName != "" && layoutName != e {
				p.sink.fail(check, subject, fault.Deniedf("signed target %s lists two layouts (%s, %s)", version.Name, layoutName, e))
				return false, true
			}
			layoutName = e
		default:
			p.sink.add(Skip, check, subject, "ignored %s: not a layout of %s nor a link under this artifact's digest (sha256:%s)", e, repo, shortHex(artifactSHA256))
		}
	}
	if layoutName == "" {
		p.sink.fail(check, subject, fault.Deniedf("signed target %s lists in-toto metadata but no root layout under %s/in-toto-metadata/", version.Name, repo))
		return false, true
	}

	if err := p.checkLayoutChoice(ctx, repo, version.Name, layoutName); err != nil {
		p.sink.fail(check, subject, err)
		return false, true
	}
	lim := p.w.v.cfg.Provenance.withDefaults()
	layoutBytes, layoutInfo, err := p.fromTargetsRole(ctx, layoutName, min(layouts.MaxMetadataSize, lim.MaxBytes))
	if err != nil {
		p.sink.fail(check, layoutName, err)
		return false, true
	}
	layoutCustom, err := names.ParseCustom(layoutInfo.Custom)
	if err != nil || len(layoutCustom.InToto) == 0 {
		p.sink.fail(check, layoutName, fault.Deniedf("layout target %s lists no layout keys in custom.in-toto", layoutName))
		return false, true
	}
	var layoutKeys []*keys.PublicKey
	for _, kn := range layoutCustom.InToto {
		if !strings.HasPrefix(kn, repo+"/in-toto-pubkeys/") {
			p.sink.fail(check, layoutName, fault.Deniedf("layout key %s is not under %s/in-toto-pubkeys/", kn, repo))
			return false, true
		}
		kb, _, err := p.fromTargetsRole(ctx, kn, 64<<10)
		if err != nil {
			p.sink.fail(check, kn, err)
			return false, true
		}
		k, err := keys.ParsePublic(kb)
		if err != nil {
			p.sink.fail(check, kn, fault.Deniedf("layout key %s: %w", kn, err))
			return false, true
		}
		layoutKeys = append(layoutKeys, k)
	}

	links, err := p.downloadLinks(ctx, version.Name, linkNames, lim.MaxBytes-int64(len(layoutBytes)))
	if err != nil {
		p.sink.fail(check, subject, err)
		return false, true
	}

	res, err := layouts.Verify(ctx, layouts.VerifyInput{
		Layout:           layoutBytes,
		LayoutName:       layoutName,
		LayoutKeys:       layoutKeys,
		Links:            links,
		Artifact:         layouts.ArtifactBinding{Name: artifactName, SHA256: artifactSHA256, Data: data},
		Now:              c.ReferenceTime(),
		AllowInspections: p.w.req.AllowInspectionsUnsafe,
		CIKeyIDs:         p.ciKeyIDs(ctx),
	})
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
	if err != nil {
		p.sink.fail(check, subject, fault.Wrap(fault.Denied, err))
		return false, true
	}
	if subFailed {
		return false, true
	}
	if res == nil || !res.Verified {
		detail := "in-toto verification failed"
		if res != nil {
			if f := res.FirstFailure(); f != nil {
				detail = fmt.Sprintf("%s: %s: %s", f.Name, f.Subject, f.Detail)
			}
		}
		p.sink.fail(check, subject, fault.Deniedf("%s", detail))
		return false, true
	}
	p.sink.addProvenance(Provenance{Subject: subject, Layout: layoutName, LayoutKeys: keyIDs(layoutKeys), Steps: res.Functionaries})
	p.sink.add(Pass, check, subject, "layout %s (%s) and %s verify and bind to sha256:%s",
		layoutName, plural(len(layoutKeys), "key", "keys"), plural(len(links), "link", "links"), shortHex(artifactSHA256))
	return true, true
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
