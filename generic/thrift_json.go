package generic

import (
	"strconv"
	"sync"
	"unsafe"
)

// pathDepth is the path depth a converter holds without allocating.
const pathDepth = 24

// newString returns b as a string without copying. b must not be written
// to afterwards.
func newString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// JSONOption configures how ThriftJSON writes JSON. Reading accepts every
// form regardless.
type JSONOption func(*jsonOptions)

type jsonOptions struct {
	i64Strings bool
	enumNames  bool
}

// WithI64AsString writes i64 values as JSON strings ("9007199254740993")
// instead of numbers, for readers (JavaScript) whose numbers are doubles
// and lose precision beyond 2^53. The default writes numbers. Either form
// is accepted on input.
func WithI64AsString() JSONOption { return func(o *jsonOptions) { o.i64Strings = true } }

// WithEnumNames writes enum values by name ("RED") instead of by number;
// a value the IDL does not name is still written as a number. The default
// writes numbers, as Kitex does. Either form is accepted on input.
func WithEnumNames() JSONOption { return func(o *jsonOptions) { o.enumNames = true } }

// jsonForm converts between JSON text and Thrift args and result structs.
type jsonForm struct {
	opts jsonOptions
	encs sync.Pool // *jsonToThrift, with their scratch buffers and path stacks
	decs sync.Pool // *thriftToJSON
}

func (f *jsonForm) encoder(src, buf []byte) *jsonToThrift {
	e, _ := f.encs.Get().(*jsonToThrift)
	if e == nil {
		e = &jsonToThrift{path: make(path, 0, pathDepth)}
	}
	e.s = scanner{src: src, buf: e.s.buf[:0]}
	e.out, e.path = buf, e.path[:0]
	return e
}

func (f *jsonForm) putEncoder(e *jsonToThrift) {
	e.s.src, e.out = nil, nil
	if cap(e.s.buf) > 64<<10 {
		e.s.buf = nil
	}
	clear(e.path[:cap(e.path)])
	f.encs.Put(e)
}

func (f *jsonForm) decoder(raw []byte) *thriftToJSON {
	d, _ := f.decs.Get().(*thriftToJSON)
	if d == nil {
		d = &thriftToJSON{r: wireReader{path: make(path, 0, pathDepth)}}
	}
	d.r = wireReader{b: raw, path: d.r.path[:0]}
	d.opts = &f.opts
	d.out = make([]byte, 0, 2*len(raw)+16)
	return d
}

func (f *jsonForm) putDecoder(d *thriftToJSON) {
	d.r.b, d.out = nil, nil
	clear(d.r.path[:cap(d.r.path)])
	f.decs.Put(d)
}

func jsonText(req any) ([]byte, error) {
	switch v := req.(type) {
	case string:
		// Read only: the converters never write to their input.
		return unsafe.Slice(unsafe.StringData(v), len(v)), nil
	case []byte:
		return v, nil
	case nil:
		return nil, nil
	}
	return nil, &Error{Msg: "JSON generic: the request must be a string or []byte, not " + typeName(req)}
}

func typeName(v any) string {
	if v == nil {
		return "nil"
	}
	return fmtType(v)
}

// encodeArgs appends the args struct of m for the JSON request req.
func (f *jsonForm) encodeArgs(m *methodDesc, req any, buf []byte) ([]byte, error) {
	src, err := jsonText(req)
	if err != nil {
		return nil, err
	}
	e := f.encoder(src, buf)
	defer f.putEncoder(e)
	if err := e.args(m, src); err != nil {
		return nil, err
	}
	return e.out, nil
}

// decodeResult returns the JSON of the success value in the result
// struct raw ("" for a void method), or an *ExceptionError holding a
// declared exception's JSON.
func (f *jsonForm) decodeResult(m *methodDesc, raw []byte) (any, error) {
	d := f.decoder(raw)
	defer f.putDecoder(d)
	fd, err := findResult(&d.r, m)
	if err != nil {
		return nil, err
	}
	if fd == nil {
		return "", nil
	}
	d.r.path.field(fd.name)
	if err := d.value(fd.typ, 0); err != nil {
		return nil, err
	}
	if fd.id != 0 {
		return nil, &ExceptionError{Method: m.name, Name: fd.name, Value: newString(d.out)}
	}
	return newString(d.out), nil
}

// findResult reads the result struct up to the field that holds the
// outcome and returns its descriptor, with the reader at its value; nil
// for a void method's empty result.
func findResult(r *wireReader, m *methodDesc) (*fieldDesc, error) {
	for {
		ft, err := r.byte1()
		if err != nil {
			return nil, err
		}
		if ft == tStop {
			if m.void {
				return nil, nil
			}
			return nil, &Error{Msg: m.name + " failed: unknown result (the reply holds no value)"}
		}
		id, err := r.i16()
		if err != nil {
			return nil, err
		}
		fd := m.result.byID[id]
		if fd == nil || fd.typ.wire != ft {
			if err := r.skip(ft, 1); err != nil {
				return nil, err
			}
			continue
		}
		return fd, nil
	}
}

// decodeArgs returns the JSON of the request in the args struct raw: the
// one argument's value, null when it is absent; with several arguments an
// object keyed by argument name.
func (f *jsonForm) decodeArgs(m *methodDesc, raw []byte) (any, error) {
	d := f.decoder(raw)
	defer f.putDecoder(d)
	if len(m.args.fields) != 1 {
		if err := d.structValue(m.args, 0); err != nil {
			return nil, err
		}
		return newString(d.out), nil
	}
	arg := m.args.fields[0]
	for {
		ft, err := d.r.byte1()
		if err != nil {
			return nil, err
		}
		if ft == tStop {
			break
		}
		id, err := d.r.i16()
		if err != nil {
			return nil, err
		}
		if id != arg.id || ft != arg.typ.wire || len(d.out) > 0 {
			if err := d.r.skip(ft, 1); err != nil {
				return nil, err
			}
			continue
		}
		d.r.path.field(arg.name)
		if err := d.value(arg.typ, 0); err != nil {
			return nil, err
		}
		d.r.path.pop()
	}
	if len(d.out) == 0 {
		return "null", nil
	}
	return newString(d.out), nil
}

// encodeResult appends the result struct holding the JSON response resp
// as the success value (nothing for a void method).
func (f *jsonForm) encodeResult(m *methodDesc, resp any, buf []byte) ([]byte, error) {
	if m.void {
		return append(buf, tStop), nil
	}
	src, err := jsonText(resp)
	if err != nil {
		return nil, err
	}
	e := f.encoder(src, buf)
	defer f.putEncoder(e)
	e.path.field("success")
	e.out = append(e.out, m.success.typ.wire)
	e.out = appendI16(e.out, 0)
	if err := e.value(m.success.typ, 0); err != nil {
		return nil, e.finish(err)
	}
	if e.s.peek() != 0 {
		return nil, e.finish(e.errorf("unexpected " + e.s.what() + " after the value"))
	}
	return append(e.out, tStop), nil
}

// encodeException appends the result struct holding the declared
// exception x (its Value a JSON string).
func (f *jsonForm) encodeException(m *methodDesc, fd *fieldDesc, x *ExceptionError, buf []byte) ([]byte, error) {
	src, err := jsonText(x.Value)
	if err != nil {
		return nil, err
	}
	e := f.encoder(src, buf)
	defer f.putEncoder(e)
	e.path.field(fd.name)
	e.out = append(e.out, tStruct)
	e.out = appendI16(e.out, fd.id)
	if err := e.value(fd.typ, 0); err != nil {
		return nil, e.finish(err)
	}
	return append(e.out, tStop), nil
}

// ExceptionError is a declared exception (a field of a method's throws
// clause) in generic form. A generic client returns it when the reply
// holds one; a generic server handler returns it to reply with one.
type ExceptionError struct {
	// Method is the method that raised it.
	Method string
	// Name is the exception's field name in the throws clause.
	Name string
	// Value is the exception struct in the generic form of the call: a
	// JSON string (JSON generic) or a map[string]any (map generic).
	Value any
}

// Error describes the exception.
func (e *ExceptionError) Error() string {
	if s, ok := e.Value.(string); ok {
		return "generic: " + e.Method + " raised " + e.Name + ": " + s
	}
	return "generic: " + e.Method + " raised " + e.Name
}

func fmtType(v any) string { return strconv.Quote(typeOf(v)) }
