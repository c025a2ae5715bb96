package generic

import (
	"encoding/base64"
	"encoding/binary"
	"math"
	"strconv"
)

// jsonToThrift converts JSON text to Thrift Binary in one pass over the
// text, writing each value as it is read.
type jsonToThrift struct {
	s    scanner
	out  []byte
	path path
}

func appendI16(b []byte, v int16) []byte { return binary.BigEndian.AppendUint16(b, uint16(v)) }
func appendI32(b []byte, v int32) []byte { return binary.BigEndian.AppendUint32(b, uint32(v)) }
func appendI64(b []byte, v int64) []byte { return binary.BigEndian.AppendUint64(b, uint64(v)) }

// errorf returns a conversion error at the current value; its path is
// gathered as it is returned (stepField, ...) and completed by finish
// with the prefix in e.path.
func (e *jsonToThrift) errorf(msg string) error { return &Error{Msg: msg} }

// finish completes the path of a conversion error.
func (e *jsonToThrift) finish(err error) error { return finish(err, e.path) }

func (e *jsonToThrift) want(what string) error {
	return e.errorf("want " + what + ", got " + e.s.what())
}

// args encodes the JSON of a method's request as its args struct: with
// one argument the JSON is that argument's value; with none it is empty,
// null or {}; with more it is an object keyed by argument names.
func (e *jsonToThrift) args(m *methodDesc, src []byte) error {
	e.s.src, e.s.pos = src, 0
	return e.finish(e.argsValue(m))
}

func (e *jsonToThrift) argsValue(m *methodDesc) error {
	switch len(m.args.fields) {
	case 0:
		if e.s.peek() != 0 && !e.s.literal("null") {
			if !e.s.consume('{') || !e.s.consume('}') {
				return e.errorf("method " + m.name + " takes no arguments: want {} or nothing")
			}
		}
		e.out = append(e.out, tStop)
	case 1:
		f := m.args.fields[0]
		if e.s.literal("null") {
			if f.required {
				return stepField(e.errorf("required argument missing"), f.name)
			}
		} else {
			e.out = append(e.out, f.typ.wire)
			e.out = appendI16(e.out, f.id)
			if err := e.value(f.typ, 0); err != nil {
				return stepField(err, f.name)
			}
		}
		e.out = append(e.out, tStop)
	default:
		if err := e.structValue(m.args, 0); err != nil {
			return err
		}
	}
	if e.s.peek() != 0 {
		return e.errorf("unexpected " + e.s.what() + " after the value")
	}
	return nil
}

// value encodes the next JSON value as a value of type t.
func (e *jsonToThrift) value(t *typeDesc, depth int) error {
	if depth > maxDepth {
		return e.errorf("nested too deep")
	}
	s := &e.s
	switch t.kind {
	case kBool:
		switch {
		case s.literal("true"):
			e.out = append(e.out, 1)
		case s.literal("false"):
			e.out = append(e.out, 0)
		default:
			return e.want("a boolean")
		}
	case kByte, kI16, kI32, kI64, kEnum:
		v, err := e.integer(t)
		if err != nil {
			return err
		}
		switch t.wire {
		case tByte:
			e.out = append(e.out, byte(v))
		case tI16:
			e.out = appendI16(e.out, int16(v))
		case tI32:
			e.out = appendI32(e.out, int32(v))
		default:
			e.out = appendI64(e.out, v)
		}
	case kDouble:
		f, err := e.double()
		if err != nil {
			return err
		}
		e.out = binary.BigEndian.AppendUint64(e.out, math.Float64bits(f))
	case kString:
		str, ok := s.str()
		if !ok {
			return e.want("a string")
		}
		e.out = appendI32(e.out, int32(len(str)))
		e.out = append(e.out, str...)
	case kBinary:
		str, ok := s.str()
		if !ok {
			return e.want("a base64 string")
		}
		at := len(e.out)
		e.out = appendI32(e.out, 0)
		n := len(str)/4*3 + 3 // room for padded and unpadded input
		e.out = grow(e.out, n)
		w, err := base64.StdEncoding.Decode(e.out[at+4:at+4+n], str)
		if err != nil {
			// Also accept unpadded input.
			w, err = base64.RawStdEncoding.Decode(e.out[at+4:at+4+n], str)
			if err != nil {
				return e.errorf("invalid base64: " + err.Error())
			}
		}
		e.out = e.out[:at+4+w]
		binary.BigEndian.PutUint32(e.out[at:], uint32(w))
	case kStruct:
		return e.structValue(t.st, depth)
	case kList, kSet:
		if !s.consume('[') {
			return e.want("an array")
		}
		e.out = append(e.out, t.elem.wire)
		at := len(e.out)
		e.out = appendI32(e.out, 0)
		n := 0
		if !s.consume(']') {
			for {
				if err := e.value(t.elem, depth+1); err != nil {
					return stepIndex(err, n)
				}
				n++
				if s.consume(']') {
					break
				}
				if !s.consume(',') {
					return e.want("',' or ']'")
				}
			}
		}
		binary.BigEndian.PutUint32(e.out[at:], uint32(n))
	case kMap:
		return e.mapValue(t, depth)
	}
	return nil
}

func grow(b []byte, n int) []byte {
	if cap(b)-len(b) < n {
		nb := make([]byte, len(b), 2*cap(b)+n)
		copy(nb, b)
		b = nb
	}
	return b[:len(b)+n]
}

// integer reads an integer of t's kind: a JSON number, or for i64 a
// string holding one, or for an enum a value name.
func (e *jsonToThrift) integer(t *typeDesc) (int64, error) {
	s := &e.s
	lo, hi := int64(math.MinInt32), int64(math.MaxInt32)
	switch t.kind {
	case kByte:
		lo, hi = math.MinInt8, math.MaxInt8
	case kI16:
		lo, hi = math.MinInt16, math.MaxInt16
	case kI64:
		lo, hi = math.MinInt64, math.MaxInt64
	}
	if s.peek() == '"' {
		str, _ := s.str()
		switch t.kind {
		case kEnum:
			if v, ok := t.enum.byName[string(str)]; ok {
				return int64(v), nil
			}
			return 0, e.errorf("enum " + t.enum.name + " has no value named " + strconv.Quote(string(str)))
		case kI64:
			v, msg := parseInt(str, lo, hi)
			if msg != "" {
				return 0, e.errorf("string " + strconv.Quote(string(str)) + " is not an i64: " + msg)
			}
			return v, nil
		}
		return 0, e.errorf("want a number (" + t.name + "), got a string")
	}
	text, ok := s.number()
	if !ok {
		if t.kind == kEnum {
			return 0, e.want("an enum name or number")
		}
		return 0, e.want("a number (" + t.name + ")")
	}
	v, msg := parseInt(text, lo, hi)
	switch msg {
	case "":
	case "overflow":
		return 0, e.errorf(string(text) + " overflows " + t.name)
	default:
		return 0, e.errorf(string(text) + " is not an integer (" + t.name + ")")
	}
	return v, nil
}

func (e *jsonToThrift) double() (float64, error) {
	s := &e.s
	if s.peek() == '"' {
		str, _ := s.str()
		switch string(str) {
		case "NaN":
			return math.NaN(), nil
		case "Infinity":
			return math.Inf(1), nil
		case "-Infinity":
			return math.Inf(-1), nil
		}
		return 0, e.errorf("want a number (double), got the string " + strconv.Quote(string(str)))
	}
	text, ok := s.number()
	if !ok {
		return 0, e.want("a number (double)")
	}
	f, err := strconv.ParseFloat(string(text), 64)
	if err != nil {
		return 0, e.errorf(string(text) + " overflows double")
	}
	return f, nil
}

// structValue encodes a JSON object as the struct sd. Keys are field
// names; an unknown key is an error; null is the same as leaving the field
// out. Required fields must be present; a default-requiredness field left
// out gets its IDL default if it has a scalar one.
func (e *jsonToThrift) structValue(sd *structDesc, depth int) error {
	s := &e.s
	if !s.consume('{') {
		return e.want("an object (" + sd.name + ")")
	}
	var seenSmall uint64
	var seenBig []bool
	if len(sd.fields) > 64 {
		seenBig = make([]bool, len(sd.fields))
	}
	set := 0
	if !s.consume('}') {
		for {
			key, ok := s.str()
			if !ok {
				return e.want("a field name")
			}
			f := sd.field(key)
			if f == nil {
				return e.errorf(sd.category + " " + sd.name + " has no field " + strconv.Quote(string(key)))
			}
			if !s.consume(':') {
				return e.want("':'")
			}
			if seenBig != nil && seenBig[f.index] || seenBig == nil && seenSmall&(1<<f.index) != 0 {
				return stepField(e.errorf("field given twice"), f.name)
			}
			if !s.literal("null") {
				if seenBig != nil {
					seenBig[f.index] = true
				} else {
					seenSmall |= 1 << f.index
				}
				set++
				e.out = append(e.out, f.typ.wire)
				e.out = appendI16(e.out, f.id)
				if err := e.value(f.typ, depth+1); err != nil {
					return stepField(err, f.name)
				}
			}
			if s.consume('}') {
				break
			}
			if !s.consume(',') {
				return e.want("',' or '}'")
			}
		}
	}
	seen := func(i int) bool {
		if seenBig != nil {
			return seenBig[i]
		}
		return seenSmall&(1<<i) != 0
	}
	if sd.category == "union" && set > 1 {
		return e.errorf("union " + sd.name + " has " + strconv.Itoa(set) + " fields set; want at most one")
	}
	for _, i := range sd.required {
		if !seen(i) {
			return stepField(e.errorf("required field missing"), sd.fields[i].name)
		}
	}
	for _, f := range sd.fields {
		if f.def != nil && !f.optional && !seen(f.index) {
			e.out = append(e.out, f.typ.wire)
			e.out = appendI16(e.out, f.id)
			e.out = appendScalar(e.out, f.typ, f.def)
		}
	}
	e.out = append(e.out, tStop)
	return nil
}

// mapValue encodes a map: a JSON object whose keys are the map keys as
// strings when the key type is a scalar (bool, integers, enums, double,
// string), else an array of [key, value] pairs.
func (e *jsonToThrift) mapValue(t *typeDesc, depth int) error {
	s := &e.s
	e.out = append(e.out, t.key.wire, t.elem.wire)
	at := len(e.out)
	e.out = appendI32(e.out, 0)
	n := 0
	if !t.key.hashed {
		if !s.consume('[') {
			return e.want("an array of [key, value] pairs (" + t.name + ")")
		}
		if !s.consume(']') {
			for {
				if err := e.pair(t, depth); err != nil {
					return stepIndex(err, n)
				}
				n++
				if s.consume(']') {
					break
				}
				if !s.consume(',') {
					return e.want("',' or ']'")
				}
			}
		}
		binary.BigEndian.PutUint32(e.out[at:], uint32(n))
		return nil
	}
	if !s.consume('{') {
		return e.want("an object (" + t.name + ")")
	}
	if !s.consume('}') {
		for {
			key, ok := s.str()
			if !ok {
				return e.want("a map key string")
			}
			if s.escaped {
				key = append([]byte(nil), key...) // s.buf is reused by the next string
			}
			if err := e.mapKey(t.key, key); err != nil {
				return stepKey(err, key)
			}
			if !s.consume(':') {
				return stepKey(e.want("':'"), key)
			}
			if err := e.value(t.elem, depth+1); err != nil {
				return stepKey(err, key)
			}
			n++
			if s.consume('}') {
				break
			}
			if !s.consume(',') {
				return e.want("',' or '}'")
			}
		}
	}
	binary.BigEndian.PutUint32(e.out[at:], uint32(n))
	return nil
}

// pair encodes one [key, value] pair of a map with non-scalar keys.
func (e *jsonToThrift) pair(t *typeDesc, depth int) error {
	s := &e.s
	if !s.consume('[') {
		return e.want("a [key, value] pair")
	}
	if err := e.value(t.key, depth+1); err != nil {
		return err
	}
	if !s.consume(',') {
		return e.want("','")
	}
	if err := e.value(t.elem, depth+1); err != nil {
		return err
	}
	if !s.consume(']') {
		return e.want("']' closing the pair")
	}
	return nil
}

// mapKey encodes the text of an object key as a map key of type t.
func (e *jsonToThrift) mapKey(t *typeDesc, key []byte) error {
	switch t.kind {
	case kString:
		e.out = appendI32(e.out, int32(len(key)))
		e.out = append(e.out, key...)
		return nil
	case kBool:
		switch string(key) {
		case "true":
			e.out = append(e.out, 1)
		case "false":
			e.out = append(e.out, 0)
		default:
			return e.errorf("map key is not a boolean")
		}
		return nil
	case kDouble:
		f, err := strconv.ParseFloat(string(key), 64)
		if err != nil {
			return e.errorf("map key is not a double")
		}
		e.out = binary.BigEndian.AppendUint64(e.out, math.Float64bits(f))
		return nil
	}
	// Integers and enums: the key text is a number, or an enum name.
	if t.kind == kEnum {
		if v, ok := t.enum.byName[string(key)]; ok {
			e.out = appendI32(e.out, v)
			return nil
		}
	}
	sub := jsonToThrift{s: scanner{src: key}}
	text, ok := sub.s.number()
	if !ok || sub.s.peek() != 0 {
		return e.errorf("map key " + strconv.Quote(string(key)) + " is not an integer (" + t.name + ")")
	}
	sub.s = scanner{src: text}
	v, err := sub.integer(t)
	if err != nil {
		return err
	}
	switch t.wire {
	case tByte:
		e.out = append(e.out, byte(v))
	case tI16:
		e.out = appendI16(e.out, int16(v))
	case tI32:
		e.out = appendI32(e.out, int32(v))
	default:
		e.out = appendI64(e.out, v)
	}
	return nil
}

// appendScalar appends an IDL default (map form) of a scalar type.
func appendScalar(b []byte, t *typeDesc, v any) []byte {
	switch x := v.(type) {
	case bool:
		if x {
			return append(b, 1)
		}
		return append(b, 0)
	case int8:
		return append(b, byte(x))
	case int16:
		return appendI16(b, x)
	case int32:
		return appendI32(b, x)
	case int64:
		return appendI64(b, x)
	case float64:
		return binary.BigEndian.AppendUint64(b, math.Float64bits(x))
	case string:
		b = appendI32(b, int32(len(x)))
		return append(b, x...)
	case []byte:
		b = appendI32(b, int32(len(x)))
		return append(b, x...)
	}
	panic("generic: unexpected default value type for " + t.name)
}
