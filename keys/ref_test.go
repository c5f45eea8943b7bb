package keys

import (
	"errors"
	"maps"
	"strings"
	"testing"
)

func TestParseRefKinds(t *testing.T) {
	cases := []struct {
		in, loc, plugin, describe string
	}{
		{"keys/root.key", LocationFile, "", "file keys/root.key"},
		{"pkcs11:token=cnabsec;object=root?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/pin", LocationToken, "pkcs11", "token cnabsec (pkcs11, object root)"},
		{"pkcs11:token=My%20Token;id=%01%02", LocationToken, "pkcs11", "token My Token (pkcs11, id %01%02)"},
		{"plugin:vault?key=transit/ci", LocationPlugin, "vault", "plugin vault"},
		{"plugin:aws-kms", LocationPlugin, "aws-kms", "plugin aws-kms"},
	}
	for _, c := range cases {
		r, err := ParseRef(c.in)
		if err != nil {
			t.Fatalf("%s: %v", c.in, err)
		}
		if r.Location != c.loc || r.Plugin != c.plugin || r.Describe() != c.describe || r.Raw() != c.in {
			t.Errorf("%s: got %+v describe %q", c.in, r, r.Describe())
		}
	}
}

func TestMalformedKeyRefsAreRefusedWithReason(t *testing.T) {
	cases := map[string]string{
		"":                                  "empty",
		"pkcs11:token=t":                    "names no key",
		"pkcs11:token=t;object=a;object=b":  "given twice",
		"pkcs11:token=t;object=a;color=red": `unknown attribute "color"`,
		"pkcs11:object=a?pin-source=x&pin-value=1": "both pin-source and pin-value",
		"pkcs11:object=%zz":                        "bad percent-encoding",
		"pkcs11:object":                            "not NAME=VALUE",
		"plugin:":                                  "plugin name",
		"plugin:Bad/Name":                          "plugin name",
		"plugin:../x":                              "plugin name",
		"plugin:ok?novalue":                        "not NAME=VALUE",
		"keys/a\nb":                                "line break",
		strings.Repeat("a", 5000):                  "at most 4096",
	}
	for in, want := range cases {
		_, err := ParseRef(in)
		if !errors.Is(err, ErrKeyRef) || !strings.Contains(err.Error(), want) {
			t.Errorf("%.40q: want ErrKeyRef with %q, got %v", in, want, err)
		}
	}
}

func TestKeyRefErrorsNeverShowASecret(t *testing.T) {
	for _, in := range []string{"pkcs11:object=a?pin-value=s3cr3t&pin-value=s3cr3t", "pkcs11:object=a?pin-value=s3cr3t&bogus=1", "plugin:x?pin-value=s3cr3t&&"} {
		_, err := ParseRef(in)
		if err == nil || strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("%s: got %v", in, err)
		}
	}
}

// FuzzParseRef: any input is parsed or refused with ErrKeyRef, never a
// panic; a parsed reference's String never shows a secret value, and a
// parsed reference re-parses from its String to the same place.
func FuzzParseRef(f *testing.F) {
	for _, s := range []string{"keys/root.key", "pkcs11:token=t;object=o?module-path=/m.so&pin-value=1234", "plugin:kms?key=a%20b&pin=9", "pkcs11:id=%00%ff", "plugin:x", "pkcs11:object=o?pin-value=ct=o"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRef(s)
		if err != nil {
			if !errors.Is(err, ErrKeyRef) {
				t.Fatalf("%q: error without ErrKeyRef: %v", s, err)
			}
			return
		}
		out := r.String()
		if r.Location == LocationFile {
			return
		}
		back, err := ParseRef(out)
		if err != nil {
			t.Fatalf("%q: String %q does not parse: %v", s, out, err)
		}
		// Read back, every secret attribute says REDACTED (a substring test
		// would flag "ct=o" in "object=o").
		for n, v := range r.Query {
			if secretAttrs[n] && v != "" && back.Query[n] != "REDACTED" {
				t.Fatalf("%q: String %q shows secret %s as %q", s, out, n, back.Query[n])
			}
		}
		if back.Location != r.Location || back.Plugin != r.Plugin || back.Describe() != r.Describe() {
			t.Fatalf("%q: String %q parses to another key", s, out)
		}
	})
}

// TestKeyRefStringEscapesSeparatorsInValues: a value holding an attribute
// separator ('&' in a query, ';' in a pkcs11 path) or '=' is written escaped,
// so that the printed reference reads back as the same attributes (the
// fuzzer found "plugin:0?0=%26" printed as "plugin:0?0=&", which does not
// parse).
func TestKeyRefStringEscapesSeparatorsInValues(t *testing.T) {
	for _, s := range []string{"plugin:0?0=%26", "plugin:kms?key=a%26b%3Dc%3Bd", "pkcs11:token=a%3Bb%26c%3Dd;object=k"} {
		r, err := ParseRef(s)
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		back, err := ParseRef(r.String())
		if err != nil {
			t.Fatalf("%q printed as %q, which does not parse: %v", s, r.String(), err)
		}
		if !maps.Equal(back.Query, r.Query) || !maps.Equal(back.PathAttrs, r.PathAttrs) {
			t.Fatalf("%q printed as %q reads back as %v %v, want %v %v", s, r.String(), back.PathAttrs, back.Query, r.PathAttrs, r.Query)
		}
	}
}
