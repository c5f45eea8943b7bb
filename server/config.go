package server

import (
	"fmt"
	"os"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/cnabsec/cnabsec/internal/decodeerr"
	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/verifier"
)

// maxConfigSize bounds the --config file.
const maxConfigSize = 1 << 20

// Config is the admission policy file (--config). See docs/admission.md.
type Config struct {
	// DefaultLevel is the level required of images no policy names; empty
	// means the --level flag.
	DefaultLevel string `json:"defaultLevel,omitempty"`
	// ExemptNamespaces are never checked (e.g. kube-system).
	ExemptNamespaces []string `json:"exemptNamespaces,omitempty"`
	// ExemptImages are image globs that are never checked.
	ExemptImages []string `json:"exemptImages,omitempty"`
	// Policies give a level per image glob; the first matching entry wins.
	Policies []PolicyEntry `json:"policies,omitempty"`
	// FailOpen admits, with a warning, images whose verification was
	// inconclusive (metadata or registry unreachable). UNSAFE: an attacker
	// who can block the network then bypasses every check. Default false.
	FailOpen bool `json:"failOpen,omitempty"`
	// CacheTTL bounds how long a verdict is reused (default 5m).
	CacheTTL string `json:"cacheTTL,omitempty"`
	// CacheSize bounds the number of cached verdicts (default 10000).
	CacheSize int `json:"cacheSize,omitempty"`
}

// PolicyEntry requires a level of the images matching a glob.
type PolicyEntry struct {
	Image string `json:"image"`
	Level string `json:"level"`
}

// LoadConfig reads and validates a policy file (YAML or JSON). Unknown fields
// are refused so that a misspelt setting cannot silently weaken the policy.
func LoadConfig(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fault.Inputf("config %s: %w", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fault.Inputf("config %s: %w", path, err)
	}
	if st.Size() > maxConfigSize {
		return nil, fault.Inputf("config %s: %d bytes, more than the %d allowed", path, st.Size(), maxConfigSize)
	}
	data := make([]byte, st.Size())
	if _, err := f.ReadAt(data, 0); err != nil && st.Size() > 0 {
		return nil, fault.Inputf("config %s: %w", path, err)
	}
	cfg, err := ParseConfig(data)
	if err != nil {
		return nil, fault.Inputf("config %s: %w", path, err)
	}
	return cfg, nil
}

// ParseConfig decodes and validates a policy document.
func ParseConfig(data []byte) (*Config, error) {
	var cfg Config
	if err := yaml.UnmarshalStrict(data, &cfg); err != nil {
		return nil, fault.Inputf("%s", decodeerr.Describe(err))
	}
	if _, err := cfg.Policy(verifier.Level2); err != nil {
		return nil, err
	}
	return &cfg, nil
}

// Policy decides, per namespace and image, whether and at which level an
// image is checked. Build it with Config.Policy.
type Policy struct {
	defaultLevel     verifier.Level
	exemptNamespaces map[string]bool
	exemptImages     []glob
	rules            []rule
	// FailOpen: see Config.FailOpen.
	FailOpen  bool
	CacheTTL  time.Duration
	CacheSize int
}

type rule struct {
	glob  glob
	level verifier.Level
}

// Policy compiles the configuration; fallback is the level of images no
// policy names when the file sets no defaultLevel. A nil Config is the empty
// policy.
func (c *Config) Policy(fallback verifier.Level) (*Policy, error) {
	if c == nil {
		c = &Config{}
	}
	p := &Policy{exemptNamespaces: map[string]bool{}, FailOpen: c.FailOpen, CacheTTL: 5 * time.Minute, CacheSize: 10000}
	for _, step := range []func(*Policy) error{
		func(p *Policy) error { return c.compileDefaultLevel(p, fallback) },
		c.compileExemptions,
		c.compileRules,
		c.compileCache,
	} {
		if err := step(p); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// compileDefaultLevel sets the level of images no rule names.
func (c *Config) compileDefaultLevel(p *Policy, fallback verifier.Level) error {
	if c.DefaultLevel == "" {
		_, err := imageLevel(string(fallback))
		p.defaultLevel = fallback
		return err
	}
	l, err := imageLevel(c.DefaultLevel)
	if err != nil {
		return fault.Inputf("defaultLevel: %w", err)
	}
	p.defaultLevel = l
	return nil
}

// compileExemptions reads the exempt namespaces and image globs.
func (c *Config) compileExemptions(p *Policy) error {
	for _, ns := range c.ExemptNamespaces {
		if ns == "" {
			return fault.Inputf("exemptNamespaces: empty namespace name")
		}
		p.exemptNamespaces[ns] = true
	}
	for _, s := range c.ExemptImages {
		g, err := compileGlob(s)
		if err != nil {
			return fault.Inputf("exemptImages: %w", err)
		}
		p.exemptImages = append(p.exemptImages, g)
	}
	return nil
}

// compileRules reads the per-image levels, in order (the first match wins).
func (c *Config) compileRules(p *Policy) error {
	for i, e := range c.Policies {
		g, err := compileGlob(e.Image)
		if err != nil {
			return fault.Inputf("policies[%d]: %w", i, err)
		}
		l, err := imageLevel(e.Level)
		if err != nil {
			return fault.Inputf("policies[%d] (%s): %w", i, e.Image, err)
		}
		p.rules = append(p.rules, rule{glob: g, level: l})
	}
	return nil
}

// compileCache reads the verdict cache's lifetime and size.
func (c *Config) compileCache(p *Policy) error {
	if c.CacheTTL != "" {
		d, err := time.ParseDuration(c.CacheTTL)
		if err != nil || d <= 0 {
			return fault.Inputf("cacheTTL %q: want a positive duration such as 5m", c.CacheTTL)
		}
		p.CacheTTL = d
	}
	if c.CacheSize < 0 {
		return fault.Inputf("cacheSize %d: want a positive number", c.CacheSize)
	}
	if c.CacheSize > 0 {
		p.CacheSize = c.CacheSize
	}
	return nil
}

// imageLevel parses a level required of an image: 1b and 3b add only
// bundle properties, so for an image they would check nothing they stand
// for; they are refused (verifier.CheckImageLevel) rather than silently
// meaning a lower level.
func imageLevel(s string) (verifier.Level, error) {
	l, err := verifier.ParseLevel(s)
	if err != nil {
		return "", err
	}
	if err := verifier.CheckImageLevel(l); err != nil {
		return "", err
	}
	return l, nil
}

// NamespaceExempt reports whether the namespace is never checked.
func (p *Policy) NamespaceExempt(ns string) bool { return p.exemptNamespaces[ns] }

// decision is what the policy says about one image.
type decision struct {
	exempt bool
	why    string // the matching exemption or rule, for messages
	level  verifier.Level
}

func (p *Policy) decide(img image) decision {
	for _, g := range p.exemptImages {
		if g.match(img) {
			return decision{exempt: true, why: fmt.Sprintf("exemptImages %q", g.pattern)}
		}
	}
	for _, r := range p.rules {
		if r.glob.match(img) {
			if r.level == verifier.Level0 {
				return decision{exempt: true, why: fmt.Sprintf("policy %q requires level 0", r.glob.pattern), level: r.level}
			}
			return decision{level: r.level, why: fmt.Sprintf("policy %q", r.glob.pattern)}
		}
	}
	if p.defaultLevel == verifier.Level0 {
		return decision{exempt: true, why: "default level 0", level: verifier.Level0}
	}
	return decision{level: p.defaultLevel, why: "default level"}
}
