package generic

import (
	"encoding/binary"
	"strconv"
)

// wireReader reads Thrift Binary from a byte slice with bounds checks.
type wireReader struct {
	b    []byte
	pos  int
	path path
}

func (r *wireReader) errorf(msg string) error { return r.path.errorf(msg) }

func (r *wireReader) short() error { return r.errorf("truncated Thrift data") }

func (r *wireReader) byte1() (byte, error) {
	if r.pos >= len(r.b) {
		return 0, r.short()
	}
	c := r.b[r.pos]
	r.pos++
	return c, nil
}

func (r *wireReader) i16() (int16, error) {
	if len(r.b)-r.pos < 2 {
		return 0, r.short()
	}
	v := int16(binary.BigEndian.Uint16(r.b[r.pos:]))
	r.pos += 2
	return v, nil
}

func (r *wireReader) i32() (int32, error) {
	if len(r.b)-r.pos < 4 {
		return 0, r.short()
	}
	v := int32(binary.BigEndian.Uint32(r.b[r.pos:]))
	r.pos += 4
	return v, nil
}

func (r *wireReader) i64() (int64, error) {
	if len(r.b)-r.pos < 8 {
		return 0, r.short()
	}
	v := int64(binary.BigEndian.Uint64(r.b[r.pos:]))
	r.pos += 8
	return v, nil
}

// bytes reads a length-prefixed string or binary; the result aliases the
// input.
func (r *wireReader) bytes() ([]byte, error) {
	n, err := r.i32()
	if err != nil {
		return nil, err
	}
	if n < 0 || int(n) > len(r.b)-r.pos {
		return nil, r.errorf("string length " + strconv.Itoa(int(n)) + " out of range")
	}
	v := r.b[r.pos : r.pos+int(n)]
	r.pos += int(n)
	return v, nil
}

// size returns the fixed wire size of a type id, or 0 for a variable one.
func fixedSize(t byte) int {
	switch t {
	case tBool, tByte:
		return 1
	case tI16:
		return 2
	case tI32:
		return 4
	case tI64, tDouble:
		return 8
	}
	return 0
}

// count reads a container size and checks it against the bytes left,
// given the least size of one element.
func (r *wireReader) count(minElem int) (int, error) {
	n, err := r.i32()
	if err != nil {
		return 0, err
	}
	if n < 0 || minElem > 0 && int(n) > (len(r.b)-r.pos)/minElem {
		return 0, r.errorf("container size " + strconv.Itoa(int(n)) + " out of range")
	}
	return int(n), nil
}

// minSize is the least number of bytes one value of wire type t takes.
func minSize(t byte) int {
	if n := fixedSize(t); n > 0 {
		return n
	}
	switch t {
	case tString:
		return 4
	case tStruct:
		return 1
	case tList, tSet:
		return 5
	case tMap:
		return 6
	}
	return 1
}

// skip skips one value of wire type t.
func (r *wireReader) skip(t byte, depth int) error {
	if depth > maxDepth {
		return r.errorf("nested too deep")
	}
	if n := fixedSize(t); n > 0 {
		if len(r.b)-r.pos < n {
			return r.short()
		}
		r.pos += n
		return nil
	}
	switch t {
	case tString:
		_, err := r.bytes()
		return err
	case tStruct:
		for {
			ft, err := r.byte1()
			if err != nil {
				return err
			}
			if ft == tStop {
				return nil
			}
			if _, err := r.i16(); err != nil {
				return err
			}
			if err := r.skip(ft, depth+1); err != nil {
				return err
			}
		}
	case tList, tSet:
		et, err := r.byte1()
		if err != nil {
			return err
		}
		n, err := r.count(minSize(et))
		if err != nil {
			return err
		}
		for range n {
			if err := r.skip(et, depth+1); err != nil {
				return err
			}
		}
		return nil
	case tMap:
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
		for range n {
			if err := r.skip(kt, depth+1); err != nil {
				return err
			}
			if err := r.skip(vt, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	return r.errorf("unknown Thrift type id " + strconv.Itoa(int(t)))
}
