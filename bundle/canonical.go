package bundle

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/cyberphone/json-canonicalization/go/src/webpki.org/jsoncanonicalizer"

	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/internal/strictjson"
)

// MaxJSONDepth is the deepest nesting of objects and arrays accepted. Bundles
// nest a few levels; the limit stops stack exhaustion on hostile input.
const MaxJSONDepth = 256

var (
	// ErrNotCanonical: the bytes differ from the RFC 8785 form of their value.
	ErrNotCanonical = errors.New("not canonical JSON (RFC 8785)")
	// ErrDuplicateKey: an object names the same member twice (or twice up to
	// letter case), which different parsers resolve differently.
	ErrDuplicateKey = strictjson.ErrDuplicateName
)

// Canonicalize returns the RFC 8785 (JSON Canonicalization Scheme) form of the
// JSON value in raw: members sorted by their UTF-16 code units, no
// insignificant whitespace, strings with the minimal escapes, numbers in the
// ECMAScript form. Nothing is dropped or added (null members stay).
//
// It refuses, as Input errors naming the byte position, what RFC 8785 cannot
// represent faithfully or what makes the value ambiguous: invalid JSON or
// UTF-8, a byte order mark, lone surrogate escapes, duplicate member names,
// numbers outside IEEE 754 double range, integers a double cannot carry
// exactly (12345678901234567890 would silently become 12345678901234567000,
// and cnab-go reads sizes as uint64), and nesting deeper than MaxJSONDepth.
// Fractions with more digits than a double holds are rounded as RFC 8785
// says (333333333.33333329 becomes 333333333.3333333, its own example).
//
// The cyberphone jsoncanonicalizer in go.mod is not used for this because it
// accepts all of the above (it reads 0x10 as 16, turns lone surrogates into
// U+FFFD, passes invalid UTF-8 through, rounds long integers), sorts members
// in quadratic time and has no depth limit; tests use it as a differential
// oracle on the inputs both accept.
func Canonicalize(raw []byte) ([]byte, error) {
	v, err := parseJSON(raw)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	out.Grow(len(raw))
	writeCanonical(&out, v)
	return out.Bytes(), nil
}

// IsCanonical reports whether raw is exactly the RFC 8785 form of its value.
func IsCanonical(raw []byte) bool { return CheckCanonical(raw) == nil }

// CheckCanonical returns nil when raw equals its RFC 8785 form. Otherwise it
// returns an error wrapping ErrNotCanonical that names the first differing
// byte (Denied, with a hint to run `cnabsec bundle canonicalize`), or the
// Input error of Canonicalize when raw is not acceptable JSON.
func CheckCanonical(raw []byte) error {
	c, err := Canonicalize(raw)
	if err != nil {
		return err
	}
	if bytes.Equal(c, raw) {
		return nil
	}
	i := 0
	for i < len(c) && i < len(raw) && c[i] == raw[i] {
		i++
	}
	line, col := strictjson.LineCol(raw, i)
	var got string
	if i < len(raw) {
		got = fmt.Sprintf("found %s where the canonical form has %s", excerpt(raw, i), excerpt(c, i))
	} else {
		got = "the input ends early"
	}
	if i == len(c) && i < len(raw) {
		got = fmt.Sprintf("%d bytes after the end of the canonical form (%s)", len(raw)-i, excerpt(raw, i))
	}
	return fault.WithRemedy(
		fault.Deniedf("%w: first difference at byte %d (line %d, column %d): %s", ErrNotCanonical, i, line, col, got),
		fault.RemedyCanonicalize, "")
}

func excerpt(b []byte, i int) string {
	end := i + 12
	if end > len(b) {
		end = len(b)
	}
	return strconv.Quote(string(b[i:end]))
}

// value is a parsed JSON value.
type value struct {
	kind byte     // '{' object, '[' array, '"' string, '0' number, 'l' literal
	s    string   // string content, canonical number text, or literal
	keys []string // object member names, in document order
	kids []*value // object member values or array elements
}

// parseJSON reads raw with the strict parser: duplicate member names (also
// up to letter case), invalid UTF-8 and lone surrogates are refused, and
// numbers are turned into their RFC 8785 text (canonicalNumber).
func parseJSON(raw []byte) (*value, error) {
	v, err := strictjson.Parse[*value](raw, strictjson.Options{
		MaxDepth:   MaxJSONDepth,
		Duplicates: strictjson.RefuseFoldedDuplicates,
		Number:     canonicalNumber,
	}, valueBuilder{})
	if err != nil {
		return nil, fault.Wrap(fault.Input, err)
	}
	return v, nil
}

type valueBuilder struct{}

func (valueBuilder) String(s string) *value  { return &value{kind: '"', s: s} }
func (valueBuilder) Number(s string) *value  { return &value{kind: '0', s: s} }
func (valueBuilder) Literal(s string) *value { return &value{kind: 'l', s: s} }
func (valueBuilder) Array(elems []*value) *value {
	return &value{kind: '[', kids: slices.Clone(elems)}
}
func (valueBuilder) Object(names []string, vals []*value) *value {
	return &value{kind: '{', keys: slices.Clone(names), kids: slices.Clone(vals)}
}

// foldName folds a member name the way encoding/json (cnab-go) matches names
// to fields.
func foldName(k string) string { return strictjson.FoldName(k) }

// canonicalNumber returns the ECMAScript form RFC 8785 writes for a number,
// refusing numbers that form would change.
func canonicalNumber(lit string) (string, error) {
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil || math.IsInf(f, 0) {
		return "", fmt.Errorf("number %s is outside the IEEE 754 double range RFC 8785 requires", lit)
	}
	s, err := jsoncanonicalizer.NumberToJSON(f)
	if err != nil {
		return "", fmt.Errorf("number %s: %v", lit, err)
	}
	if _, _, zero, _ := normDecimal(lit); f == 0 && !zero {
		return "", fmt.Errorf("number %s is too small for an IEEE 754 double: RFC 8785 would change it to 0", lit)
	}
	if !sameDecimal(lit, s) && isIntegral(lit) {
		return "", fmt.Errorf("integer %s cannot be carried exactly by an IEEE 754 double: RFC 8785 would change it to %s", lit, s)
	}
	return s, nil
}

// sameDecimal reports whether two numbers in JSON/ECMAScript syntax denote
// the same decimal value (ignoring the sign of zero, which RFC 8785 drops).
func sameDecimal(a, b string) bool {
	na, ea, za, oka := normDecimal(a)
	nb, eb, zb, okb := normDecimal(b)
	if !oka || !okb {
		return false
	}
	if za || zb {
		return za && zb
	}
	return na == nb && ea == eb
}

// isIntegral reports whether a JSON number denotes an integer.
func isIntegral(lit string) bool {
	d, e, zero, ok := normDecimal(lit)
	return ok && (zero || e >= int64(len(strings.TrimPrefix(d, "-"))))
}

// normDecimal returns the significant digits (sign-prefixed, no leading or
// trailing zeros) and the exponent e such that value = 0.DIGITS × 10^e.
func normDecimal(s string) (digits string, exp int64, zero, ok bool) {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	mant, e := s, int64(0)
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		mant = s[:i]
		v, err := strconv.ParseInt(strings.TrimPrefix(s[i+1:], "+"), 10, 64)
		if err != nil || v > 1<<40 || v < -(1<<40) {
			return "", 0, false, false
		}
		e = v
	}
	intPart, frac := mant, ""
	if i := strings.IndexByte(mant, '.'); i >= 0 {
		intPart, frac = mant[:i], mant[i+1:]
	}
	all := intPart + frac
	pos := int64(len(intPart)) + e
	lead := len(all) - len(strings.TrimLeft(all, "0"))
	all = all[lead:]
	pos -= int64(lead)
	all = strings.TrimRight(all, "0")
	if all == "" {
		return "", 0, true, true
	}
	if neg {
		all = "-" + all
	}
	return all, pos, false, true
}

func writeCanonical(out *bytes.Buffer, v *value) {
	switch v.kind {
	case '{':
		order := make([]int, len(v.keys))
		for i := range order {
			order[i] = i
		}
		keys := v.keys
		slices.SortFunc(order, func(a, b int) int {
			if utf16Less(keys[a], keys[b]) {
				return -1
			}
			return 1 // member names are unique
		})
		out.WriteByte('{')
		for n, i := range order {
			if n > 0 {
				out.WriteByte(',')
			}
			writeString(out, v.keys[i])
			out.WriteByte(':')
			writeCanonical(out, v.kids[i])
		}
		out.WriteByte('}')
	case '[':
		out.WriteByte('[')
		for n, k := range v.kids {
			if n > 0 {
				out.WriteByte(',')
			}
			writeCanonical(out, k)
		}
		out.WriteByte(']')
	case '"':
		writeString(out, v.s)
	default:
		out.WriteString(v.s)
	}
}

func writeString(out *bytes.Buffer, s string) {
	const hex = "0123456789abcdef"
	out.WriteByte('"')
	last := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		out.WriteString(s[last:i])
		last = i + 1
		switch c {
		case '"', '\\':
			out.WriteByte('\\')
			out.WriteByte(c)
		case '\b':
			out.WriteString(`\b`)
		case '\f':
			out.WriteString(`\f`)
		case '\n':
			out.WriteString(`\n`)
		case '\r':
			out.WriteString(`\r`)
		case '\t':
			out.WriteString(`\t`)
		default:
			out.WriteString(`\u00`)
			out.WriteByte(hex[c>>4])
			out.WriteByte(hex[c&0xf])
		}
	}
	out.WriteString(s[last:])
	out.WriteByte('"')
}

// utf16Less orders strings by their UTF-16 code units, as RFC 8785 requires.
func utf16Less(a, b string) bool {
	for a != "" && b != "" {
		ra, na := utf8.DecodeRuneInString(a)
		rb, nb := utf8.DecodeRuneInString(b)
		if ra != rb {
			ua, ub := utf16Key(ra), utf16Key(rb)
			return ua < ub
		}
		a, b = a[na:], b[nb:]
	}
	return a == "" && b != ""
}

// utf16Key maps a rune to a value ordered like its first UTF-16 code unit
// (then the second): supplementary characters start with a high surrogate
// (0xD800-0xDBFF) and so sort below U+E000..U+FFFF.
func utf16Key(r rune) uint32 {
	if r >= 0x10000 {
		hi, lo := utf16.EncodeRune(r)
		return uint32(hi)<<16 | uint32(lo)
	}
	return uint32(r) << 16
}
