package generic

import (
	"unicode/utf16"
	"unicode/utf8"
)

// scanner is a small JSON tokenizer over a byte slice. It never builds a
// value tree: converters ask it for the next token and write their output
// as they go.
type scanner struct {
	src []byte
	pos int
	buf []byte // scratch for unescaped strings
	// escaped is true when the last str result is in buf (it had
	// escapes), false when it aliases src.
	escaped bool
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// peek skips white space and returns the next byte, or 0 at the end.
func (s *scanner) peek() byte {
	for s.pos < len(s.src) && isSpace(s.src[s.pos]) {
		s.pos++
	}
	if s.pos == len(s.src) {
		return 0
	}
	return s.src[s.pos]
}

// what names the next token for messages.
func (s *scanner) what() string {
	switch c := s.peek(); {
	case c == 0:
		return "end of input"
	case c == '{':
		return "an object"
	case c == '[':
		return "an array"
	case c == '"':
		return "a string"
	case c == 't' || c == 'f':
		return "a boolean"
	case c == 'n':
		return "null"
	case c == '-' || c >= '0' && c <= '9':
		return "a number"
	default:
		return "invalid character " + quoteByte(c)
	}
}

func quoteByte(c byte) string {
	if c >= 0x20 && c < 0x7f {
		return "'" + string(rune(c)) + "'"
	}
	const hex = "0123456789abcdef"
	return "0x" + string([]byte{hex[c>>4], hex[c&15]})
}

// consume skips the byte c (after white space) and reports whether it was
// there.
func (s *scanner) consume(c byte) bool {
	if s.peek() == c {
		s.pos++
		return true
	}
	return false
}

// literal consumes the word w (true, false, null) and reports whether it
// was there, whole.
func (s *scanner) literal(w string) bool {
	s.peek()
	if len(s.src)-s.pos < len(w) || string(s.src[s.pos:s.pos+len(w)]) != w {
		return false
	}
	end := s.pos + len(w)
	if end < len(s.src) && isIdentByte(s.src[end]) {
		return false
	}
	s.pos = end
	return true
}

func isIdentByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

// number consumes a JSON number and returns its text; ok is false (and
// nothing consumed) if the next token is not a well-formed number.
func (s *scanner) number() (text []byte, ok bool) {
	s.peek()
	i := s.pos
	src := s.src
	if i < len(src) && src[i] == '-' {
		i++
	}
	if i == len(src) {
		return nil, false
	}
	switch {
	case src[i] == '0':
		i++
	case src[i] >= '1' && src[i] <= '9':
		for i < len(src) && src[i] >= '0' && src[i] <= '9' {
			i++
		}
	default:
		return nil, false
	}
	if i < len(src) && src[i] == '.' {
		i++
		start := i
		for i < len(src) && src[i] >= '0' && src[i] <= '9' {
			i++
		}
		if i == start {
			return nil, false
		}
	}
	if i < len(src) && (src[i] == 'e' || src[i] == 'E') {
		i++
		if i < len(src) && (src[i] == '+' || src[i] == '-') {
			i++
		}
		start := i
		for i < len(src) && src[i] >= '0' && src[i] <= '9' {
			i++
		}
		if i == start {
			return nil, false
		}
	}
	text = src[s.pos:i]
	s.pos = i
	return text, true
}

// str consumes a JSON string and returns its unescaped content. The
// result aliases the input when the string has no escapes, else the
// scanner's scratch buffer: it is valid until the next call of str.
func (s *scanner) str() ([]byte, bool) {
	if s.peek() != '"' {
		return nil, false
	}
	i := s.pos + 1
	src := s.src
	start := i
	for i < len(src) {
		c := src[i]
		if c == '"' {
			s.pos = i + 1
			s.escaped = false
			return src[start:i], true
		}
		if c == '\\' || c < 0x20 {
			break
		}
		i++
	}
	// Slow path: escapes.
	buf := append(s.buf[:0], src[start:i]...)
	for i < len(src) {
		c := src[i]
		switch {
		case c == '"':
			s.pos = i + 1
			s.buf = buf
			s.escaped = true
			return buf, true
		case c < 0x20:
			return nil, false
		case c != '\\':
			buf = append(buf, c)
			i++
			continue
		}
		i++
		if i == len(src) {
			return nil, false
		}
		switch src[i] {
		case '"', '\\', '/':
			buf = append(buf, src[i])
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, ok := hex4(src[i+1:])
			if !ok {
				return nil, false
			}
			i += 4
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if i+2 < len(src) && src[i+1] == '\\' && src[i+2] == 'u' {
					if v, ok := hex4(src[i+3:]); ok {
						r2 = v
					}
				}
				if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
					r = d
					i += 6
				} else {
					r = utf8.RuneError
				}
			}
			buf = utf8.AppendRune(buf, r)
		default:
			return nil, false
		}
		i++
	}
	return nil, false
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
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

// skip consumes one JSON value of any kind, checking its syntax; depth
// bounds the nesting.
func (s *scanner) skip(depth int) bool {
	if depth > maxDepth {
		return false
	}
	switch s.peek() {
	case '{':
		s.pos++
		if s.consume('}') {
			return true
		}
		for {
			if _, ok := s.str(); !ok || !s.consume(':') || !s.skip(depth+1) {
				return false
			}
			if s.consume('}') {
				return true
			}
			if !s.consume(',') {
				return false
			}
		}
	case '[':
		s.pos++
		if s.consume(']') {
			return true
		}
		for {
			if !s.skip(depth + 1) {
				return false
			}
			if s.consume(']') {
				return true
			}
			if !s.consume(',') {
				return false
			}
		}
	case '"':
		_, ok := s.str()
		return ok
	case 't':
		return s.literal("true")
	case 'f':
		return s.literal("false")
	case 'n':
		return s.literal("null")
	default:
		_, ok := s.number()
		return ok
	}
}

// maxDepth bounds the nesting of values converters follow, in JSON and on
// the Thrift wire.
const maxDepth = 64

// parseInt parses the text of a JSON integer (no fraction, no exponent)
// within [min, max].
func parseInt(text []byte, lo, hi int64) (int64, string) {
	neg := false
	i := 0
	if len(text) > 0 && text[0] == '-' {
		neg, i = true, 1
	}
	if i == len(text) {
		return 0, "not an integer"
	}
	var u uint64
	for ; i < len(text); i++ {
		c := text[i]
		if c < '0' || c > '9' {
			return 0, "not an integer"
		}
		if u > (1<<63)/10 {
			return 0, "overflow"
		}
		u = u*10 + uint64(c-'0')
		if u > 1<<63 {
			return 0, "overflow"
		}
	}
	var v int64
	if neg {
		v = -int64(u) // u == 1<<63 gives math.MinInt64
	} else {
		if u > 1<<63-1 {
			return 0, "overflow"
		}
		v = int64(u)
	}
	if v < lo || v > hi {
		return 0, "overflow"
	}
	return v, ""
}
