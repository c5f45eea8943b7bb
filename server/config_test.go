package server

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/verifier"
)

func TestConfigWithAMisspeltSettingIsRefused(t *testing.T) {
	// "exemptNamespace" instead of "exemptNamespaces" must not silently
	// leave the policy without the setting.
	_, err := ParseConfig([]byte("exemptNamespace: [kube-system]\n"))
	if !fault.Is(err, fault.Input) || !strings.Contains(err.Error(), `unknown field "exemptNamespace"`) {
		t.Fatalf("err = %v", err)
	}
}

func TestConfigLevel1bForImagesIsRefusedBecauseItChecksNothing(t *testing.T) {
	_, err := ParseConfig([]byte("policies:\n  - image: 'ghcr.io/acme/**'\n    level: 1b\n"))
	if !fault.Is(err, fault.Input) || !errors.Is(err, verifier.ErrLevelNotForImages) || !strings.Contains(err.Error(), "policies[0] (ghcr.io/acme/**): level 1b on an image") {
		t.Fatalf("err = %v", err)
	}
	if _, err := (*Config)(nil).Policy(verifier.Level1b); err == nil {
		t.Fatal("--level 1b accepted for admission")
	}
}

func TestConfigLevel3bForImagesIsRefusedBecauseItAddsOnlyBundleProvenance(t *testing.T) {
	_, err := ParseConfig([]byte("defaultLevel: 3b\n"))
	if !fault.Is(err, fault.Input) || !strings.Contains(err.Error(), "defaultLevel: level 3b on an image") {
		t.Fatalf("err = %v", err)
	}
}

func TestConfigRejectsBadLevelsGlobsAndCacheSettings(t *testing.T) {
	for doc, want := range map[string]string{
		"defaultLevel: 9\n":                         `defaultLevel: security level "9"`,
		"exemptImages: ['']\n":                      "exemptImages: empty image pattern",
		"exemptImages: ['caf\u00e9/*']\n":           "only printable ASCII",
		"policies: [{image: 'a/*', level: x}]\n":    `policies[0] (a/*): security level "x"`,
		"cacheTTL: forever\n":                       `cacheTTL "forever"`,
		"cacheSize: -1\n":                           "cacheSize -1",
		"exemptNamespaces: ['']\n":                  "empty namespace name",
		"policies: [{image: 'a/*', level: '2'}]\nx": "",
	} {
		_, err := ParseConfig([]byte(doc))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want %q", doc, err, want)
		}
	}
}

func TestPolicyFirstMatchingRuleWinsAndGlobsStayWithinSegments(t *testing.T) {
	p := mustPolicy(t, `
defaultLevel: "2"
exemptImages: ["registry.k8s.io/**"]
policies:
  - image: "ghcr.io/acme/payments/**"
    level: "4"
  - image: "ghcr.io/acme/*"
    level: "3a"
  - image: "docker.io/library/*"
    level: "0"
`, verifier.Level1a)
	for raw, want := range map[string]decision{
		"registry.k8s.io/pause:3.9":             {exempt: true},
		"registry.k8s.io/sig/x/coredns:1":       {exempt: true},
		"ghcr.io/acme/payments/api/v2:1":        {level: verifier.Level4},
		"ghcr.io/acme/web:1":                    {level: verifier.Level3a},
		"ghcr.io/acme/team/web:1":               {level: verifier.Level2}, // "*" stays in one segment
		"ghcr.io/acme/web@sha256:" + hex64('e'): {level: verifier.Level3a},
		"busybox:1":                             {level: verifier.Level2}, // index.docker.io, not docker.io
		"index.docker.io/library/busybox:1":     {level: verifier.Level2},
		"registry.k8s.io.evil.com/pause:3.9":    {level: verifier.Level2},
	} {
		img, err := parseImage(raw)
		if err != nil {
			t.Fatal(err)
		}
		got := p.decide(img)
		if got.exempt != want.exempt || (!want.exempt && got.level != want.level) {
			t.Errorf("%s: got %+v, want %+v", raw, got, want)
		}
	}
}

func TestLoadConfigRefusesAMissingOrOversizedFile(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadConfig(filepath.Join(dir, "none.yaml")); !fault.Is(err, fault.Input) || !strings.Contains(err.Error(), "none.yaml") {
		t.Fatalf("missing: %v", err)
	}
	big := filepath.Join(dir, "big.yaml")
	os.WriteFile(big, []byte("# "+strings.Repeat("x", maxConfigSize)), 0o600)
	if _, err := LoadConfig(big); err == nil || !strings.Contains(err.Error(), "more than the 1048576 allowed") {
		t.Fatalf("oversized: %v", err)
	}
	ok := filepath.Join(dir, "ok.yaml")
	os.WriteFile(ok, []byte("failOpen: false\nexemptNamespaces: [kube-system]\n"), 0o600)
	cfg, err := LoadConfig(ok)
	if err != nil || cfg.ExemptNamespaces[0] != "kube-system" {
		t.Fatalf("%+v %v", cfg, err)
	}
}

func hex64(c byte) string { return strings.Repeat(string(c), 64) }
