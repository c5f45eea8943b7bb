// Package names holds the CNAB-Sec 301 naming rules shared by the signer and
// the verifier: TUF target names for bundle and image versions, the in-toto
// root layout, its public keys and link files, and the custom metadata a
// version target carries.
package names

import (
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"regexp"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/cnabsec/cnabsec/internal/fault"
)

// Version is a parsed bundle or image reference in its TUF target form.
type Version struct {
	// Target is the TUF target name: REGISTRY/REPO:TAG or REGISTRY/REPO@sha256:HEX.
	Target string
	// Repository is REGISTRY/REPO, the NAME of CNAB-Sec 301.
	Repository string
	// Ref is the parsed reference.
	Ref name.Reference
}

// ParseVersion normalizes a reference with go-containerregistry's name package
// (Docker Hub short names become index.docker.io/...). A reference without a
// tag or digest is refused: a version target must name one version. So is a
// repository with a reserved path segment (see CheckRepository): its version
// targets would fall under the in-toto link pattern of another repository.
func ParseVersion(ref string) (Version, error) {
	v, err := ParseVersionSyntax(ref)
	if err != nil {
		return Version{}, err
	}
	if err := CheckRepository(v.Repository); err != nil {
		return Version{}, fault.Inputf("reference %q: %w", ref, err)
	}
	return v, nil
}

// ParseVersionSyntax is ParseVersion without the reserved-segment rule: for
// code that must name a target no publisher may make (the verifier's denial
// of it, a revocation removing it).
func ParseVersionSyntax(ref string) (Version, error) {
	if ref == "" || strings.TrimSpace(ref) != ref {
		return Version{}, fault.Inputf("reference %q: empty or surrounded by spaces", ref)
	}
	if !strings.Contains(lastSegment(ref), ":") && !strings.Contains(ref, "@") {
		return Version{}, fault.Inputf("reference %q names no version: add :TAG or @sha256:DIGEST", ref)
	}
	r, err := ParseReference(ref)
	if err != nil {
		return Version{}, fault.Inputf("reference %q: %w", ref, err)
	}
	return Version{Target: r.Name(), Repository: r.Context().Name(), Ref: r}, nil
}

// Reserved path segments: the in-toto files of a repository NAME live under
// NAME/in-toto-metadata/ (its root layout and, delegated to the releases
// role as NAME/in-toto-metadata/*/*.link, its link files) and
// NAME/in-toto-pubkeys/ (its layout keys).
const (
	InTotoMetadataSegment = "in-toto-metadata"
	InTotoPubkeysSegment  = "in-toto-pubkeys"
)

// ErrReservedSegment is wrapped by the error of a repository name with a
// reserved path segment.
var ErrReservedSegment = errors.New("reserved path segment")

// CheckRepository refuses a repository name (REGISTRY/REPO) with a path
// segment in-toto-metadata or in-toto-pubkeys. Without this rule the image
// NAME/in-toto-metadata/x/y:1.link would be a target name matching the
// link pattern NAME/in-toto-metadata/*/*.link, so a key delegated only
// NAME's links could sign it. The error wraps ErrReservedSegment and names
// the pattern the name falls under.
func CheckRepository(repo string) error {
	segs := strings.Split(repo, "/")
	for i, seg := range segs {
		if seg != InTotoMetadataSegment && seg != InTotoPubkeysSegment {
			continue
		}
		owner := strings.Join(segs[:i], "/")
		return fmt.Errorf("repository %s: %w %q holds the in-toto files of %s (%s), never an image or bundle",
			repo, ErrReservedSegment, seg, owner, reservedPattern(owner, seg))
	}
	return nil
}

// reservedPattern is what a reserved segment of owner holds, as a pattern.
func reservedPattern(owner, seg string) string {
	if seg == InTotoPubkeysSegment {
		return "layout keys " + owner + "/" + InTotoPubkeysSegment + "/*.pub"
	}
	return "link pattern " + LinkPattern(owner)
}

func lastSegment(ref string) string {
	if i := strings.LastIndexByte(ref, '/'); i >= 0 {
		return ref[i+1:]
	}
	return ref
}

// ParseRepository normalizes a REGISTRY/REPO name (no tag, no digest); the last
// segment may be the glob "*".
func ParseRepository(repo string) (string, error) {
	if strings.HasSuffix(repo, "/*") {
		base, err := ParseRepository(strings.TrimSuffix(repo, "/*"))
		if err != nil {
			return "", err
		}
		return base + "/*", nil
	}
	if strings.ContainsAny(repo, "@") || strings.Contains(lastSegment(repo), ":") {
		return "", fault.Inputf("repository name %q must not carry a tag or digest", repo)
	}
	r, err := name.NewRepository(repo)
	if err != nil {
		return "", fault.Inputf("repository name %q: %w", repo, err)
	}
	if err := CheckRepository(r.Name()); err != nil {
		return "", fault.Wrap(fault.Input, err)
	}
	return r.Name(), nil
}

// DelegationPaths are the TUF paths a `releases` delegation gets for a repository
// name: its tagged and digest versions and their link files. TUF clients
// (go-tuf, python-tuf, tuf-js) match a pattern segment by segment, '*' never
// crossing a '/'. The link pattern also matches a version target
// NAME/in-toto-metadata/X/Y:T.link; such a version is refused by
// ParseVersion (the reserved segment), so nothing here treats it as one.
func DelegationPaths(repo string) []string {
	return []string{repo + ":*", repo + "@*", LinkPattern(repo)}
}

// LinkPattern is the delegation path of a repository's link files.
func LinkPattern(repo string) string {
	return repo + "/" + InTotoMetadataSegment + "/*/*.link"
}

// LayoutTarget is the default target name of the root layout for a repository.
func LayoutTarget(repo string) string { return repo + "/in-toto-metadata/root.layout" }

// LayoutKeyTarget is the target name of a layout public key.
func LayoutKeyTarget(repo, keyID string) string {
	return repo + "/in-toto-pubkeys/" + keyID + ".pub"
}

var (
	hex64    = regexp.MustCompile(`^[0-9a-f]{64}$`)
	linkName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*\.[0-9a-f]{8}\.link$`)
)

// LinkTarget is the target name of a link file for the artifact with the given
// sha256 (hex): NAME/in-toto-metadata/<sha256>/<step>.<keyid[:8]>.link.
func LinkTarget(repo, artifactSHA256, linkFile string) (string, error) {
	if !hex64.MatchString(artifactSHA256) {
		return "", fault.Inputf("artifact digest %q is not 64 lowercase hex characters", artifactSHA256)
	}
	if !linkName.MatchString(linkFile) {
		return "", fault.Inputf("link file name %q is not STEP.KEYID8.link", linkFile)
	}
	return repo + "/in-toto-metadata/" + artifactSHA256 + "/" + linkFile, nil
}

// IsLinkTargetFor reports whether target is a link file of the artifact digest
// under the repository, the only place a version's links may come from.
func IsLinkTargetFor(target, repo, artifactSHA256 string) bool {
	dir, file := path.Split(target)
	return dir == repo+"/in-toto-metadata/"+artifactSHA256+"/" && linkName.MatchString(file)
}

// Custom is the custom metadata of a version target.
type Custom struct {
	// InToto lists the root layout target followed by the link targets
	// (CNAB-Sec 301). Layout keys are listed by the layout target itself.
	InToto []string `json:"in-toto,omitempty"`
	// CNABSec records how the target was made.
	CNABSec *CNABSecCustom `json:"cnabsec,omitempty"`
}

// CNABSecCustom is cnabsec's own part of a version target's custom metadata.
type CNABSecCustom struct {
	Kind      string `json:"kind"`                // "bundle" or "image"
	Thick     bool   `json:"thick,omitempty"`     // a thick bundle archive
	MediaType string `json:"mediaType,omitempty"` // the image manifest media type
}

// Artifact kinds.
const (
	KindBundle = "bundle"
	KindImage  = "image"
)

// ParseCustom decodes a target's custom metadata; absent custom is empty.
func ParseCustom(raw []byte) (Custom, error) {
	var c Custom
	if len(raw) == 0 || string(raw) == "null" {
		return c, nil
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return c, fmt.Errorf("custom metadata: %w", err)
	}
	return c, nil
}

// ParseReference is name.ParseReference with a reason a person can act on
// when s does not parse: go-containerregistry says only "could not parse
// reference", so the reason is that of the form s was meant to have (a
// digest reference when it holds '@', a tag reference otherwise), e.g.
// "repository can only contain the characters ...: A/b".
func ParseReference(s string, opts ...name.Option) (name.Reference, error) {
	r, err := name.ParseReference(s, opts...)
	if err == nil {
		return r, nil
	}
	if strings.Contains(s, "@") {
		_, err = name.NewDigest(s, opts...)
	} else {
		_, err = name.NewTag(s, opts...)
	}
	if err == nil { // cannot happen: ParseReference tries both
		err = errors.New("not a reference")
	}
	return nil, err
}
