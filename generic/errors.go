package generic

import (
	"strconv"
	"strings"
)

// Error is a conversion error: a value that does not fit the IDL, found
// before anything is sent (a request) or while a reply is read. Path names
// the value from the root of the conversion, such as
// `req.items[2].tags["k"]`; it is "" for the root itself.
type Error struct {
	// Path is the path of the offending value.
	Path string
	// Msg says what is wrong with it.
	Msg string
}

// Error returns "generic: <path>: <msg>".
func (e *Error) Error() string {
	if e.Path == "" {
		return "generic: " + e.Msg
	}
	return "generic: " + e.Path + ": " + e.Msg
}

// pathElem is one step of a path: a field name, a list index or a map key.
type pathElem struct {
	name  string // field name, or map key
	raw   []byte // map key when it aliases the input (not copied unless needed)
	index int
	kind  uint8 // 0 field, 1 index, 2 map key
}

// path is the stack of steps a converter is at. Pushing and popping does
// not allocate once the stack has grown; the string is built only for an
// error.
type path []pathElem

func (p *path) field(name string) { *p = append(*p, pathElem{name: name}) }
func (p *path) index(i int)       { *p = append(*p, pathElem{index: i, kind: 1}) }
func (p *path) key(k string)      { *p = append(*p, pathElem{name: k, kind: 2}) }

// keyBytes pushes a map key that stays valid (unmodified) while it is on
// the path.
func (p *path) keyBytes(k []byte) { *p = append(*p, pathElem{raw: k, kind: 2}) }
func (p *path) pop()              { *p = (*p)[:len(*p)-1] }

func (p path) String() string {
	var b strings.Builder
	for _, e := range p {
		switch e.kind {
		case 0:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(e.name)
		case 1:
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(e.index))
			b.WriteByte(']')
		case 2:
			name := e.name
			if e.raw != nil {
				name = string(e.raw)
			}
			b.WriteByte('[')
			b.WriteString(strconv.Quote(name))
			b.WriteByte(']')
		}
	}
	return b.String()
}

func (p path) errorf(msg string) error { return &Error{Path: p.String(), Msg: msg} }
