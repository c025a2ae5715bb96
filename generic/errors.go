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

	// steps is the path gathered, innermost step first, while the error
	// is returned up through the values that contain the offending one;
	// finish turns it into Path.
	steps []pathElem
}

// stepField, stepIndex and stepKey add a step to the path of err, a
// conversion error returned up through a struct field, a list element or
// a map entry. Other errors pass unchanged.
func stepField(err error, name string) error { return step(err, pathElem{name: name}) }
func stepIndex(err error, i int) error       { return step(err, pathElem{index: i, kind: 1}) }
func stepKey(err error, k []byte) error      { return step(err, pathElem{name: string(k), kind: 2}) }

func step(err error, s pathElem) error {
	if e, ok := err.(*Error); ok {
		e.steps = append(e.steps, s)
	}
	return err
}

// finish sets the Path of err, a conversion error, to prefix followed by
// the steps it gathered.
func finish(err error, prefix path) error {
	e, ok := err.(*Error)
	if !ok || e.steps == nil && e.Path != "" {
		return err
	}
	p := append(path{}, prefix...)
	for i := len(e.steps) - 1; i >= 0; i-- {
		p = append(p, e.steps[i])
	}
	e.Path, e.steps = p.String(), nil
	return err
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

func (p *path) pop() { *p = (*p)[:len(*p)-1] }

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
			b.WriteByte('[')
			b.WriteString(strconv.Quote(e.name))
			b.WriteByte(']')
		}
	}
	return b.String()
}

func (p path) errorf(msg string) error { return &Error{Path: p.String(), Msg: msg} }
