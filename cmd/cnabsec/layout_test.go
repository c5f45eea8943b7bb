package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cnabsec/cnabsec/keys"
	"github.com/cnabsec/cnabsec/layouts"
)

const cliTemplate = `readme: CI builds bundle.json from the developer's source
steps:
  - name: write-bundle
    functionaries: [dev.pub]
    expected_products: [[CREATE, bundle.src.json], [DISALLOW, "*"]]
  - name: package
    functionaries: [ci.pub]
    expected_command: [cp, bundle.src.json, bundle.json]
    expected_materials: [[MATCH, bundle.src.json, WITH, PRODUCTS, FROM, write-bundle], [DISALLOW, "*"]]
    expected_products: [[CREATE, bundle.json], [ALLOW, bundle.src.json], [DISALLOW, "*"]]
`

// TestLayoutCreateAndLinksVerifyEndToEnd drives `layout create` and `link
// start/stop/run` as a user would (flags after positionals), then verifies
// what they wrote with the library.
func TestLayoutCreateAndLinksVerifyEndToEnd(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	for _, k := range []string{"owner", "dev", "ci"} {
		if code, _, errs := runCLI(t, "key", "generate", "--unencrypted", k); code != 0 {
			t.Fatalf("key generate %s: %s", k, errs)
		}
	}
	os.WriteFile("layout.yaml", []byte(cliTemplate), 0o644)
	code, out, errs := runCLI(t, "layout", "create", "layout.yaml", "--key", "owner.key", "--expires", "48h", "--out", "meta/root.layout", "-o", "json")
	if code != 0 {
		t.Fatalf("layout create exited %d: %s", code, errs)
	}
	var rep layoutCreateReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil || len(rep.Steps) != 2 || len(rep.SignedBy) != 1 {
		t.Fatalf("report %q: %v", out, err)
	}
	if code, _, errs := runCLI(t, "link", "start", "write-bundle", "--key", "dev.key", "-d", "links"); code != 0 {
		t.Fatalf("link start: %s", errs)
	}
	os.WriteFile("bundle.src.json", []byte(`{"name":"app"}`), 0o644)
	if code, _, errs := runCLI(t, "link", "stop", "write-bundle", "-p", "bundle.src.json", "--key", "dev.key", "-d", "links"); code != 0 {
		t.Fatalf("link stop: %s", errs)
	}
	code, _, errs = runCLI(t, "link", "run", "package", "--key", "ci.key", "-m", "bundle.src.json", "-p", "bundle.src.json", "-p", "bundle.json", "-d", "links", "--", "cp", "bundle.src.json", "bundle.json")
	if code != 0 || !strings.Contains(errs, "wrote links/package.") {
		t.Fatalf("link run exited %d: %s", code, errs)
	}
	owner, _ := keys.LoadPublic("owner.pub")
	layout, _ := os.ReadFile("meta/root.layout")
	bundle, _ := os.ReadFile("bundle.json")
	links := map[string][]byte{}
	ents, _ := os.ReadDir("links")
	for _, e := range ents {
		links[e.Name()], _ = os.ReadFile(filepath.Join("links", e.Name()))
	}
	if len(links) != 2 {
		t.Fatalf("links %v, want two (and no unfinished link left)", ents)
	}
	_, err := layouts.Verify(context.Background(), layouts.VerifyInput{
		Layout: layout, LayoutKeys: []*keys.PublicKey{owner}, Links: links,
		Artifact: layouts.ArtifactBinding{Name: "bundle.json", SHA256: intotoTestSHA256(bundle)},
		Now:      time.Now(),
	})
	if err != nil {
		t.Fatalf("what the CLI wrote does not verify: %v", err)
	}
}

func TestLayoutCreateRefusesTemplateTyposWithExitTwo(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	runCLI(t, "key", "generate", "--unencrypted", "owner")
	runCLI(t, "key", "generate", "--unencrypted", "dev")
	os.WriteFile("t.yaml", []byte("steps:\n  - name: build\n    functionaries: [dev.pub]\n    expected_prodcts: []\n"), 0o644)
	code, _, errs := runCLI(t, "layout", "create", "t.yaml", "--key", "owner.key", "--out", "root.layout")
	if code != 2 || !strings.Contains(errs, "t.yaml") || !strings.Contains(errs, "expected_prodcts") {
		t.Fatalf("exit %d, stderr %q: want 2 naming the file and the unknown field", code, errs)
	}
	if _, err := os.Stat("root.layout"); err == nil {
		t.Fatal("a layout was written")
	}
	os.WriteFile("empty.yaml", []byte("steps: []\n"), 0o644)
	code, _, errs = runCLI(t, "layout", "create", "empty.yaml", "--key", "owner.key", "--out", "root.layout")
	if code != 2 || !strings.Contains(errs, "verifies nothing") {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	code, _, errs = runCLI(t, "layout", "create", "t.yaml", "--out", "root.layout")
	if code != 2 || !strings.Contains(errs, "--key") {
		t.Fatalf("no key: exit %d, stderr %q", code, errs)
	}
}

func TestLayoutAndLinkHelpHaveExamples(t *testing.T) {
	for _, args := range [][]string{{"layout", "create", "--help"}, {"link", "run", "--help"}, {"link", "start", "--help"}, {"link", "stop", "--help"}} {
		code, out, _ := runCLI(t, args...)
		if code != 0 || !strings.Contains(out, "Example") {
			t.Errorf("%v: exit %d, no example in %q", args, code, out)
		}
	}
}

// TestLayoutCreateWarnsWhenTheCIKeysCanVouchAlone: a layout whose package
// step, performed by the CI key alone, may CREATE bundle.json lets the CI key
// holder vouch for content no developer wrote (replaying an old developer
// link); layout create signs it but warns on stderr and in -o json. The
// bound layout of docs/in-toto.md is not warned about.
func TestLayoutCreateWarnsWhenTheCIKeysCanVouchAlone(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	for _, k := range []string{"owner", "dev", "ci"} {
		if code, _, errs := runCLI(t, "key", "generate", "--unencrypted", k); code != 0 {
			t.Fatalf("key generate %s: %s", k, errs)
		}
	}
	ci, err := keys.LoadPublic("ci.pub")
	if err != nil {
		t.Fatal(err)
	}
	bound := strings.NewReplacer("[CREATE, bundle.src.json]", "[CREATE, bundle.json]",
		"[MATCH, bundle.src.json,", "[MATCH, bundle.json,",
		"[[CREATE, bundle.json], [ALLOW, bundle.src.json],", "[[MATCH, bundle.json, WITH, PRODUCTS, FROM, write-bundle],").Replace(cliTemplate)
	for name, c := range map[string]struct {
		template string
		warned   bool
	}{"unbound": {cliTemplate, true}, "bound": {bound, false}} {
		os.WriteFile(name+".yaml", []byte(c.template), 0o644)
		code, out, errs := runCLI(t, "layout", "create", name+".yaml", "--key", "owner.key", "--ci-key-id", ci.ID(), "--out", name+".layout", "-o", "json")
		if code != 0 {
			t.Fatalf("%s: layout create exited %d: %s", name, code, errs)
		}
		var rep layoutCreateReport
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatalf("%s: report %q: %v", name, out, err)
		}
		wantErr := `cnabsec: warning: step "package" can be performed by the CI keys alone (` + ci.ID()[:12] + `) and its products may hold new bytes (CREATE bundle.json; ALLOW bundle.src.json)`
		if !c.warned {
			if len(rep.Warnings) != 0 || strings.Contains(errs, "CI keys") {
				t.Fatalf("%s: warned %+v, stderr %q", name, rep.Warnings, errs)
			}
			continue
		}
		if len(rep.Warnings) != 1 || rep.Warnings[0].Rule != layouts.RuleCIAlone || rep.Warnings[0].Step != "package" || !strings.Contains(errs, wantErr) {
			t.Fatalf("%s: warnings %+v, stderr %q; want %q", name, rep.Warnings, errs, wantErr)
		}
	}
}
