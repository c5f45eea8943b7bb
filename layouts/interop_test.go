//go:build interop

package layouts

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cnabsec/cnabsec/keys"
)

// runPythonVerify runs Debian's in-toto-verify on a chain made by cnabsec.
func runPythonVerify(t *testing.T, c *chain) (string, error) {
	tool := pythonTool(t, "in-toto-verify")
	dir := t.TempDir()
	args := writeForPython(t, dir, c.layout, c.owner.Public(), c.links)
	cmd := exec.Command(tool, append(args, "--verbose")...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestInteropPythonInTotoVerifiesWhatCnabsecMakes(t *testing.T) {
	for _, typ := range []string{keys.GenRSA3072, keys.GenEd25519, keys.GenECDSAP256} {
		t.Run(typ, func(t *testing.T) {
			c := newChain(t, typ)
			mustVerify(t, c.input())
			out, err := runPythonVerify(t, c)
			if err != nil {
				t.Fatalf("in-toto-verify refused a layout and links made by cnabsec (%s owner key): %v\n%s", typ, err, out)
			}
		})
	}
}

func TestInteropPythonInTotoRefusesArtifactTamperedBetweenSteps(t *testing.T) {
	for _, typ := range []string{keys.GenRSA3072, keys.GenEd25519} {
		t.Run(typ, func(t *testing.T) {
			c := newChain(t, typ, tamperBetweenSteps)
			out, err := runPythonVerify(t, c)
			var exit *exec.ExitError
			if err == nil || !asExit(err, &exit) || exit.ExitCode() != 1 {
				t.Fatalf("in-toto-verify on a tampered chain: %v (want exit 1)\n%s", err, out)
			}
			if !strings.Contains(out, "bundle.src.json") {
				t.Fatalf("python's reason does not name the tampered artifact:\n%s", out)
			}
		})
	}
}

func asExit(err error, target **exec.ExitError) bool {
	e, ok := err.(*exec.ExitError)
	*target = e
	return ok
}

// TestInteropCnabsecVerifiesWhatPythonRecords: keys made by in-toto-keygen,
// links recorded by in-toto-record start/stop and in-toto-run, a layout made
// by cnabsec naming the python key files; cnabsec's verifier accepts it, and
// refuses it once the artifact is swapped between the steps.
func TestInteropCnabsecVerifiesWhatPythonRecords(t *testing.T) {
	for _, tamper := range []bool{false, true} {
		dir := t.TempDir()
		run := func(name string, args ...string) {
			t.Helper()
			cmd := exec.Command(pythonTool(t, name), args...)
			cmd.Dir = dir
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("%s %v: %v\n%s", name, args, err, out)
			}
		}
		run("in-toto-keygen", "-t", "ed25519", "dev")
		run("in-toto-keygen", "ci")
		owner := genKey(t, keys.GenEd25519)
		mb, err := Create([]byte(`steps:
  - name: write-bundle
    functionaries: [dev.pub]
    expected_products: [[CREATE, bundle.src.json], [DISALLOW, "*"]]
  - name: package
    functionaries: [ci.pub]
    expected_command: [cp, bundle.src.json, bundle.json]
    expected_materials: [[MATCH, bundle.src.json, WITH, PRODUCTS, FROM, write-bundle], [DISALLOW, "*"]]
    expected_products: [[CREATE, bundle.json], [ALLOW, bundle.src.json], [DISALLOW, "*"]]
`), []keys.Signer{owner}, dir, testNow)
		if err != nil {
			t.Fatal(err)
		}
		layout, _ := Marshal(mb)
		run("in-toto-record", "start", "-n", "write-bundle", "-k", "dev", "-t", "ed25519")
		must(t, os.WriteFile(filepath.Join(dir, "bundle.src.json"), []byte(`{"name":"app"}`), 0o644))
		run("in-toto-record", "stop", "-n", "write-bundle", "-k", "dev", "-t", "ed25519", "-p", "bundle.src.json")
		if tamper {
			must(t, os.WriteFile(filepath.Join(dir, "bundle.src.json"), []byte(`{"name":"evil"}`), 0o644))
		}
		run("in-toto-run", "-n", "package", "-k", "ci", "-m", "bundle.src.json", "-p", "bundle.src.json", "bundle.json", "--", "cp", "bundle.src.json", "bundle.json")
		links := map[string][]byte{}
		files, _ := filepath.Glob(filepath.Join(dir, "*.link"))
		for _, f := range files {
			links[filepath.Base(f)], _ = os.ReadFile(f)
		}
		if len(links) != 2 {
			t.Fatalf("python wrote links %v", files)
		}
		bundle, _ := os.ReadFile(filepath.Join(dir, "bundle.json"))
		in := VerifyInput{Layout: layout, LayoutKeys: []*keys.PublicKey{owner.Public()}, Links: links, Now: testNow,
			Artifact: ArtifactBinding{Name: "bundle.json", SHA256: sha256Hex(bundle)}}
		res, err := Verify(context.Background(), in)
		if !tamper && err != nil {
			t.Fatalf("links recorded by python in-toto do not verify: %v", err)
		}
		if tamper {
			wantDenied(t, res, err, CheckArtifactRules, "materials [bundle.src.json] disallowed by rule [DISALLOW *]")
		}
	}
}

// TestInteropPythonInTotoAlsoRefusesTheReplayedDeveloperLink: Debian's
// in-toto-verify judges the replay attack (release 1.0's developer link, a
// fresh package link by the CI key for new bytes) as cnabsec does: the
// documented layout refuses it by package's product rules, the old unbound
// template accepts it.
func TestInteropPythonInTotoAlsoRefusesTheReplayedDeveloperLink(t *testing.T) {
	tool := pythonTool(t, "in-toto-verify")
	for name, c := range map[string]struct {
		template string
		refused  bool
	}{"documented": {documentedTemplate(t, "../docs/in-toto.md"), true}, "unbound": {unboundTemplate, false}} {
		r := newReplay(t, c.template)
		dir := t.TempDir()
		args := writeForPython(t, dir, r.layout, r.owner.Public(), r.attackLinks(t, true))
		cmd := exec.Command(tool, append(args, "--verbose")...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if c.refused && (err == nil || !strings.Contains(string(out), "RuleVerificationError: 'DISALLOW *' matched the following artifacts: ['bundle.json']")) {
			t.Fatalf("%s layout: in-toto-verify accepted the replay or named no package rule: %v\n%s", name, err, out)
		}
		if !c.refused && err != nil {
			t.Fatalf("%s layout: in-toto-verify refused the replay (%v); the unbound template no longer shows the attack\n%s", name, err, out)
		}
	}
}
