package generic

import (
	"encoding/base64"
	"math"
	"strconv"
	"unicode/utf8"
)

// thriftToJSON converts Thrift Binary to JSON text in one pass, writing
// each value as it is read.
type thriftToJSON struct {
	r     wireReader
	out   []byte
	opts  *jsonOptions
	plain jsonOptions // the options of map keys: numbers inside the quotes
}

// value appends the JSON of one value of type t.
func (d *thriftToJSON) value(t *typeDesc, depth int) error {
	r := &d.r
	if depth > maxDepth {
		return r.errorf("nested too deep")
	}
	switch t.kind {
	case kBool:
		c, err := r.byte1()
		if err != nil {
			return err
		}
		if c != 0 {
			d.out = append(d.out, "true"...)
		} else {
			d.out = append(d.out, "false"...)
		}
	case kByte:
		c, err := r.byte1()
		if err != nil {
			return err
		}
		d.out = strconv.AppendInt(d.out, int64(int8(c)), 10)
	case kI16:
		v, err := r.i16()
		if err != nil {
			return err
		}
		d.out = strconv.AppendInt(d.out, int64(v), 10)
	case kI32:
		v, err := r.i32()
		if err != nil {
			return err
		}
		d.out = strconv.AppendInt(d.out, int64(v), 10)
	case kEnum:
		v, err := r.i32()
		if err != nil {
			return err
		}
		if d.opts.enumNames {
			if name, ok := t.enum.byValue[v]; ok {
				d.out = appendJSONString(d.out, name)
				break
			}
		}
		d.out = strconv.AppendInt(d.out, int64(v), 10)
	case kI64:
		v, err := r.i64()
		if err != nil {
			return err
		}
		if d.opts.i64Strings {
			d.out = append(d.out, '"')
			d.out = strconv.AppendInt(d.out, v, 10)
			d.out = append(d.out, '"')
		} else {
			d.out = strconv.AppendInt(d.out, v, 10)
		}
	case kDouble:
		v, err := r.i64()
		if err != nil {
			return err
		}
		d.out = appendJSONFloat(d.out, math.Float64frombits(uint64(v)))
	case kString:
		b, err := r.bytes()
		if err != nil {
			return err
		}
		d.out = appendJSONString(d.out, b)
	case kBinary:
		b, err := r.bytes()
		if err != nil {
			return err
		}
		d.out = append(d.out, '"')
		d.out = base64.StdEncoding.AppendEncode(d.out, b)
		d.out = append(d.out, '"')
	case kStruct:
		return d.structValue(t.st, depth)
	case kList, kSet:
		et, err := r.byte1()
		if err != nil {
			return err
		}
		if et != t.elem.wire {
			return r.errorf("list element type " + strconv.Itoa(int(et)) + " on the wire, want " + t.elem.name)
		}
		n, err := r.count(minSize(et))
		if err != nil {
			return err
		}
		d.out = append(d.out, '[')
		for i := range n {
			if i > 0 {
				d.out = append(d.out, ',')
			}
			r.path.index(i)
			if err := d.value(t.elem, depth+1); err != nil {
				return err
			}
			r.path.pop()
		}
		d.out = append(d.out, ']')
	case kMap:
		kt, err := r.byte1()
		if err != nil {
			return err
		}
		vt, err := r.byte1()
		if err != nil {
			return err
		}
		n, err := r.count(minSize(kt) + minSize(vt))
		if err != nil {
			return err
		}
		if n > 0 && (kt != t.key.wire || vt != t.elem.wire) {
			return r.errorf("map types " + strconv.Itoa(int(kt)) + "," + strconv.Itoa(int(vt)) + " on the wire, want " + t.name)
		}
		if !t.key.hashed {
			d.out = append(d.out, '[')
			for i := range n {
				if i > 0 {
					d.out = append(d.out, ',')
				}
				r.path.index(i)
				d.out = append(d.out, '[')
				if err := d.value(t.key, depth+1); err != nil {
					return err
				}
				d.out = append(d.out, ',')
				if err := d.value(t.elem, depth+1); err != nil {
					return err
				}
				d.out = append(d.out, ']')
				r.path.pop()
			}
			d.out = append(d.out, ']')
			return nil
		}
		d.out = append(d.out, '{')
		for i := range n {
			if i > 0 {
				d.out = append(d.out, ',')
			}
			r.path.index(i)
			if t.key.kind == kString {
				if err := d.value(t.key, depth+1); err != nil {
					return err
				}
			} else if t.key.kind == kDouble {
				v, err := r.i64()
				if err != nil {
					return err
				}
				if f := math.Float64frombits(uint64(v)); math.IsNaN(f) || math.IsInf(f, 0) {
					d.out = appendJSONFloat(d.out, f) // already quoted
				} else {
					d.out = append(d.out, '"')
					d.out = strconv.AppendFloat(d.out, f, 'g', -1, 64)
					d.out = append(d.out, '"')
				}
			} else {
				d.out = append(d.out, '"')
				opts := d.opts
				d.opts = &d.plain
				err := d.value(t.key, depth+1)
				d.opts = opts
				if err != nil {
					return err
				}
				d.out = append(d.out, '"')
			}
			d.out = append(d.out, ':')
			if err := d.value(t.elem, depth+1); err != nil {
				return err
			}
			r.path.pop()
		}
		d.out = append(d.out, '}')
	}
	return nil
}

// structValue appends a struct as a JSON object keyed by field names.
// Fields the IDL does not know are skipped.
func (d *thriftToJSON) structValue(sd *structDesc, depth int) error {
	r := &d.r
	d.out = append(d.out, '{')
	first := true
	for {
		ft, err := r.byte1()
		if err != nil {
			return err
		}
		if ft == tStop {
			break
		}
		id, err := r.i16()
		if err != nil {
			return err
		}
		f := sd.byID[id]
		if f == nil || f.typ.wire != ft {
			if err := r.skip(ft, depth+1); err != nil {
				return err
			}
			continue
		}
		if !first {
			d.out = append(d.out, ',')
		}
		first = false
		d.out = appendJSONString(d.out, f.name)
		d.out = append(d.out, ':')
		r.path.field(f.name)
		if err := d.value(f.typ, depth+1); err != nil {
			return err
		}
		r.path.pop()
	}
	d.out = append(d.out, '}')
	return nil
}

// appendJSONFloat appends f as a JSON number, or as the strings "NaN",
// "Infinity" and "-Infinity", which JSON numbers cannot hold.
func appendJSONFloat(b []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, `"NaN"`...)
	case math.IsInf(f, 1):
		return append(b, `"Infinity"`...)
	case math.IsInf(f, -1):
		return append(b, `"-Infinity"`...)
	}
	return strconv.AppendFloat(b, f, 'g', -1, 64)
}

// appendJSONString appends s as a JSON string. Invalid UTF-8 becomes
// U+FFFD, as encoding/json does.
func appendJSONString[T string | []byte](b []byte, s T) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRune([]byte(s[i:min(i+utf8.UTFMax, len(s))]))
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, "\uFFFD"...)
			i++
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
