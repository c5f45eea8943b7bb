package strictjson

import (
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// str reads a string starting at its opening quote and returns its content.
// Like number and uescape, it is the parser's hot loop over RFC 8259's
// grammar, kept in one function on purpose (the documented exception to the
// project's complexity limit: docs/design.md, "Complexity").
func (p *parser[V]) str() (string, error) {
	p.i++ // '"'
	start := p.i
	// Fast path: no escapes.
	for p.i < len(p.b) {
		c := p.b[p.i]
		if c == '"' {
			s := p.b[start:p.i]
			if !utf8.Valid(s) {
				if !p.opts.ReplaceInvalidUTF8 {
					p.i = start + invalidUTF8At(s)
					return "", p.fail("invalid UTF-8 in string")
				}
				p.i++
				return string(appendReplacingInvalid(nil, s)), nil
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
	head := p.b[start:p.i]
	if !utf8.Valid(head) && !p.opts.ReplaceInvalidUTF8 {
		p.i = start + invalidUTF8At(head)
		return "", p.fail("invalid UTF-8 in string")
	}
	var out strings.Builder
	out.Grow(len(head) + 16)
	out.Write(appendReplacingInvalid(nil, head))
	for {
		if p.i >= len(p.b) {
			return "", p.fail("unterminated string")
		}
		c := p.b[p.i]
		switch {
		case c == '"':
			p.i++
			return out.String(), nil
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
				out.WriteByte(e)
			case 'b':
				out.WriteByte('\b')
			case 'f':
				out.WriteByte('\f')
			case 'n':
				out.WriteByte('\n')
			case 'r':
				out.WriteByte('\r')
			case 't':
				out.WriteByte('\t')
			case 'u':
				r, n, err := p.uescape()
				if err != nil {
					return "", err
				}
				out.WriteRune(r)
				p.i += n
				continue
			default:
				return "", p.fail("invalid escape \\%c", e)
			}
			p.i += 2
		case c < utf8.RuneSelf:
			out.WriteByte(c)
			p.i++
		default:
			r, n := utf8.DecodeRune(p.b[p.i:])
			if r == utf8.RuneError && n <= 1 {
				if !p.opts.ReplaceInvalidUTF8 {
					return "", p.fail("invalid UTF-8 in string")
				}
				out.WriteRune(utf8.RuneError)
			} else {
				out.Write(p.b[p.i : p.i+n])
			}
			p.i += n
		}
	}
}

// uescape decodes \uXXXX at p.i (with its low surrogate when XXXX is a high
// surrogate) and returns the rune and the number of bytes consumed. A lone
// surrogate is an error, or U+FFFD (consuming only its own escape) under
// ReplaceInvalidUTF8.
func (p *parser[V]) uescape() (rune, int, error) {
	hex4 := func(at int) (rune, bool) {
		if at+6 > len(p.b) || p.b[at] != '\\' || p.b[at+1] != 'u' {
			return 0, false
		}
		var r rune
		for _, c := range p.b[at+2 : at+6] {
			switch {
			case '0' <= c && c <= '9':
				r = r<<4 | rune(c-'0')
			case 'a' <= c && c <= 'f':
				r = r<<4 | rune(c-'a'+10)
			case 'A' <= c && c <= 'F':
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
	case 0xDC00 <= r && r <= 0xDFFF:
		if p.opts.ReplaceInvalidUTF8 {
			return utf8.RuneError, 6, nil
		}
		return 0, 0, p.fail("lone low surrogate \\u%04x (not a Unicode character)", r)
	case 0xD800 <= r && r <= 0xDBFF:
		lo, ok := hex4(p.i + 6)
		if ok && 0xDC00 <= lo && lo <= 0xDFFF {
			return utf16.DecodeRune(r, lo), 12, nil
		}
		if p.opts.ReplaceInvalidUTF8 {
			return utf8.RuneError, 6, nil
		}
		return 0, 0, p.fail("high surrogate \\u%04x not followed by a low surrogate escape", r)
	}
	return r, 6, nil
}

// invalidUTF8At returns the offset of the first invalid UTF-8 byte in s.
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

// appendReplacingInvalid appends s with each invalid UTF-8 byte replaced by
// U+FFFD.
func appendReplacingInvalid(out, s []byte) []byte {
	if utf8.Valid(s) {
		return append(out, s...)
	}
	for len(s) > 0 {
		r, n := utf8.DecodeRune(s)
		if r == utf8.RuneError && n == 1 {
			out = utf8.AppendRune(out, utf8.RuneError)
		} else {
			out = append(out, s[:n]...)
		}
		s = s[n:]
	}
	return out
}
