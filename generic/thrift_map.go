package generic

import (
	"encoding/binary"
	"fmt"
	"math"
	"reflect"
	"strconv"
)

// Pair is one entry of a Thrift map whose key type is a struct, a list, a
// set or a map: such keys are not comparable Go values, so map generic
// holds those maps as a []Pair.
type Pair struct {
	Key, Value any
}

// mapForm converts between Go values (map generic) and Thrift args and
// result structs.
type mapForm struct{}

func fmtTypeOf(v any) string { return fmt.Sprintf("%T", v) }

func typeOf(v any) string { return fmtTypeOf(v) }

// mapEncoder writes Go values as Thrift Binary.
type mapEncoder struct {
	out  []byte
	path path
}

func (e *mapEncoder) errorf(format string, args ...any) error {
	return e.path.errorf(fmt.Sprintf(format, args...))
}

func (f mapForm) encodeArgs(m *methodDesc, req any, buf []byte) ([]byte, error) {
	e := mapEncoder{out: buf}
	if len(m.args.fields) == 1 {
		a := m.args.fields[0]
		e.path.field(a.name)
		if req != nil {
			e.out = append(e.out, a.typ.wire)
			e.out = appendI16(e.out, a.id)
			if err := e.value(a.typ, req, 0); err != nil {
				return nil, err
			}
		} else if a.required {
			return nil, e.errorf("required argument missing")
		}
		return append(e.out, tStop), nil
	}
	if req == nil {
		req = map[string]any{}
	}
	if err := e.value(&typeDesc{kind: kStruct, wire: tStruct, st: m.args, name: m.args.name}, req, 0); err != nil {
		return nil, err
	}
	return e.out, nil
}

// integer returns v as an int64 if it is an integer of any Go type, or a
// float64 with an integral value (as encoding/json decodes numbers), within
// the range of t.
func (e *mapEncoder) integer(t *typeDesc, v any) (int64, error) {
	var n int64
	switch x := v.(type) {
	case int:
		n = int64(x)
	case int8:
		n = int64(x)
	case int16:
		n = int64(x)
	case int32:
		n = int64(x)
	case int64:
		n = x
	case uint8:
		n = int64(x)
	case uint16:
		n = int64(x)
	case uint32:
		n = int64(x)
	case uint:
		if uint64(x) > math.MaxInt64 {
			return 0, e.errorf("%d overflows %s", x, t.name)
		}
		n = int64(x)
	case uint64:
		if x > math.MaxInt64 {
			return 0, e.errorf("%d overflows %s", x, t.name)
		}
		n = int64(x)
	case float64:
		if x != math.Trunc(x) || x < -(1<<63) || x >= 1<<63 {
			return 0, e.errorf("%v is not an integer (%s)", x, t.name)
		}
		n = int64(x)
	case string:
		if t.kind == kEnum {
			if val, ok := t.enum.byName[x]; ok {
				return int64(val), nil
			}
			return 0, e.errorf("enum %s has no value named %q", t.enum.name, x)
		}
		if t.kind == kI64 {
			val, msg := parseInt([]byte(x), math.MinInt64, math.MaxInt64)
			if msg != "" {
				return 0, e.errorf("string %q is not an i64: %s", x, msg)
			}
			return val, nil
		}
		return 0, e.errorf("want an integer (%s), got a string", t.name)
	default:
		return 0, e.errorf("want an integer (%s), got %T", t.name, v)
	}
	lo, hi := int64(math.MinInt32), int64(math.MaxInt32)
	switch t.kind {
	case kByte:
		lo, hi = math.MinInt8, math.MaxInt8
	case kI16:
		lo, hi = math.MinInt16, math.MaxInt16
	case kI64:
		lo, hi = math.MinInt64, math.MaxInt64
	}
	if n < lo || n > hi {
		return 0, e.errorf("%d overflows %s", n, t.name)
	}
	return n, nil
}

func (e *mapEncoder) value(t *typeDesc, v any, depth int) error {
	if depth > maxDepth {
		return e.errorf("nested too deep")
	}
	switch t.kind {
	case kBool:
		b, ok := v.(bool)
		if !ok {
			return e.errorf("want a bool, got %T", v)
		}
		if b {
			e.out = append(e.out, 1)
		} else {
			e.out = append(e.out, 0)
		}
	case kByte, kI16, kI32, kI64, kEnum:
		n, err := e.integer(t, v)
		if err != nil {
			return err
		}
		switch t.wire {
		case tByte:
			e.out = append(e.out, byte(n))
		case tI16:
			e.out = appendI16(e.out, int16(n))
		case tI32:
			e.out = appendI32(e.out, int32(n))
		default:
			e.out = appendI64(e.out, n)
		}
	case kDouble:
		var f float64
		switch x := v.(type) {
		case float64:
			f = x
		case float32:
			f = float64(x)
		case int:
			f = float64(x)
		case int32:
			f = float64(x)
		case int64:
			f = float64(x)
		default:
			return e.errorf("want a number (double), got %T", v)
		}
		e.out = binary.BigEndian.AppendUint64(e.out, math.Float64bits(f))
	case kString:
		switch x := v.(type) {
		case string:
			e.out = appendI32(e.out, int32(len(x)))
			e.out = append(e.out, x...)
		case []byte:
			e.out = appendI32(e.out, int32(len(x)))
			e.out = append(e.out, x...)
		default:
			return e.errorf("want a string, got %T", v)
		}
	case kBinary:
		switch x := v.(type) {
		case []byte:
			e.out = appendI32(e.out, int32(len(x)))
			e.out = append(e.out, x...)
		case string:
			e.out = appendI32(e.out, int32(len(x)))
			e.out = append(e.out, x...)
		default:
			return e.errorf("want []byte (binary), got %T", v)
		}
	case kStruct:
		return e.structValue(t.st, v, depth)
	case kList, kSet:
		e.out = append(e.out, t.elem.wire)
		at := len(e.out)
		e.out = appendI32(e.out, 0)
		n := 0
		each := func(x any) error {
			e.path.index(n)
			if err := e.value(t.elem, x, depth+1); err != nil {
				return err
			}
			e.path.pop()
			n++
			return nil
		}
		switch x := v.(type) {
		case []any:
			for _, el := range x {
				if err := each(el); err != nil {
					return err
				}
			}
		case nil:
		default:
			rv := reflect.ValueOf(v)
			if rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array {
				return e.errorf("want a slice (%s), got %T", t.name, v)
			}
			for i := range rv.Len() {
				if err := each(rv.Index(i).Interface()); err != nil {
					return err
				}
			}
		}
		binary.BigEndian.PutUint32(e.out[at:], uint32(n))
	case kMap:
		e.out = append(e.out, t.key.wire, t.elem.wire)
		at := len(e.out)
		e.out = appendI32(e.out, 0)
		n := 0
		entry := func(k, val any) error {
			e.path.key(fmt.Sprint(k))
			if err := e.value(t.key, k, depth+1); err != nil {
				return err
			}
			if err := e.value(t.elem, val, depth+1); err != nil {
				return err
			}
			e.path.pop()
			n++
			return nil
		}
		switch x := v.(type) {
		case []Pair:
			for _, p := range x {
				if err := entry(p.Key, p.Value); err != nil {
					return err
				}
			}
		case map[string]any:
			for k, val := range x {
				key, err := e.stringKey(t.key, k)
				if err != nil {
					return err
				}
				if err := entry(key, val); err != nil {
					return err
				}
			}
		case map[any]any:
			for k, val := range x {
				if err := entry(k, val); err != nil {
					return err
				}
			}
		case nil:
		default:
			rv := reflect.ValueOf(v)
			if rv.Kind() != reflect.Map {
				return e.errorf("want a map (%s), got %T", t.name, v)
			}
			it := rv.MapRange()
			for it.Next() {
				if err := entry(it.Key().Interface(), it.Value().Interface()); err != nil {
					return err
				}
			}
		}
		binary.BigEndian.PutUint32(e.out[at:], uint32(n))
	}
	return nil
}

func (e *mapEncoder) structValue(sd *structDesc, v any, depth int) error {
	m, ok := v.(map[string]any)
	if !ok {
		return e.errorf("want map[string]any (%s %s), got %T", sd.category, sd.name, v)
	}
	for k := range m {
		if sd.byName[k] == nil {
			e.path.field(k)
			return e.errorf("%s %s has no field %q", sd.category, sd.name, k)
		}
	}
	set := 0
	for _, f := range sd.fields {
		val, ok := m[f.name]
		if !ok || val == nil {
			if f.required {
				e.path.field(f.name)
				return e.errorf("required field missing")
			}
			if f.def != nil && !f.optional {
				e.out = append(e.out, f.typ.wire)
				e.out = appendI16(e.out, f.id)
				e.out = appendScalar(e.out, f.typ, f.def)
			}
			continue
		}
		set++
		e.path.field(f.name)
		e.out = append(e.out, f.typ.wire)
		e.out = appendI16(e.out, f.id)
		if err := e.value(f.typ, val, depth+1); err != nil {
			return err
		}
		e.path.pop()
	}
	if sd.category == "union" && set > 1 {
		return e.errorf("union %s has %d fields set; want at most one", sd.name, set)
	}
	e.out = append(e.out, tStop)
	return nil
}

// mapDecoder reads Thrift Binary into Go values: bool, int8, int16,
// int32 (i32 and enums), int64, float64, string, []byte, []any (lists and
// sets), map[string]any (structs, and maps with string keys), map[any]any
// (maps with other scalar keys) and []Pair (maps with struct or container
// keys).
type mapDecoder struct {
	r wireReader
}

func (d *mapDecoder) value(t *typeDesc, depth int) (any, error) {
	r := &d.r
	if depth > maxDepth {
		return nil, r.errorf("nested too deep")
	}
	switch t.kind {
	case kBool:
		c, err := r.byte1()
		return c != 0, err
	case kByte:
		c, err := r.byte1()
		return int8(c), err
	case kI16:
		return r.i16()
	case kI32, kEnum:
		return r.i32()
	case kI64:
		return r.i64()
	case kDouble:
		v, err := r.i64()
		return math.Float64frombits(uint64(v)), err
	case kString:
		b, err := r.bytes()
		return string(b), err
	case kBinary:
		b, err := r.bytes()
		if err != nil {
			return nil, err
		}
		return append([]byte{}, b...), nil
	case kStruct:
		return d.structValue(t.st, depth)
	case kList, kSet:
		et, err := r.byte1()
		if err != nil {
			return nil, err
		}
		if et != t.elem.wire {
			return nil, r.errorf("list element type " + strconv.Itoa(int(et)) + " on the wire, want " + t.elem.name)
		}
		n, err := r.count(minSize(et))
		if err != nil {
			return nil, err
		}
		out := make([]any, n)
		for i := range n {
			r.path.index(i)
			if out[i], err = d.value(t.elem, depth+1); err != nil {
				return nil, err
			}
			r.path.pop()
		}
		return out, nil
	case kMap:
		kt, err := r.byte1()
		if err != nil {
			return nil, err
		}
		vt, err := r.byte1()
		if err != nil {
			return nil, err
		}
		n, err := r.count(minSize(kt) + minSize(vt))
		if err != nil {
			return nil, err
		}
		if n > 0 && (kt != t.key.wire || vt != t.elem.wire) {
			return nil, r.errorf("map types on the wire differ from " + t.name)
		}
		switch {
		case t.key.kind == kString:
			out := make(map[string]any, n)
			for i := range n {
				r.path.index(i)
				k, err := r.bytes()
				if err != nil {
					return nil, err
				}
				if out[string(k)], err = d.value(t.elem, depth+1); err != nil {
					return nil, err
				}
				r.path.pop()
			}
			return out, nil
		case t.key.hashed:
			out := make(map[any]any, n)
			for i := range n {
				r.path.index(i)
				k, err := d.value(t.key, depth+1)
				if err != nil {
					return nil, err
				}
				if out[k], err = d.value(t.elem, depth+1); err != nil {
					return nil, err
				}
				r.path.pop()
			}
			return out, nil
		default:
			out := make([]Pair, n)
			for i := range n {
				r.path.index(i)
				if out[i].Key, err = d.value(t.key, depth+1); err != nil {
					return nil, err
				}
				if out[i].Value, err = d.value(t.elem, depth+1); err != nil {
					return nil, err
				}
				r.path.pop()
			}
			return out, nil
		}
	}
	return nil, r.errorf("unknown type")
}

func (d *mapDecoder) structValue(sd *structDesc, depth int) (map[string]any, error) {
	r := &d.r
	out := make(map[string]any, len(sd.fields))
	for {
		ft, err := r.byte1()
		if err != nil {
			return nil, err
		}
		if ft == tStop {
			return out, nil
		}
		id, err := r.i16()
		if err != nil {
			return nil, err
		}
		f := sd.byID[id]
		if f == nil || f.typ.wire != ft {
			if err := r.skip(ft, depth+1); err != nil {
				return nil, err
			}
			continue
		}
		r.path.field(f.name)
		if out[f.name], err = d.value(f.typ, depth+1); err != nil {
			return nil, err
		}
		r.path.pop()
	}
}

func (f mapForm) decodeResult(m *methodDesc, raw []byte) (any, error) {
	d := mapDecoder{r: wireReader{b: raw}}
	fd, err := findResult(&d.r, m)
	if err != nil || fd == nil {
		return nil, err
	}
	d.r.path.field(fd.name)
	v, err := d.value(fd.typ, 0)
	if err != nil {
		return nil, err
	}
	if fd.id != 0 {
		return nil, &ExceptionError{Method: m.name, Name: fd.name, Value: v}
	}
	return v, nil
}

func (f mapForm) decodeArgs(m *methodDesc, raw []byte) (any, error) {
	d := mapDecoder{r: wireReader{b: raw}}
	args, err := d.structValue(m.args, 0)
	if err != nil {
		return nil, err
	}
	if len(m.args.fields) == 1 {
		return args[m.args.fields[0].name], nil
	}
	return args, nil
}

func (f mapForm) encodeResult(m *methodDesc, resp any, buf []byte) ([]byte, error) {
	if m.void {
		return append(buf, tStop), nil
	}
	e := mapEncoder{out: buf}
	e.path.field("success")
	e.out = append(e.out, m.success.typ.wire)
	e.out = appendI16(e.out, 0)
	if err := e.value(m.success.typ, resp, 0); err != nil {
		return nil, err
	}
	return append(e.out, tStop), nil
}

func (f mapForm) encodeException(m *methodDesc, fd *fieldDesc, x *ExceptionError, buf []byte) ([]byte, error) {
	e := mapEncoder{out: buf}
	e.path.field(fd.name)
	e.out = append(e.out, tStruct)
	e.out = appendI16(e.out, fd.id)
	if err := e.value(fd.typ, x.Value, 0); err != nil {
		return nil, err
	}
	return append(e.out, tStop), nil
}

// stringKey converts the string key k of a map[string]any (as
// encoding/json decodes any object) to a key of type t.
func (e *mapEncoder) stringKey(t *typeDesc, k string) (any, error) {
	switch t.kind {
	case kString, kBinary, kEnum:
		return k, nil
	case kBool:
		switch k {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
	case kByte, kI16, kI32, kI64:
		if n, msg := parseInt([]byte(k), math.MinInt64, math.MaxInt64); msg == "" {
			return n, nil
		}
	case kDouble:
		if f, err := strconv.ParseFloat(k, 64); err == nil {
			return f, nil
		}
	}
	e.path.key(k)
	return nil, e.errorf("map key %q is not a %s", k, t.name)
}
