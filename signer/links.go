package signer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/cnabsec/cnabsec/internal/capped"
	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/internal/names"
	"github.com/cnabsec/cnabsec/layouts"
)

// maxLinks bounds the link files of one version.
const maxLinks = 256

// readLinks reads every *.link file of dir as this version's links, under
// NAME/in-toto-metadata/<artifact sha256>/. Each must be an in-toto link
// Metablock whose step name matches its file name.
func (p *prepared) readLinks(dir, artifactSHA string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fault.Inputf("links directory %s: %w", dir, err)
	}
	p.links = map[string][]byte{}
	var listed []string
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".link") {
			continue
		}
		path := filepath.Join(dir, e.Name())
		b, err := capped.ReadFile(path, layouts.MaxMetadataSize)
		if err != nil {
			return err
		}
		if err := checkLink(e.Name(), b); err != nil {
			return fault.Inputf("link %s: %w", path, err)
		}
		name, err := names.LinkTarget(p.ver.Repository, artifactSHA, e.Name())
		if err != nil {
			return err
		}
		p.links[name] = b
		listed = append(listed, name)
		if len(listed) > maxLinks {
			return fault.Inputf("links directory %s: more than %d link files", dir, maxLinks)
		}
	}
	if len(listed) == 0 {
		return fault.Inputf("links directory %s: no *.link files", dir)
	}
	sort.Strings(listed)
	p.custom.InToto = append(p.custom.InToto, listed...)
	return nil
}

// checkLink makes sure a file is a classic in-toto link Metablock for the step
// its name says: a mistake caught here is a verification failure avoided.
func checkLink(file string, b []byte) error {
	var mb struct {
		Signed struct {
			Type string `json:"_type"`
			Name string `json:"name"`
		} `json:"signed"`
		Signatures []struct {
			KeyID string `json:"keyid"`
		} `json:"signatures"`
	}
	if err := json.Unmarshal(b, &mb); err != nil {
		return fault.Inputf("not an in-toto Metablock: %w", err)
	}
	if mb.Signed.Type != "link" {
		return fault.Inputf("_type is %q, not link", mb.Signed.Type)
	}
	parts := strings.Split(strings.TrimSuffix(file, ".link"), ".")
	if len(parts) < 2 || strings.Join(parts[:len(parts)-1], ".") != mb.Signed.Name {
		return fault.Inputf("file name says step %q but the link records step %q", strings.Join(parts[:len(parts)-1], "."), mb.Signed.Name)
	}
	keyPrefix := parts[len(parts)-1]
	for _, s := range mb.Signatures {
		if strings.HasPrefix(s.KeyID, keyPrefix) {
			return nil
		}
	}
	return fault.Inputf("no signature by a key ID starting with %s, as the file name says", keyPrefix)
}
