package keys

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"
)

// A key reference names where a private key lives: a file path, a PKCS#11
// URI (RFC 7512: "pkcs11:token=T;object=O?module-path=M&pin-source=file:P"),
// or a signer plugin ("plugin:NAME?k=v&..."). A PKCS#11 URI is served by the
// plugin named pkcs11 (the separate cnabsec-signer-pkcs11 binary), so a
// reference is either a file or a plugin call.

// Where a key lives.
const (
	LocationFile   = "file"
	LocationToken  = "token"
	LocationPlugin = "plugin"
)

// ErrKeyRef is returned for a key reference that cannot be parsed.
var ErrKeyRef = errors.New("bad key reference")

// maxRefLen bounds a key reference: a path or URI, never anywhere near this.
const maxRefLen = 4096

// pluginName is what NAME in plugin:NAME and cnabsec-signer-NAME may be.
var pluginName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// secretAttrs are the query attributes whose values a Redacted reference hides.
var secretAttrs = map[string]bool{"pin-value": true, "pin": true, "passphrase": true, "password": true, "secret": true, "token-secret": true}

// PKCS11PathAttrs are the path attributes of RFC 7512 a pkcs11: URI may carry.
var PKCS11PathAttrs = map[string]bool{
	"token": true, "manufacturer": true, "serial": true, "model": true,
	"library-manufacturer": true, "library-description": true, "library-version": true,
	"object": true, "type": true, "id": true, "slot-id": true, "slot-description": true, "slot-manufacturer": true,
}

// PKCS11QueryAttrs are the query attributes of RFC 7512 a pkcs11: URI may carry.
var PKCS11QueryAttrs = map[string]bool{"module-path": true, "module-name": true, "pin-source": true, "pin-value": true}

// Ref is a parsed key reference.
type Ref struct {
	// Location is LocationFile, LocationToken (a pkcs11: URI) or LocationPlugin.
	Location string
	// Path is the file of a LocationFile reference.
	Path string
	// Plugin is the plugin that serves a token or plugin reference
	// ("pkcs11" for a pkcs11: URI): the program cnabsec-signer-NAME.
	Plugin string
	// Path and Query are the attributes of a pkcs11: URI (decoded) or the
	// query of a plugin: reference.
	PathAttrs, Query map[string]string
	raw              string
}

// ParseRef parses a key reference. Anything not starting with "pkcs11:" or
// "plugin:" is a file path.
func ParseRef(s string) (*Ref, error) {
	if s == "" {
		return nil, fmt.Errorf("%w: empty", ErrKeyRef)
	}
	if len(s) > maxRefLen {
		return nil, fmt.Errorf("%w: %d bytes (at most %d)", ErrKeyRef, len(s), maxRefLen)
	}
	if strings.ContainsAny(s, "\x00\n\r") {
		return nil, fmt.Errorf("%w: a NUL or line break in the reference", ErrKeyRef)
	}
	var r *Ref
	var err error
	switch {
	case strings.HasPrefix(s, "pkcs11:"):
		r, err = parsePKCS11(s)
	case strings.HasPrefix(s, "plugin:"):
		r, err = parsePlugin(s)
	default:
		return &Ref{Location: LocationFile, Path: s, raw: s}, nil
	}
	if err != nil {
		return nil, err
	}
	// Its written form (percent-encoded, secrets redacted) must parse too.
	if n := len(r.String()); n > maxRefLen {
		return nil, fmt.Errorf("%w: %d bytes once encoded (at most %d)", ErrKeyRef, n, maxRefLen)
	}
	return r, nil
}

func parsePKCS11(s string) (*Ref, error) {
	body := strings.TrimPrefix(s, "pkcs11:")
	path, query, _ := strings.Cut(body, "?")
	r := &Ref{Location: LocationToken, Plugin: "pkcs11", raw: s}
	var err error
	if r.PathAttrs, err = parseAttrs(path, ";", PKCS11PathAttrs); err != nil {
		return nil, fmt.Errorf("%w: pkcs11 URI path: %w", ErrKeyRef, err)
	}
	if r.Query, err = parseAttrs(query, "&", PKCS11QueryAttrs); err != nil {
		return nil, fmt.Errorf("%w: pkcs11 URI query: %w", ErrKeyRef, err)
	}
	if r.PathAttrs["object"] == "" && r.PathAttrs["id"] == "" {
		return nil, fmt.Errorf("%w: pkcs11 URI names no key (want object= or id=)", ErrKeyRef)
	}
	if r.Query["pin-source"] != "" && r.Query["pin-value"] != "" {
		return nil, fmt.Errorf("%w: pkcs11 URI has both pin-source and pin-value", ErrKeyRef)
	}
	return r, nil
}

func parsePlugin(s string) (*Ref, error) {
	body := strings.TrimPrefix(s, "plugin:")
	name, query, _ := strings.Cut(body, "?")
	if !pluginName.MatchString(name) {
		return nil, fmt.Errorf("%w: plugin name %q (want lower-case letters, digits, - and _, at most 64)", ErrKeyRef, redactText(name))
	}
	q, err := parseAttrs(query, "&", nil)
	if err != nil {
		return nil, fmt.Errorf("%w: plugin %s query: %w", ErrKeyRef, name, err)
	}
	return &Ref{Location: LocationPlugin, Plugin: name, Query: q, raw: s}, nil
}

// parseAttrs parses NAME=VALUE pairs separated by sep, percent-decoded; with
// allowed non-nil, only those names (and vendor names starting "x-").
func parseAttrs(s, sep string, allowed map[string]bool) (map[string]string, error) {
	out := map[string]string{}
	if s == "" {
		return out, nil
	}
	for _, part := range strings.Split(s, sep) {
		name, val, ok := strings.Cut(part, "=")
		if !ok || name == "" {
			return nil, fmt.Errorf("attribute %q is not NAME=VALUE", redactText(part))
		}
		if allowed != nil && !allowed[name] && !strings.HasPrefix(name, "x-") {
			return nil, fmt.Errorf("unknown attribute %q", name)
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("attribute %q given twice", name)
		}
		dec, err := url.PathUnescape(val)
		if err != nil {
			return nil, fmt.Errorf("attribute %q: bad percent-encoding", name)
		}
		out[name] = dec
	}
	return out, nil
}

// redactText shortens text that failed to parse: it may hold a secret.
func redactText(s string) string {
	if i := strings.IndexByte(s, '='); i >= 0 {
		return s[:i] + "=..."
	}
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// String returns the reference as given, with secret attribute values
// (pin-value and the like) replaced by "REDACTED": safe for logs and errors.
func (r *Ref) String() string {
	if r.Location == LocationFile {
		return r.Path
	}
	prefix, rest := "plugin:"+r.Plugin, ""
	if r.Location == LocationToken {
		prefix = "pkcs11:" + joinAttrs(r.PathAttrs, ";")
	}
	if len(r.Query) > 0 {
		rest = "?" + joinAttrs(r.Query, "&")
	}
	return prefix + rest
}

// attrEscaper escapes what url.PathEscape leaves but a reference's syntax
// gives a meaning: the separators of attributes and of a name from its value.
var attrEscaper = strings.NewReplacer("&", "%26", ";", "%3B", "=", "%3D")

func joinAttrs(m map[string]string, sep string) string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, n := range names {
		v := attrEscaper.Replace(url.PathEscape(m[n]))
		if secretAttrs[n] {
			v = "REDACTED"
		}
		parts[i] = n + "=" + v
	}
	return strings.Join(parts, sep)
}

// Raw returns the reference exactly as given, secrets included: only for
// handing it to the plugin that serves it (never to print).
func (r *Ref) Raw() string { return r.raw }

// HasInlineSecret reports whether the reference carries a secret value
// itself (pin-value=...): it would then show in process listings.
func (r *Ref) HasInlineSecret() bool {
	for n := range r.Query {
		if secretAttrs[n] {
			return true
		}
	}
	return false
}

// Describe says where the key lives, without secrets: "file PATH",
// "token T (pkcs11, object O)", or "plugin NAME".
func (r *Ref) Describe() string {
	switch r.Location {
	case LocationToken:
		what := "token " + r.PathAttrs["token"]
		if r.PathAttrs["token"] == "" {
			what = "token"
		}
		if o := r.PathAttrs["object"]; o != "" {
			return what + " (pkcs11, object " + o + ")"
		}
		return what + " (pkcs11, id " + url.PathEscape(r.PathAttrs["id"]) + ")"
	case LocationPlugin:
		return "plugin " + r.Plugin
	}
	return "file " + r.Path
}
