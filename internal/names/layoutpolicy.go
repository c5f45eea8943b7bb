package names

import (
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/cnabsec/cnabsec/internal/fault"
)

// Which root layout governs which versions of a repository is decided by the
// offline top-level targets role alone (CNAB-Sec 301 puts layouts there):
//
//   - a layout target of NAME with no "covers" is NAME's current layout; there
//     is exactly one, and publishing another retires it;
//   - an older layout kept for older versions lists, in its own custom
//     metadata (signed by the targets keys), the version patterns it covers:
//     {"in-toto": [keys...], "cnabsec": {"layout": {"covers": ["NAME:1.*"]}}};
//   - a version is governed by the one layout covering it, else by the
//     current one. The layout a version target names (signed by CI) must be
//     that layout: CI never chooses among layouts.

// LayoutPolicy is cnabsec's part of a layout target's custom metadata.
type LayoutPolicy struct {
	// Covers are version patterns (path.Match over the version target name,
	// NAME:TAG-GLOB or NAME@sha256:HEX) this kept layout governs. Empty: the
	// repository's current layout.
	Covers []string `json:"covers,omitempty"`
}

// LayoutCustom is the custom metadata of a layout target.
type LayoutCustom struct {
	// InToto lists the layout's public key targets.
	InToto  []string `json:"in-toto,omitempty"`
	CNABSec *struct {
		Layout *LayoutPolicy `json:"layout,omitempty"`
	} `json:"cnabsec,omitempty"`
}

// NewLayoutCustom is the custom metadata of a layout target listing its keys
// and, for a kept layout, the versions it covers.
func NewLayoutCustom(keyTargets, covers []string) LayoutCustom {
	c := LayoutCustom{InToto: keyTargets}
	if len(covers) > 0 {
		c.CNABSec = &struct {
			Layout *LayoutPolicy `json:"layout,omitempty"`
		}{Layout: &LayoutPolicy{Covers: covers}}
	}
	return c
}

// Covers returns the version patterns of a layout's custom metadata (nil for
// a current layout).
func (c LayoutCustom) Covers() []string {
	if c.CNABSec == nil || c.CNABSec.Layout == nil {
		return nil
	}
	return c.CNABSec.Layout.Covers
}

// ParseLayoutCustom reads a layout target's custom metadata.
func ParseLayoutCustom(raw []byte) (LayoutCustom, error) {
	var c LayoutCustom
	if len(raw) == 0 {
		return c, nil
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return c, fault.Deniedf("layout custom metadata: %w", err)
	}
	return c, nil
}

// LayoutDir is the directory of a repository's layouts and links.
func LayoutDir(repo string) string { return repo + "/" + InTotoMetadataSegment + "/" }

// IsLayoutTarget reports whether target names a layout of repo:
// NAME/in-toto-metadata/FILE.layout.
func IsLayoutTarget(target, repo string) bool {
	rest, ok := strings.CutPrefix(target, LayoutDir(repo))
	return ok && strings.HasSuffix(rest, ".layout") && len(rest) > len(".layout") && !strings.Contains(rest, "/")
}

// CheckCoverPattern refuses a version pattern that is not NAME:GLOB or
// NAME@GLOB for repo, or is not a valid glob.
func CheckCoverPattern(repo, pattern string) error {
	rest, ok := strings.CutPrefix(pattern, repo)
	if !ok || rest == "" || (rest[0] != ':' && rest[0] != '@') || strings.Contains(rest, "/") {
		return fault.Inputf("version pattern %q: want %s:TAG-GLOB or %s@sha256:HEX", pattern, repo, repo)
	}
	if _, err := path.Match(pattern, repo+":x"); err != nil {
		return fault.Inputf("version pattern %q: %w", pattern, err)
	}
	return nil
}

// LayoutEntry is one layout target of a repository as the top-level targets
// role lists it.
type LayoutEntry struct {
	Name   string
	Covers []string
}

// Errors of the governing-layout decision (wrapped with the names at fault).
var (
	// ErrNoCurrentLayout: the targets role lists layouts of the repository
	// but none without "covers" and none covering the version.
	ErrNoCurrentLayout = errors.New("no layout of the targets role governs the version")
	// ErrAmbiguousLayout: two current layouts, or two layouts covering the version.
	ErrAmbiguousLayout = errors.New("the targets role lists more than one layout for the version")
	// ErrNotGoverningLayout: the version names a layout other than the one governing it.
	ErrNotGoverningLayout = errors.New("the version names a layout that does not govern it")
)

// GoverningLayout is the layout the targets role says governs version (a
// version target name of repo): the one layout covering it, else the one
// current layout. Ambiguity is an error, never a choice.
func GoverningLayout(version string, layouts []LayoutEntry) (string, error) {
	var covering, current []string
	for _, l := range layouts {
		if len(l.Covers) == 0 {
			current = append(current, l.Name)
			continue
		}
		if coversVersion(l.Covers, version) {
			covering = append(covering, l.Name)
		}
	}
	sort.Strings(covering)
	sort.Strings(current)
	switch {
	case len(covering) == 1:
		return covering[0], nil
	case len(covering) > 1:
		return "", fmt.Errorf("%w: %s are each kept for %s", ErrAmbiguousLayout, strings.Join(covering, " and "), version)
	case len(current) == 1:
		return current[0], nil
	case len(current) > 1:
		return "", fmt.Errorf("%w: %s are both current (none lists the versions it covers)", ErrAmbiguousLayout, strings.Join(current, " and "))
	}
	return "", fmt.Errorf("%w: no current layout, and no kept layout covers %s", ErrNoCurrentLayout, version)
}

func coversVersion(patterns []string, version string) bool {
	for _, p := range patterns {
		if ok, _ := path.Match(p, version); ok {
			return true
		}
	}
	return false
}

// CheckNamedLayout returns ErrNotGoverningLayout, naming both layouts, when
// the layout a version names is not the one governing it.
func CheckNamedLayout(version, named string, layouts []LayoutEntry) error {
	gov, err := GoverningLayout(version, layouts)
	if err != nil {
		return err
	}
	if gov == named {
		return nil
	}
	why := "it is not listed by the targets role (retired)"
	for _, l := range layouts {
		if l.Name == named {
			why = "it is kept only for " + strings.Join(l.Covers, ", ")
			if len(l.Covers) == 0 {
				why = "it is current, but " + gov + " is kept for this version"
			}
		}
	}
	return fmt.Errorf("%w: %s names layout %s, but the targets role says %s governs it: %s", ErrNotGoverningLayout, version, named, gov, why)
}
