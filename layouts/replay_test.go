package layouts

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/in-toto/in-toto-golang/in_toto"

	"github.com/cnabsec/cnabsec/keys"
)

// unboundTemplate is the starting template `layout create --help` and the
// docs showed before the steps were bound: package may CREATE bundle.json,
// so its link alone says what the artifact is.
const unboundTemplate = `expires: 8760h
steps:
  - name: write-bundle
    functionaries: [keys/dev.pub]
    expected_products: [[CREATE, bundle.src.json], [DISALLOW, "*"]]
  - name: package
    functionaries: [keys/ci.pub]
    expected_materials: [[MATCH, bundle.src.json, WITH, PRODUCTS, FROM, write-bundle], [DISALLOW, "*"]]
    expected_products: [[CREATE, bundle.json], [ALLOW, bundle.src.json], [DISALLOW, "*"]]
`

// documentedTemplate returns the first YAML block naming write-bundle in a
// document: the layout users copy.
func documentedTemplate(t *testing.T, doc string) string {
	t.Helper()
	b, err := os.ReadFile(doc)
	if err != nil {
		t.Fatal(err)
	}
	for _, block := range strings.Split(string(b), "```yaml\n")[1:] {
		block, _, _ = strings.Cut(block, "```")
		if strings.Contains(block, "write-bundle") {
			return block
		}
	}
	t.Fatalf("%s shows no layout template with a write-bundle step", doc)
	return ""
}

// replay is one release pipeline and the attack on it: release 1.0 is
// recorded honestly; then the holder of the CI keys alone, for bytes no
// developer wrote, keeps 1.0's developer link and signs a fresh package link.
type replay struct {
	dir, work     string
	owner, dev    *keys.PrivateKey
	layout        []byte
	devSource     string // what the developer's step produces
	v1, evil      []byte
	replayedLinks map[string][]byte
}

func newReplay(t *testing.T, template string) *replay {
	t.Helper()
	r := &replay{dir: t.TempDir(), owner: genKey(t, keys.GenEd25519), dev: genKey(t, keys.GenEd25519),
		v1: []byte(`{"name":"app","version":"1.0"}`), evil: []byte(`{"name":"app","version":"6.6.6","invocationImages":"evil"}`)}
	r.work = filepath.Join(r.dir, "work")
	for _, d := range []string{"keys", "work"} {
		if err := os.MkdirAll(filepath.Join(r.dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writePub(t, filepath.Join(r.dir, "keys"), "dev.pub", r.dev)
	writePub(t, filepath.Join(r.dir, "keys"), "ci.pub", ciKey(t))
	mb, err := Create([]byte(template), []keys.Signer{r.owner}, r.dir, testNow)
	if err != nil {
		t.Fatalf("template: %v\n%s", err, template)
	}
	if r.layout, err = Marshal(mb); err != nil {
		t.Fatal(err)
	}
	r.devSource = "bundle.json"
	if strings.Contains(template, "CREATE, bundle.src.json") {
		r.devSource = "bundle.src.json"
	}
	// Release 1.0: the developer's step, as recorded then.
	r.write(t, r.devSource, r.v1)
	r.replayedLinks = map[string][]byte{}
	r.step(t, "write-bundle", r.dev, nil, []string{r.devSource}, r.replayedLinks)
	return r
}

func (r *replay) write(t *testing.T, name string, b []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(r.work, name), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func (r *replay) step(t *testing.T, name string, k keys.Signer, mats, prods []string, into map[string][]byte) {
	t.Helper()
	out := t.TempDir()
	_, path, err := RunStep(context.Background(), StepOptions{Name: name, Key: k, Materials: mats, Products: prods, Dir: r.work, OutDir: out})
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	into[filepath.Base(path)] = b
}

// attack signs a fresh package link with the CI key next to the replayed
// developer link, and verifies the new bytes. Its materials are 1.0's
// developer product (oldMaterials) or the new bytes; its products the new
// bytes as bundle.json.
func (r *replay) attack(t *testing.T, oldMaterials bool) (*Result, error) {
	t.Helper()
	return Verify(context.Background(), VerifyInput{
		Layout: r.layout, LayoutKeys: []*keys.PublicKey{r.owner.Public()}, Links: r.attackLinks(t, oldMaterials),
		Artifact: ArtifactBinding{Name: "bundle.json", SHA256: sha256Hex(r.evil), Data: r.evil},
		Now:      testNow, CIKeyIDs: []string{ciKey(t).Public().ID()},
	})
}

// attackLinks are the replayed developer link and the attacker's fresh
// package link.
func (r *replay) attackLinks(t *testing.T, oldMaterials bool) map[string][]byte {
	t.Helper()
	links := map[string][]byte{}
	for n, b := range r.replayedLinks {
		links[n] = b
	}
	if !oldMaterials {
		r.write(t, r.devSource, r.evil)
	}
	m, err := recordArtifacts(r.work, []string{r.devSource}, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.write(t, "bundle.json", r.evil)
	p, err := recordArtifacts(r.work, []string{"."}, nil)
	if err != nil {
		t.Fatal(err)
	}
	link := newLink("package", m, p, map[string]any{}, []string{"cp", "evil.json", "bundle.json"})
	_, path, err := signAndWrite(context.Background(), link, StepOptions{Name: "package", Key: ciKey(t), OutDir: t.TempDir()}, LinkFileName("package", ciKey(t).Public().ID()))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	links[filepath.Base(path)] = b
	return links
}

// TestReplayedDeveloperLinkCannotVouchForNewBytesUnderTheDocumentedLayouts
// plays the holder of the CI functionary key alone against the layouts the
// docs tell users to write (docs/in-toto.md, docs/cli.md): release 1.0's
// developer-signed write-bundle link replayed next to a fresh package link
// for bytes no developer wrote. Whatever materials the attacker records,
// package's rules MATCH write-bundle's products, which hash to 1.0's bytes.
// The unbound template the docs showed before verifies the same attack
// (the case kept to show the attack is real) and is warned about.
func TestReplayedDeveloperLinkCannotVouchForNewBytesUnderTheDocumentedLayouts(t *testing.T) {
	for _, doc := range []string{"../docs/in-toto.md", "../docs/cli.md"} {
		tmpl := documentedTemplate(t, doc)
		for _, oldMaterials := range []bool{true, false} {
			r := newReplay(t, tmpl)
			res, err := r.attack(t, oldMaterials)
			want := "materials [bundle.json] disallowed by rule [DISALLOW *]"
			if oldMaterials {
				want = "products [bundle.json] disallowed by rule [DISALLOW *]"
			}
			wantDenied(t, res, err, CheckArtifactRules, want)
			if f := res.FirstFailure(); !strings.HasPrefix(f.Subject, "package ") {
				t.Fatalf("%s: first failure %+v, want package's rules", doc, f)
			}
			var l in_toto.Layout
			if ws := PartyWarnings(layoutOf(t, r.layout, &l), []string{ciKey(t).Public().ID()}); len(ws) != 0 {
				t.Fatalf("%s: the documented layout is warned: %v", doc, ws)
			}
		}
	}
	r := newReplay(t, unboundTemplate)
	res, err := r.attack(t, true)
	if err != nil || !res.Verified {
		t.Fatalf("the unbound template no longer lets the attack through (%v): the test no longer shows what it guards against", err)
	}
	var l in_toto.Layout
	ws := PartyWarnings(layoutOf(t, r.layout, &l), []string{ciKey(t).Public().ID()})
	if len(ws) != 1 || ws[0].Rule != RuleCIAlone || ws[0].Step != "package" || !strings.Contains(ws[0].String(), "CREATE bundle.json") {
		t.Fatalf("the unbound template's warnings %v, want package (CI alone, CREATE bundle.json)", ws)
	}
}

func layoutOf(t *testing.T, raw []byte, l *in_toto.Layout) *in_toto.Layout {
	t.Helper()
	env, err := parseEnvelope(raw)
	if err != nil || env.layout == nil {
		t.Fatalf("layout: %v", err)
	}
	*l = *env.layout
	return l
}
