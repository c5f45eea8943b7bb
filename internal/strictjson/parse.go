// Package strictjson is cnabsec's one hand-written JSON parser: a single pass
// over RFC 8259 text that hands each value to the caller's Builder (so each
// caller builds its own tree, with no intermediate one) and reports every
// refusal as a *SyntaxError naming the byte offset, line, column and reason.
//
// Two readings are offered. The strict one (the default) refuses invalid UTF-8
// and lone surrogate escapes; the lenient one (ReplaceInvalidUTF8) reads them
// as encoding/json does, as U+FFFD. Duplicate member names are passed on,
// refused, or refused also when they differ only in letter case the way
// encoding/json matches names to struct fields.
package strictjson

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// DefaultMaxDepth is encoding/json's nesting limit, used when
// Options.MaxDepth is 0.
const DefaultMaxDepth = 10000

// ErrDuplicateName is wrapped by the SyntaxError for a member name given
// twice in one object (see Duplicates).
var ErrDuplicateName = errors.New("duplicate object member")

// Duplicates says what to do with a member name seen twice in one object.
type Duplicates int

const (
	// PassDuplicates hands every member to the Builder in document order
	// (a map-building Builder then keeps the last, as encoding/json does).
	PassDuplicates Duplicates = iota
	// RefuseDuplicates refuses a name given twice (after unescaping).
	RefuseDuplicates
	// RefuseFoldedDuplicates also refuses two names that encoding/json would
	// match to one struct field (equal up to letter case, including the
	// Kelvin sign K and the long s ſ).
	RefuseFoldedDuplicates
)

// Options select the reading.
type Options struct {
	// MaxDepth is the deepest nesting of objects and arrays accepted
	// (0: DefaultMaxDepth).
	MaxDepth int
	// ReplaceInvalidUTF8 reads invalid UTF-8 bytes and lone surrogate
	// escapes as U+FFFD (encoding/json's reading) instead of refusing them.
	ReplaceInvalidUTF8 bool
	Duplicates         Duplicates
	// Number, when set, is given the text of each number (its RFC 8259
	// grammar already checked) and returns the text handed to the Builder,
	// or an error that is reported at the number's offset.
	Number func(lit string) (string, error)
	// KnownNames are member names that are handed to the Builder as these
	// very strings when written plainly (without escapes) instead of as a
	// new string each time: a document repeating a member name thousands
	// of times then allocates it once. Names holding '"', '\\', control
	// characters or invalid UTF-8 are not looked for.
	KnownNames []string
}

// Builder makes the caller's values. The slices passed to Array and Object
// are reused after the call: copy what is kept.
type Builder[V any] interface {
	String(s string) V
	Number(text string) V
	Literal(lit string) V // "true", "false" or "null"
	Array(elems []V) V
	Object(names []string, values []V) V
}

// SyntaxError is a refusal at a position of the input.
type SyntaxError struct {
	Offset int // byte offset of the offending byte
	Line   int // 1-based
	Column int // 1-based, in bytes
	Reason string
	Err    error // a sentinel (ErrDuplicateName) or the Number hook's error; may be nil
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("invalid JSON at byte %d (line %d, column %d): %s", e.Offset, e.Line, e.Column, e.Reason)
}

func (e *SyntaxError) Unwrap() error { return e.Err }

// LineCol returns the 1-based line and byte column of offset off in b.
func LineCol(b []byte, off int) (line, col int) {
	off = min(off, len(b))
	line = 1 + bytes.Count(b[:off], []byte{'\n'})
	col = off - bytes.LastIndexByte(b[:off], '\n')
	return line, col
}

// Parse reads exactly one JSON value (surrounded by optional white space)
// from b and returns what build made of it.
func Parse[V any](b []byte, opts Options, build Builder[V]) (V, error) {
	if opts.MaxDepth == 0 {
		opts.MaxDepth = DefaultMaxDepth
	}
	p := &parser[V]{b: b, opts: opts, build: build}
	p.opts.KnownNames = slices.DeleteFunc(slices.Clone(opts.KnownNames), func(k string) bool { return !plainName(k) })
	var zero V
	if bytes.HasPrefix(b, []byte("\xef\xbb\xbf")) {
		return zero, p.fail("byte order mark (RFC 8259 forbids it in JSON texts)")
	}
	p.ws()
	v, err := p.value()
	if err != nil {
		return zero, err
	}
	p.ws()
	if p.i != len(p.b) {
		return zero, p.fail("unexpected %s after the JSON value", p.what())
	}
	return v, nil
}

type parser[V any] struct {
	b     []byte
	i     int
	depth int
	opts  Options
	build Builder[V]
	// vals and names are stacks shared by all open containers: a
	// container's members are the tail from where it started.
	vals  []V
	names []string
}

func (p *parser[V]) failErr(err error, format string, args ...any) error {
	line, col := LineCol(p.b, p.i)
	return &SyntaxError{Offset: p.i, Line: line, Column: col, Reason: fmt.Sprintf(format, args...), Err: err}
}

func (p *parser[V]) fail(format string, args ...any) error { return p.failErr(nil, format, args...) }

func (p *parser[V]) ws() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// what names the byte at p.i for an error message.
func (p *parser[V]) what() string {
	if p.i >= len(p.b) {
		return "end of input"
	}
	r, _ := utf8.DecodeRune(p.b[p.i:])
	return strconv.QuoteRune(r)
}

func (p *parser[V]) value() (V, error) {
	var zero V
	if p.i >= len(p.b) {
		return zero, p.fail("unexpected end of input, want a value")
	}
	switch c := p.b[p.i]; {
	case c == '{':
		return p.object()
	case c == '[':
		return p.array()
	case c == '"':
		s, err := p.str()
		if err != nil {
			return zero, err
		}
		return p.build.String(s), nil
	case c == '-' || '0' <= c && c <= '9':
		return p.number()
	}
	for _, lit := range [...]string{"true", "false", "null"} {
		if bytes.HasPrefix(p.b[p.i:], []byte(lit)) {
			p.i += len(lit)
			return p.build.Literal(lit), nil
		}
	}
	return zero, p.fail("unexpected %s, want a value", p.what())
}

func (p *parser[V]) enter() error {
	p.depth++
	if p.depth > p.opts.MaxDepth {
		return p.fail("nesting deeper than %d levels", p.opts.MaxDepth)
	}
	return nil
}

func (p *parser[V]) object() (V, error) {
	var zero V
	if err := p.enter(); err != nil {
		return zero, err
	}
	p.i++ // '{'
	start, startVals := len(p.names), len(p.vals)
	var d dupCheck
	p.ws()
	if p.i < len(p.b) && p.b[p.i] == '}' {
		p.i++
		p.depth--
		return p.build.Object(nil, nil), nil
	}
	for {
		p.ws()
		if p.i >= len(p.b) || p.b[p.i] != '"' {
			return zero, p.fail("unexpected %s, want a member name", p.what())
		}
		at := p.i
		k, known := p.knownName()
		if !known {
			var err error
			if k, err = p.str(); err != nil {
				return zero, err
			}
		}
		if p.opts.Duplicates != PassDuplicates {
			if other, dup := d.add(k, p.names[start:], p.opts.Duplicates == RefuseFoldedDuplicates); dup {
				p.i = at
				if other == k {
					return zero, p.failErr(ErrDuplicateName, "%v %q", ErrDuplicateName, k)
				}
				return zero, p.failErr(ErrDuplicateName, "%v: %q and %q differ only in letter case", ErrDuplicateName, other, k)
			}
		}
		p.ws()
		if p.i >= len(p.b) || p.b[p.i] != ':' {
			return zero, p.fail("unexpected %s after member name %q, want ':'", p.what(), k)
		}
		p.i++
		p.ws()
		v, err := p.value()
		if err != nil {
			return zero, err
		}
		p.names = push(p.names, k)
		p.vals = push(p.vals, v)
		p.ws()
		if p.i < len(p.b) && p.b[p.i] == ',' {
			p.i++
			continue
		}
		if p.i < len(p.b) && p.b[p.i] == '}' {
			p.i++
			p.depth--
			o := p.build.Object(p.names[start:], p.vals[startVals:])
			p.names, p.vals = p.names[:start], p.vals[:startVals]
			return o, nil
		}
		return zero, p.fail("unexpected %s in object, want ',' or '}'", p.what())
	}
}

// knownName reads, at an opening quote, a member name of Options.KnownNames
// written without escapes (Parse keeps only the names plainName accepts).
func (p *parser[V]) knownName() (string, bool) {
	for _, k := range p.opts.KnownNames {
		end := p.i + 1 + len(k)
		if end < len(p.b) && p.b[end] == '"' && string(p.b[p.i+1:end]) == k {
			p.i = end + 1
			return k, true
		}
	}
	return "", false
}

// plainName reports whether k is written in JSON as itself between quotes.
func plainName(k string) bool {
	for i := 0; i < len(k); i++ {
		if c := k[i]; c < 0x20 || c == '"' || c == '\\' {
			return false
		}
	}
	return utf8.ValidString(k)
}

// push appends v to a parser stack, doubling its capacity when full: append
// grows a large slice by a quarter at a time, which for a document of a
// million values allocates five times the stack's final size in all.
func push[T any](s []T, v T) []T {
	if len(s) == cap(s) {
		s = slices.Grow(s, max(len(s), 64))
	}
	return append(s, v)
}

// dupCheck finds a repeated member name in one object: by comparing with
// the earlier names while there are few, then with maps.
type dupCheck struct {
	seen   map[string]struct{}
	folded map[string]string // folded name → name as written
}

// smallObject is the member count up to which names are compared one by one.
const smallObject = 16

// add checks k against the earlier names of its object and returns the
// earlier name it duplicates, if any.
func (d *dupCheck) add(k string, earlier []string, fold bool) (string, bool) {
	if d.seen == nil && len(earlier) < smallObject {
		for _, n := range earlier {
			if n == k {
				return k, true
			}
		}
		if fold {
			for _, n := range earlier {
				if foldEqual(n, k) {
					return n, true
				}
			}
		}
		return "", false
	}
	if d.seen == nil {
		d.seen = make(map[string]struct{}, 2*len(earlier))
		d.folded = map[string]string{}
		for _, n := range earlier {
			d.seen[n] = struct{}{}
			if fold {
				d.folded[FoldName(n)] = n
			}
		}
	}
	if _, dup := d.seen[k]; dup {
		return k, true
	}
	d.seen[k] = struct{}{}
	if fold {
		f := FoldName(k)
		if other, dup := d.folded[f]; dup {
			return other, true
		}
		d.folded[f] = k
	}
	return "", false
}

// foldEqual reports whether FoldName(a) == FoldName(b), without allocating.
func foldEqual(a, b string) bool {
	for a != "" && b != "" {
		if a[0] < utf8.RuneSelf && b[0] < utf8.RuneSelf {
			ca, cb := a[0], b[0]
			if 'a' <= ca && ca <= 'z' {
				ca -= 'a' - 'A'
			}
			if 'a' <= cb && cb <= 'z' {
				cb -= 'a' - 'A'
			}
			if ca != cb {
				return false
			}
			a, b = a[1:], b[1:]
			continue
		}
		ra, na := utf8.DecodeRuneInString(a)
		rb, nb := utf8.DecodeRuneInString(b)
		if foldRune(ra) != foldRune(rb) {
			return false
		}
		a, b = a[na:], b[nb:]
	}
	return a == "" && b == ""
}

func foldRune(r rune) rune { return unicode.ToUpper(unicode.ToLower(r)) }

// FoldName folds a member name the way encoding/json matches names to
// struct fields: two names with equal folds fill the same field.
func FoldName(k string) string {
	return strings.Map(foldRune, k)
}

func (p *parser[V]) array() (V, error) {
	var zero V
	if err := p.enter(); err != nil {
		return zero, err
	}
	p.i++ // '['
	start := len(p.vals)
	p.ws()
	if p.i < len(p.b) && p.b[p.i] == ']' {
		p.i++
		p.depth--
		return p.build.Array(nil), nil
	}
	for {
		p.ws()
		v, err := p.value()
		if err != nil {
			return zero, err
		}
		p.vals = push(p.vals, v)
		p.ws()
		if p.i < len(p.b) && p.b[p.i] == ',' {
			p.i++
			continue
		}
		if p.i < len(p.b) && p.b[p.i] == ']' {
			p.i++
			p.depth--
			a := p.build.Array(p.vals[start:])
			p.vals = p.vals[:start]
			return a, nil
		}
		return zero, p.fail("unexpected %s in array, want ',' or ']'", p.what())
	}
}

// number reads a number with RFC 8259 grammar.
func (p *parser[V]) number() (V, error) {
	var zero V
	start := p.i
	digits := func() int {
		n := 0
		for p.i < len(p.b) && '0' <= p.b[p.i] && p.b[p.i] <= '9' {
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
		if p.i < len(p.b) && '0' <= p.b[p.i] && p.b[p.i] <= '9' {
			return zero, p.fail("number with a leading zero")
		}
	} else if digits() == 0 {
		return zero, p.fail("invalid number: want a digit after '-'")
	}
	if p.i < len(p.b) && p.b[p.i] == '.' {
		p.i++
		if digits() == 0 {
			return zero, p.fail("invalid number: want a digit after '.'")
		}
	}
	if p.i < len(p.b) && (p.b[p.i] == 'e' || p.b[p.i] == 'E') {
		p.i++
		if p.i < len(p.b) && (p.b[p.i] == '+' || p.b[p.i] == '-') {
			p.i++
		}
		if digits() == 0 {
			return zero, p.fail("invalid number: want a digit in the exponent")
		}
	}
	lit := string(p.b[start:p.i])
	if p.opts.Number != nil {
		var err error
		if lit, err = p.opts.Number(lit); err != nil {
			p.i = start
			return zero, p.failErr(err, "%v", err)
		}
	}
	return p.build.Number(lit), nil
}
