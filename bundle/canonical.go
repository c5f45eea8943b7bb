package bundle

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/cyberphone/json-canonicalization/go/src/webpki.org/jsoncanonicalizer"

	"github.com/cnabsec/cnabsec/internal/fault"
)

// MaxJSONDepth is the deepest nesting of objects and arrays accepted. Bundles
// nest a few levels; the limit stops stack exhaustion on hostile input.
const MaxJSONDepth = 256

var (
	// ErrNotCanonical: the bytes differ from the RFC 8785 form of their value.
	ErrNotCanonical = errors.New("not canonical JSON (RFC 8785)")
	// ErrDuplicateKey: an object names the same member twice (or twice up to
	// letter case), which different parsers resolve differently.
	ErrDuplicateKey = errors.New("duplicate object member")
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
	line, col := lineCol(raw, i)
	var got string
	if i < len(raw) {
		got = fmt.Sprintf("found %s where the canonical form has %s", excerpt(raw, i), excerpt(c, i))
	} else {
		got = "the input ends early"
	}
	if i == len(c) && i < len(raw) {
		got = fmt.Sprintf("%d bytes after the end of the canonical form (%s)", len(raw)-i, excerpt(raw, i))
	}
	return fault.WithHint(
		fault.Deniedf("%w: first difference at byte %d (line %d, column %d): %s", ErrNotCanonical, i, line, col, got),
		"write the canonical form with `cnabsec bundle canonicalize FILE --out FILE`")
}

func excerpt(b []byte, i int) string {
	end := i + 12
	if end > len(b) {
		end = len(b)
	}
	return strconv.Quote(string(b[i:end]))
}

func lineCol(b []byte, off int) (line, col int) {
	if off > len(b) {
		off = len(b)
	}
	line = 1 + bytes.Count(b[:off], []byte{'\n'})
	col = off - bytes.LastIndexByte(b[:off], '\n')
	return line, col
}

// value is a parsed JSON value.
type value struct {
	kind byte     // '{' object, '[' array, '"' string, '0' number, 'l' literal
	s    string   // string content, canonical number text, or literal
	keys []string // object member names, in document order
	kids []*value // object member values or array elements
}

type parser struct {
	b     []byte
	i     int
	depth int
}

func (p *parser) fail(format string, args ...any) error {
	line, col := lineCol(p.b, p.i)
	return fault.Inputf("invalid JSON at byte %d (line %d, column %d): "+format, append([]any{p.i, line, col}, args...)...)
}

func parseJSON(raw []byte) (*value, error) {
	p := &parser{b: raw}
	if bytes.HasPrefix(raw, []byte("\xef\xbb\xbf")) {
		return nil, p.fail("byte order mark (RFC 8259 forbids it in JSON texts)")
	}
	p.ws()
	v, err := p.value()
	if err != nil {
		return nil, err
	}
	p.ws()
	if p.i != len(p.b) {
		return nil, p.fail("unexpected %s after the JSON value", p.what())
	}
	return v, nil
}

func (p *parser) ws() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *parser) what() string {
	if p.i >= len(p.b) {
		return "end of input"
	}
	r, _ := utf8.DecodeRune(p.b[p.i:])
	return strconv.QuoteRune(r)
}

func (p *parser) value() (*value, error) {
	if p.i >= len(p.b) {
		return nil, p.fail("unexpected end of input, want a value")
	}
	switch c := p.b[p.i]; {
	case c == '{':
		return p.object()
	case c == '[':
		return p.array()
	case c == '"':
		s, err := p.str()
		if err != nil {
			return nil, err
		}
		return &value{kind: '"', s: s}, nil
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	default:
		for _, lit := range []string{"true", "false", "null"} {
			if bytes.HasPrefix(p.b[p.i:], []byte(lit)) {
				p.i += len(lit)
				return &value{kind: 'l', s: lit}, nil
			}
		}
		return nil, p.fail("unexpected %s, want a value", p.what())
	}
}

func (p *parser) enter() error {
	p.depth++
	if p.depth > MaxJSONDepth {
		return p.fail("nesting deeper than %d levels", MaxJSONDepth)
	}
	return nil
}

func (p *parser) object() (*value, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	p.i++ // '{'
	v := &value{kind: '{'}
	seen := map[string]int{}
	folded := map[string]string{}
	p.ws()
	if p.i < len(p.b) && p.b[p.i] == '}' {
		p.i++
		p.depth--
		return v, nil
	}
	for {
		p.ws()
		if p.i >= len(p.b) || p.b[p.i] != '"' {
			return nil, p.fail("unexpected %s, want a member name", p.what())
		}
		at := p.i
		k, err := p.str()
		if err != nil {
			return nil, err
		}
		if _, dup := seen[k]; dup {
			p.i = at
			return nil, p.fail("%w %q", ErrDuplicateKey, k)
		}
		// encoding/json (cnab-go) matches member names to fields without
		// regard to case: "contentDigest" and "ContentDigest" would both
		// fill one field while other parsers keep both. Refuse.
		f := foldName(k)
		if other, dup := folded[f]; dup {
			p.i = at
			return nil, p.fail("%w: %q and %q differ only in letter case", ErrDuplicateKey, other, k)
		}
		seen[k] = len(v.keys)
		folded[f] = k
		p.ws()
		if p.i >= len(p.b) || p.b[p.i] != ':' {
			return nil, p.fail("unexpected %s after member name %q, want ':'", p.what(), k)
		}
		p.i++
		p.ws()
		kid, err := p.value()
		if err != nil {
			return nil, err
		}
		v.keys = append(v.keys, k)
		v.kids = append(v.kids, kid)
		p.ws()
		if p.i < len(p.b) && p.b[p.i] == ',' {
			p.i++
			continue
		}
		if p.i < len(p.b) && p.b[p.i] == '}' {
			p.i++
			p.depth--
			return v, nil
		}
		return nil, p.fail("unexpected %s in object, want ',' or '}'", p.what())
	}
}

func (p *parser) array() (*value, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	p.i++ // '['
	v := &value{kind: '['}
	p.ws()
	if p.i < len(p.b) && p.b[p.i] == ']' {
		p.i++
		p.depth--
		return v, nil
	}
	for {
		p.ws()
		kid, err := p.value()
		if err != nil {
			return nil, err
		}
		v.kids = append(v.kids, kid)
		p.ws()
		if p.i < len(p.b) && p.b[p.i] == ',' {
			p.i++
			continue
		}
		if p.i < len(p.b) && p.b[p.i] == ']' {
			p.i++
			p.depth--
			return v, nil
		}
		return nil, p.fail("unexpected %s in array, want ',' or ']'", p.what())
	}
}

// str reads a string starting at the opening quote and returns its content.
func (p *parser) str() (string, error) {
	p.i++ // '"'
	start := p.i
	// Fast path: no escapes.
	for p.i < len(p.b) {
		c := p.b[p.i]
		if c == '"' {
			s := p.b[start:p.i]
			if !utf8.Valid(s) {
				p.i = start + invalidUTF8At(s)
				return "", p.fail("invalid UTF-8 in string")
			}
			p.i++
			return string(s), nil
		}
		if c == '\\' {
			break
		}
		if c < 0x20 {
			return "", p.fail("control character 0x%02x in string (must be escaped)", c)
		}
		p.i++
	}
	if !utf8.Valid(p.b[start:p.i]) {
		p.i = start + invalidUTF8At(p.b[start:p.i])
		return "", p.fail("invalid UTF-8 in string")
	}
	var sb strings.Builder
	sb.Write(p.b[start:p.i])
	for {
		if p.i >= len(p.b) {
			return "", p.fail("unterminated string")
		}
		c := p.b[p.i]
		switch {
		case c == '"':
			p.i++
			return sb.String(), nil
		case c < 0x20:
			return "", p.fail("control character 0x%02x in string (must be escaped)", c)
		case c == '\\':
			if p.i+1 >= len(p.b) {
				p.i++
				return "", p.fail("unterminated string")
			}
			e := p.b[p.i+1]
			switch e {
			case '"', '\\', '/':
				sb.WriteByte(e)
			case 'b':
				sb.WriteByte('\b')
			case 'f':
				sb.WriteByte('\f')
			case 'n':
				sb.WriteByte('\n')
			case 'r':
				sb.WriteByte('\r')
			case 't':
				sb.WriteByte('\t')
			case 'u':
				r, n, err := p.uescape()
				if err != nil {
					return "", err
				}
				sb.WriteRune(r)
				p.i += n
				continue
			default:
				return "", p.fail("invalid escape \\%c", e)
			}
			p.i += 2
		case c < utf8.RuneSelf:
			sb.WriteByte(c)
			p.i++
		default:
			r, n := utf8.DecodeRune(p.b[p.i:])
			if r == utf8.RuneError && n <= 1 {
				return "", p.fail("invalid UTF-8 in string")
			}
			sb.Write(p.b[p.i : p.i+n])
			p.i += n
		}
	}
}

// uescape decodes \uXXXX at p.i (with its low surrogate when XXXX is a high
// surrogate) and returns the rune and the number of bytes consumed.
func (p *parser) uescape() (rune, int, error) {
	hex4 := func(at int) (rune, bool) {
		if at+6 > len(p.b) || p.b[at] != '\\' || p.b[at+1] != 'u' {
			return 0, false
		}
		var r rune
		for _, c := range p.b[at+2 : at+6] {
			switch {
			case c >= '0' && c <= '9':
				r = r<<4 | rune(c-'0')
			case c >= 'a' && c <= 'f':
				r = r<<4 | rune(c-'a'+10)
			case c >= 'A' && c <= 'F':
				r = r<<4 | rune(c-'A'+10)
			default:
				return 0, false
			}
		}
		return r, true
	}
	r, ok := hex4(p.i)
	if !ok {
		return 0, 0, p.fail("invalid \\u escape (want four hex digits)")
	}
	switch {
	case r >= 0xDC00 && r <= 0xDFFF:
		return 0, 0, p.fail("lone low surrogate \\u%04x (not a Unicode character)", r)
	case r >= 0xD800 && r <= 0xDBFF:
		lo, ok := hex4(p.i + 6)
		if !ok || lo < 0xDC00 || lo > 0xDFFF {
			return 0, 0, p.fail("high surrogate \\u%04x not followed by a low surrogate escape", r)
		}
		return utf16.DecodeRune(r, lo), 12, nil
	}
	return r, 6, nil
}

// foldName folds a member name the way encoding/json matches names to
// fields (including the Kelvin sign K and the long s ſ).
func foldName(k string) string {
	return strings.Map(func(r rune) rune { return unicode.ToUpper(unicode.ToLower(r)) }, k)
}

func invalidUTF8At(s []byte) int {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(s)
}

// number reads a number with RFC 8259 grammar and returns its ECMAScript form,
// refusing numbers the form would change.
func (p *parser) number() (*value, error) {
	start := p.i
	digits := func() int {
		n := 0
		for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
			p.i++
			n++
		}
		return n
	}
	if p.b[p.i] == '-' {
		p.i++
	}
	if p.i < len(p.b) && p.b[p.i] == '0' {
		p.i++
		if p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
			return nil, p.fail("number with a leading zero")
		}
	} else if digits() == 0 {
		return nil, p.fail("invalid number: want a digit after '-'")
	}
	if p.i < len(p.b) && p.b[p.i] == '.' {
		p.i++
		if digits() == 0 {
			return nil, p.fail("invalid number: want a digit after '.'")
		}
	}
	if p.i < len(p.b) && (p.b[p.i] == 'e' || p.b[p.i] == 'E') {
		p.i++
		if p.i < len(p.b) && (p.b[p.i] == '+' || p.b[p.i] == '-') {
			p.i++
		}
		if digits() == 0 {
			return nil, p.fail("invalid number: want a digit in the exponent")
		}
	}
	lit := string(p.b[start:p.i])
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil || math.IsInf(f, 0) {
		p.i = start
		return nil, p.fail("number %s is outside the IEEE 754 double range RFC 8785 requires", lit)
	}
	s, err := jsoncanonicalizer.NumberToJSON(f)
	if err != nil {
		p.i = start
		return nil, p.fail("number %s: %v", lit, err)
	}
	if _, _, zero, _ := normDecimal(lit); f == 0 && !zero {
		p.i = start
		return nil, p.fail("number %s is too small for an IEEE 754 double: RFC 8785 would change it to 0", lit)
	}
	if !sameDecimal(lit, s) && isIntegral(lit) {
		p.i = start
		return nil, p.fail("integer %s cannot be carried exactly by an IEEE 754 double: RFC 8785 would change it to %s", lit, s)
	}
	return &value{kind: '0', s: s}, nil
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
