package layouts

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/in-toto/in-toto-golang/in_toto"

	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/keys"
)

const vectors = "../../shared/vectors/intoto-py"

// testNow is the fixed verification time of the tests.
var testNow = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

var (
	rsaOnce sync.Once
	rsaKey  *keys.PrivateKey
)

// ciKey is one RSA key shared by the tests (RSA-3072 generation is slow).
func ciKey(t testing.TB) *keys.PrivateKey {
	rsaOnce.Do(func() { rsaKey = genKey(t, keys.GenRSA3072) })
	return rsaKey
}

func genKey(t testing.TB, typ string) *keys.PrivateKey {
	t.Helper()
	k, err := keys.Generate(typ)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// writePub writes k's public key as PEM into dir and returns the path.
func writePub(t testing.TB, dir, name string, k *keys.PrivateKey) string {
	t.Helper()
	b, err := k.Public().PEM()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// chain is a two-step supply chain like the python vector: a developer writes
// bundle.src.json (start/stop), CI copies it into bundle.json (run).
type chain struct {
	dir            string
	owner, dev, ci *keys.PrivateKey
	template       string
	layout         []byte
	links          map[string][]byte
	bundle         []byte
	tamper         bool
}

const chainTemplate = `expires: 8760h
readme: CI builds bundle.json from the developer's source
steps:
  - name: write-bundle
    functionaries: [dev.pub]
    expected_products: [[CREATE, bundle.src.json], [DISALLOW, "*"]]
  - name: package
    functionaries: [ci.pub]
    expected_command: [sh, -c, "cp bundle.src.json bundle.json && echo >> bundle.json"]
    expected_materials: [[MATCH, bundle.src.json, WITH, PRODUCTS, FROM, write-bundle], [DISALLOW, "*"]]
    expected_products: [[CREATE, bundle.json], [ALLOW, bundle.src.json], [DISALLOW, "*"]]
`

type chainOpt func(*chain)

// tamperBetweenSteps rewrites the source after the developer's step.
func tamperBetweenSteps(c *chain) { c.tamper = true }

func newChain(t testing.TB, ownerType string, opts ...chainOpt) *chain {
	t.Helper()
	ctx := context.Background()
	c := &chain{dir: t.TempDir(), template: chainTemplate, links: map[string][]byte{}}
	for _, o := range opts {
		o(c)
	}
	c.owner, c.dev, c.ci = genKey(t, ownerType), genKey(t, keys.GenEd25519), ciKey(t)
	writePub(t, c.dir, "dev.pub", c.dev)
	writePub(t, c.dir, "ci.pub", c.ci)
	mb, err := Create([]byte(c.template), []keys.Signer{c.owner}, c.dir, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if c.layout, err = Marshal(mb); err != nil {
		t.Fatal(err)
	}
	work, out := filepath.Join(c.dir, "work"), filepath.Join(c.dir, "links")
	os.MkdirAll(work, 0o755)
	if _, _, err := StartStep(ctx, StepOptions{Name: "write-bundle", Key: c.dev, Dir: work, OutDir: out}); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(work, "bundle.src.json"), []byte(`{"name":"app","version":"1.0"}`), 0o644)
	if _, _, err := StopStep(ctx, StepOptions{Name: "write-bundle", Key: c.dev, Dir: work, OutDir: out, Products: []string{"."}}); err != nil {
		t.Fatal(err)
	}
	if c.tamper {
		os.WriteFile(filepath.Join(work, "bundle.src.json"), []byte(`{"name":"evil","version":"1.0"}`), 0o644)
	}
	if _, _, err := RunStep(ctx, StepOptions{Name: "package", Key: c.ci, Dir: work, OutDir: out,
		Materials: []string{"."}, Products: []string{"."}, Command: []string{"sh", "-c", "cp bundle.src.json bundle.json && echo >> bundle.json"}}); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(out)
	for _, e := range ents {
		b, _ := os.ReadFile(filepath.Join(out, e.Name()))
		c.links[e.Name()] = b
	}
	c.bundle, _ = os.ReadFile(filepath.Join(work, "bundle.json"))
	return c
}

func (c *chain) input() VerifyInput {
	links := map[string][]byte{}
	for k, v := range c.links {
		links[k] = v
	}
	return VerifyInput{
		Layout:     c.layout,
		LayoutKeys: []*keys.PublicKey{c.owner.Public()},
		Links:      links,
		Artifact:   ArtifactBinding{Name: "bundle.json", SHA256: sha256Hex(c.bundle)},
		Now:        testNow,
	}
}

func (c *chain) linkName(step string, k *keys.PrivateKey) string {
	return LinkFileName(step, k.Public().ID())
}

// signLink signs a link with k and returns the file bytes.
func signLink(t testing.TB, link in_toto.Link, signers ...keys.Signer) []byte {
	t.Helper()
	mb := &in_toto.Metablock{Signed: link, Signatures: []in_toto.Signature{}}
	if err := signMetablock(context.Background(), mb, signers); err != nil {
		t.Fatal(err)
	}
	b, err := Marshal(mb)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// parsedLink returns the link in a chain's link file.
func parsedLink(t testing.TB, b []byte) in_toto.Link {
	t.Helper()
	env, err := parseEnvelope(b)
	if err != nil || env.link == nil {
		t.Fatalf("not a link: %v", err)
	}
	return *env.link
}

func parsedLayout(t testing.TB, b []byte) in_toto.Layout {
	t.Helper()
	env, err := parseEnvelope(b)
	if err != nil || env.layout == nil {
		t.Fatalf("not a layout: %v", err)
	}
	return *env.layout
}

func signLayout(t testing.TB, l in_toto.Layout, signers ...keys.Signer) []byte {
	t.Helper()
	mb := &in_toto.Metablock{Signed: l, Signatures: []in_toto.Signature{}}
	if err := signMetablock(context.Background(), mb, signers); err != nil {
		t.Fatal(err)
	}
	b, err := Marshal(mb)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// wantDenied asserts a denial whose message and failed check contain want.
func wantDenied(t *testing.T, res *Result, err error, check, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("verification passed; want a denial containing %q", want)
	}
	if !fault.Is(err, fault.Denied) {
		t.Fatalf("error kind %v, want denied: %v", fault.KindOf(err), err)
	}
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("error %q does not contain %q", err, want)
	}
	if res == nil || res.Verified {
		t.Fatalf("result %+v, want a failed report", res)
	}
	f := res.FirstFailure()
	if f == nil || f.Name != check || !strings.Contains(f.Detail, want) {
		t.Fatalf("first failed check %+v, want %q containing %q", f, check, want)
	}
}

func mustVerify(t *testing.T, in VerifyInput) *Result {
	t.Helper()
	res, err := Verify(context.Background(), in)
	if err != nil {
		js, _ := json.MarshalIndent(res, "", " ")
		t.Fatalf("verification failed: %v\n%s", err, js)
	}
	if !res.Verified {
		t.Fatal("no error but not verified")
	}
	return res
}
