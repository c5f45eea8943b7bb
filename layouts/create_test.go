package layouts

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/in-toto/in-toto-golang/in_toto"

	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/keys"
)

func templateDir(t *testing.T) (string, *keys.PrivateKey) {
	dir := t.TempDir()
	dev := genKey(t, keys.GenEd25519)
	writePub(t, dir, "dev.pub", dev)
	writePub(t, dir, "ci.pub", ciKey(t))
	return dir, dev
}

func wantInput(t *testing.T, err error, want string) {
	t.Helper()
	if err == nil || !fault.Is(err, fault.Input) || !strings.Contains(err.Error(), want) {
		t.Fatalf("want an input error containing %q, got %v (kind %v)", want, err, fault.KindOf(err))
	}
}

func TestTemplateWithMisspeltFieldIsRefused(t *testing.T) {
	dir, _ := templateDir(t)
	owner := genKey(t, keys.GenEd25519)
	// "expected_product" (no s) would otherwise leave the step's products unconstrained.
	_, err := Create([]byte("steps:\n  - name: build\n    functionaries: [dev.pub]\n    expected_product: [[DISALLOW, \"*\"]]\n"), []keys.Signer{owner}, dir, testNow)
	wantInput(t, err, "line 4: field expected_product is not a step field (misspelt?)")
	_, err = Create([]byte(`{"steps":[{"name":"build","functionaries":["dev.pub"],"expected_product":[]}]}`), []keys.Signer{owner}, dir, testNow)
	wantInput(t, err, `unknown field "expected_product"`)
}

func TestTemplateWithoutStepsIsRefused(t *testing.T) {
	dir, _ := templateDir(t)
	_, err := Create([]byte("readme: nothing\nsteps: []\n"), []keys.Signer{genKey(t, keys.GenEd25519)}, dir, testNow)
	wantInput(t, err, "a layout without steps verifies nothing")
}

func TestTemplateThresholdThatCanNeverBeMetIsRefused(t *testing.T) {
	dir, _ := templateDir(t)
	owner := genKey(t, keys.GenEd25519)
	_, err := Create([]byte("steps:\n  - name: build\n    functionaries: [dev.pub]\n    threshold: 2\n"), []keys.Signer{owner}, dir, testNow)
	wantInput(t, err, "threshold 2 can never be met by 1 distinct functionary key(s)")
	_, err = Create([]byte("steps:\n  - name: build\n    functionaries: [dev.pub, dev.pub]\n    threshold: 2\n"), []keys.Signer{owner}, dir, testNow)
	wantInput(t, err, "is listed twice")
	_, err = Create([]byte("steps:\n  - name: build\n    functionaries: [dev.pub]\n    threshold: 0\n"), []keys.Signer{owner}, dir, testNow)
	wantInput(t, err, "threshold 0 is below 1")
}

func TestTemplateDefaultsAreInTotos(t *testing.T) {
	dir, dev := templateDir(t)
	owner := genKey(t, keys.GenEd25519)
	mb, err := Create([]byte("steps:\n  - name: build\n    functionaries: [dev.pub]\n"), []keys.Signer{owner}, dir, testNow)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Marshal(mb)
	var generic struct {
		Signed map[string]any `json:"signed"`
	}
	json.Unmarshal(b, &generic)
	step := generic.Signed["steps"].([]any)[0].(map[string]any)
	for _, f := range []string{"expected_command", "expected_materials", "expected_products"} {
		if l, ok := step[f].([]any); !ok || len(l) != 0 {
			t.Errorf("%s = %v, want [] (python in-toto refuses null)", f, step[f])
		}
	}
	if step["threshold"] != 1.0 {
		t.Errorf("threshold %v, want 1", step["threshold"])
	}
	if l, ok := generic.Signed["inspect"].([]any); !ok || len(l) != 0 {
		t.Errorf("inspect = %v, want []", generic.Signed["inspect"])
	}
	if want := testNow.Add(DefaultExpiry).Format(expiresFormat); generic.Signed["expires"] != want {
		t.Errorf("expires %v, want %s", generic.Signed["expires"], want)
	}
	l := mb.Signed.(in_toto.Layout)
	if _, ok := l.Keys[dev.Public().ID()]; !ok || l.Steps[0].PubKeys[0] != dev.Public().ID() {
		t.Errorf("functionary key %s not listed: %+v", dev.Public().ID(), l.Keys)
	}
	if len(mb.Signatures) != 1 || mb.Signatures[0].KeyID != owner.Public().ID() {
		t.Errorf("signatures %+v, want one by the owner", mb.Signatures)
	}
	// in-toto-golang verifies our signature with its own code.
	if err := mb.VerifySignature(owner.Public().InTotoKey()); err != nil {
		t.Errorf("in-toto-golang rejects the layout signature: %v", err)
	}
}

func TestTemplateExpiresAcceptsDurationAndRFC3339AndRefusesThePast(t *testing.T) {
	dir, _ := templateDir(t)
	owner := genKey(t, keys.GenEd25519)
	tpl := "expires: %s\nsteps:\n  - name: build\n    functionaries: [dev.pub]\n"
	for in, want := range map[string]string{
		"48h":                         "2026-11-29T12:00:00Z",
		"2030-01-02T03:04:05Z":        "2030-01-02T03:04:05Z",
		"'2030-01-02T04:04:05+01:00'": "2030-01-02T03:04:05Z",
	} {
		mb, err := Create([]byte(strings.Replace(tpl, "%s", in, 1)), []keys.Signer{owner}, dir, testNow)
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if got := mb.Signed.(in_toto.Layout).Expires; got != want {
			t.Errorf("expires %s: got %s, want %s", in, got, want)
		}
	}
	_, err := Create([]byte(strings.Replace(tpl, "%s", "2020-01-01T00:00:00Z", 1)), []keys.Signer{owner}, dir, testNow)
	wantInput(t, err, "is not in the future")
	_, err = Create([]byte(strings.Replace(tpl, "%s", "one year", 1)), []keys.Signer{owner}, dir, testNow)
	wantInput(t, err, "neither a duration")
	mb, err := CreateLayout(t.Context(), []byte(strings.Replace(tpl, "%s", "48h", 1)), CreateOptions{Owners: []keys.Signer{owner}, BaseDir: dir, Now: testNow, Expires: "1h"})
	if err != nil || mb.Signed.(in_toto.Layout).Expires != testNow.Add(time.Hour).Format(expiresFormat) {
		t.Fatalf("an explicit expiry overrides the template: %v", err)
	}
}

func TestTemplateMatchAgainstUnknownStepIsRefused(t *testing.T) {
	dir, _ := templateDir(t)
	_, err := Create([]byte("steps:\n  - name: build\n    functionaries: [dev.pub]\n    expected_materials: [[MATCH, '*', WITH, PRODUCTS, FROM, biuld]]\n"), []keys.Signer{genKey(t, keys.GenEd25519)}, dir, testNow)
	wantInput(t, err, `matches against "biuld", which is not a step or inspection`)
}

func TestTemplateWithBadRuleIsRefused(t *testing.T) {
	dir, _ := templateDir(t)
	_, err := Create([]byte("steps:\n  - name: build\n    functionaries: [dev.pub]\n    expected_products: [[CREAT, x]]\n"), []keys.Signer{genKey(t, keys.GenEd25519)}, dir, testNow)
	wantInput(t, err, `rule ["CREAT" "x"]`)
}

func TestTemplateStepNameThatIsNotAFileNameIsRefused(t *testing.T) {
	dir, _ := templateDir(t)
	_, err := Create([]byte("steps:\n  - name: ../evil\n    functionaries: [dev.pub]\n"), []keys.Signer{genKey(t, keys.GenEd25519)}, dir, testNow)
	wantInput(t, err, "must not contain '/'")
}

func TestTemplateFunctionaryFromPythonJSONKeyFile(t *testing.T) {
	abs, _ := filepath.Abs(filepath.Join(vectors, "developer.pub"))
	mb, err := Create([]byte("steps:\n  - name: build\n    functionaries: ["+abs+"]\n"), []keys.Signer{genKey(t, keys.GenEd25519)}, t.TempDir(), testNow)
	if err != nil {
		t.Fatal(err)
	}
	if id := mb.Signed.(in_toto.Layout).Steps[0].PubKeys[0]; id != "68a12d64cd2742e58e9095f716dd6ff8a4cfd3aa9794a3b4d921f41516350a03" {
		t.Fatalf("functionary ID %s, want python's 68a12d64…", id)
	}
	_, err = Create([]byte("steps:\n  - name: build\n    functionaries: [missing.pub]\n"), []keys.Signer{genKey(t, keys.GenEd25519)}, t.TempDir(), testNow)
	wantInput(t, err, "missing.pub")
}

func TestTemplateOwnerGivenTwiceIsRefused(t *testing.T) {
	dir, _ := templateDir(t)
	o := genKey(t, keys.GenEd25519)
	_, err := Create([]byte("steps:\n  - name: build\n    functionaries: [dev.pub]\n"), []keys.Signer{o, o}, dir, testNow)
	wantInput(t, err, "is given twice")
}
