package thriftcodec

import (
	"encoding/binary"
	"math"

	"github.com/skiffrpc/skiff/core/status"
)

// Thrift type ids as they appear on the wire (field headers, container
// headers).
const (
	// TypeStop ends a struct.
	TypeStop byte = 0
	// TypeVoid is never written as a value; it is not valid on the wire.
	TypeVoid byte = 1
	// TypeBool is a one-byte boolean (0 or 1).
	TypeBool byte = 2
	// TypeByte is a signed byte (Thrift's byte and i8).
	TypeByte byte = 3
	// TypeDouble is an IEEE 754 double, 8 bytes.
	TypeDouble byte = 4
	// TypeI16 is a big-endian 16-bit integer.
	TypeI16 byte = 6
	// TypeI32 is a big-endian 32-bit integer.
	TypeI32 byte = 8
	// TypeI64 is a big-endian 64-bit integer.
	TypeI64 byte = 10
	// TypeString is a string or a binary: i32 length, then the bytes.
	TypeString byte = 11
	// TypeStruct is a struct: fields, then TypeStop.
	TypeStruct byte = 12
	// TypeMap is a map: key type, value type, i32 count, then the entries.
	TypeMap byte = 13
	// TypeSet is a set: element type, i32 count, then the elements.
	TypeSet byte = 14
	// TypeList is a list: element type, i32 count, then the elements.
	TypeList byte = 15
	// TypeUUID is a 16-byte UUID (Thrift 0.19 and later).
	TypeUUID byte = 16
)

// MaxDepth is the deepest nesting of structs and containers the decoders
// accept, counting the outermost struct. It matches Apache Thrift's default
// recursion limit.
const MaxDepth = 64

// Encoded sizes of the fixed parts of the format, for generated FastSize
// methods.
const (
	// FieldHeaderSize is the size of a field header: type byte and i16 id.
	FieldHeaderSize = 3
	// StopSize is the size of the TypeStop byte that ends a struct.
	StopSize = 1
	// MapHeaderSize is the size of a map header: key type, value type, i32
	// count.
	MapHeaderSize = 6
	// ListHeaderSize is the size of a list or set header: element type, i32
	// count.
	ListHeaderSize = 5
)

// StringSize returns the encoded size of s: 4 + len(s).
func StringSize(s string) int { return 4 + len(s) }

// BinarySize returns the encoded size of v: 4 + len(v).
func BinarySize(v []byte) int { return 4 + len(v) }

// fixedSizes holds the encoded size of each fixed-size type, 0 otherwise.
var fixedSizes = [17]uint8{
	TypeBool: 1, TypeByte: 1, TypeDouble: 8, TypeI16: 2, TypeI32: 4, TypeI64: 8, TypeUUID: 16,
}

// minSizes holds the smallest encoding of a value of each type, 0 for types
// that are not valid values.
var minSizes = [17]uint8{
	TypeBool: 1, TypeByte: 1, TypeDouble: 8, TypeI16: 2, TypeI32: 4, TypeI64: 8, TypeUUID: 16,
	TypeString: 4, TypeStruct: 1, TypeMap: MapHeaderSize, TypeSet: ListHeaderSize, TypeList: ListHeaderSize,
}

func fixedSize(t byte) int {
	if int(t) < len(fixedSizes) {
		return int(fixedSizes[t])
	}
	return 0
}

func minSize(t byte) int {
	if int(t) < len(minSizes) {
		return int(minSizes[t])
	}
	return 0
}

var (
	errShort  = status.Protocolf("thrift: unexpected end of data")
	errNegLen = status.Protocolf("thrift: negative length")
	errDepth  = status.Protocolf("thrift: structs and containers nested deeper than %d levels", MaxDepth)
)

func errType(t byte) error { return status.Protocolf("thrift: invalid type id %d", t) }

func errCount(what string, n int32, left int) error {
	return status.Protocolf("thrift: %s of %d elements cannot fit in the %d bytes left", what, n, left)
}

// AppendFieldBegin appends a field header: type t and field id.
func AppendFieldBegin(b []byte, t byte, id int16) []byte {
	return append(b, t, byte(uint16(id)>>8), byte(id))
}

// AppendFieldStop appends the TypeStop byte that ends a struct.
func AppendFieldStop(b []byte) []byte { return append(b, TypeStop) }

// AppendBool appends a bool as one byte, 1 or 0.
func AppendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

// AppendByte appends a signed byte.
func AppendByte(b []byte, v int8) []byte { return append(b, byte(v)) }

// AppendI16 appends a big-endian i16.
func AppendI16(b []byte, v int16) []byte { return binary.BigEndian.AppendUint16(b, uint16(v)) }

// AppendI32 appends a big-endian i32.
func AppendI32(b []byte, v int32) []byte { return binary.BigEndian.AppendUint32(b, uint32(v)) }

// AppendI64 appends a big-endian i64.
func AppendI64(b []byte, v int64) []byte { return binary.BigEndian.AppendUint64(b, uint64(v)) }

// AppendDouble appends a double as its big-endian IEEE 754 bits.
func AppendDouble(b []byte, v float64) []byte {
	return binary.BigEndian.AppendUint64(b, math.Float64bits(v))
}

// AppendString appends s with its i32 length.
func AppendString(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

// AppendBinary appends v with its i32 length. A nil v is written as an
// empty binary.
func AppendBinary(b []byte, v []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(v)))
	return append(b, v...)
}

// AppendMapBegin appends a map header: key type, value type and count.
func AppendMapBegin(b []byte, kt, vt byte, n int) []byte {
	b = append(b, kt, vt)
	return binary.BigEndian.AppendUint32(b, uint32(n))
}

// AppendListBegin appends a list header: element type and count.
func AppendListBegin(b []byte, et byte, n int) []byte {
	b = append(b, et)
	return binary.BigEndian.AppendUint32(b, uint32(n))
}

// AppendSetBegin appends a set header: element type and count. The
// encoding is the same as a list's.
func AppendSetBegin(b []byte, et byte, n int) []byte { return AppendListBegin(b, et, n) }

// ReadFieldBegin reads a field header at the start of b. For the TypeStop
// byte that ends a struct it returns t == TypeStop, id 0 and n 1. Otherwise
// it returns the field type, the field id and n == 3. A type byte that is
// not a valid value type is an error.
func ReadFieldBegin(b []byte) (t byte, id int16, n int, err error) {
	if len(b) < 1 {
		return 0, 0, 0, errShort
	}
	t = b[0]
	if t == TypeStop {
		return TypeStop, 0, 1, nil
	}
	if len(b) < 3 {
		return 0, 0, 0, errShort
	}
	if minSize(t) == 0 {
		return 0, 0, 0, errType(t)
	}
	return t, int16(binary.BigEndian.Uint16(b[1:])), 3, nil
}

// ReadBool reads a bool; any non-zero byte is true. It returns the value and
// the bytes consumed.
func ReadBool(b []byte) (bool, int, error) {
	if len(b) < 1 {
		return false, 0, errShort
	}
	return b[0] != 0, 1, nil
}

// ReadByte reads a signed byte. It returns the value and the bytes consumed.
func ReadByte(b []byte) (int8, int, error) {
	if len(b) < 1 {
		return 0, 0, errShort
	}
	return int8(b[0]), 1, nil
}

// ReadI16 reads a big-endian i16. It returns the value and the bytes
// consumed.
func ReadI16(b []byte) (int16, int, error) {
	if len(b) < 2 {
		return 0, 0, errShort
	}
	return int16(binary.BigEndian.Uint16(b)), 2, nil
}

// ReadI32 reads a big-endian i32. It returns the value and the bytes
// consumed.
func ReadI32(b []byte) (int32, int, error) {
	if len(b) < 4 {
		return 0, 0, errShort
	}
	return int32(binary.BigEndian.Uint32(b)), 4, nil
}

// ReadI64 reads a big-endian i64. It returns the value and the bytes
// consumed.
func ReadI64(b []byte) (int64, int, error) {
	if len(b) < 8 {
		return 0, 0, errShort
	}
	return int64(binary.BigEndian.Uint64(b)), 8, nil
}

// ReadDouble reads a double. It returns the value and the bytes consumed.
func ReadDouble(b []byte) (float64, int, error) {
	if len(b) < 8 {
		return 0, 0, errShort
	}
	return math.Float64frombits(binary.BigEndian.Uint64(b)), 8, nil
}

// readLen reads an i32 length and checks that that many bytes follow it.
func readLen(b []byte) (int, error) {
	if len(b) < 4 {
		return 0, errShort
	}
	l := int32(binary.BigEndian.Uint32(b))
	if l < 0 {
		return 0, errNegLen
	}
	if int(l) > len(b)-4 {
		return 0, errShort
	}
	return int(l), nil
}

// ReadString reads a string with its i32 length. The string is a copy: it
// does not alias b. It returns the string and the bytes consumed.
func ReadString(b []byte) (string, int, error) {
	l, err := readLen(b)
	if err != nil {
		return "", 0, err
	}
	return string(b[4 : 4+l]), 4 + l, nil
}

// ReadBinary reads a binary with its i32 length into a new slice, never nil
// (an empty binary gives an empty, non-nil slice, so an optional field read
// back stays set). It returns the slice and the bytes consumed.
func ReadBinary(b []byte) ([]byte, int, error) {
	l, err := readLen(b)
	if err != nil {
		return nil, 0, err
	}
	v := make([]byte, l)
	copy(v, b[4:4+l])
	return v, 4 + l, nil
}

// ReadMapBegin reads a map header: key type, value type and count, and the
// bytes consumed (MapHeaderSize). The count is checked against the bytes
// left in b (each entry takes at least the minimum size of its key and value
// types), so it is safe to preallocate; a non-empty map with an invalid key or
// value type is an error.
func ReadMapBegin(b []byte) (kt, vt byte, size, n int, err error) {
	if len(b) < MapHeaderSize {
		return 0, 0, 0, 0, errShort
	}
	kt, vt = b[0], b[1]
	c := int32(binary.BigEndian.Uint32(b[2:]))
	if c < 0 {
		return 0, 0, 0, 0, errNegLen
	}
	if c > 0 {
		km, vm := minSize(kt), minSize(vt)
		if km == 0 {
			return 0, 0, 0, 0, errType(kt)
		}
		if vm == 0 {
			return 0, 0, 0, 0, errType(vt)
		}
		left := len(b) - MapHeaderSize
		if int64(c)*int64(km+vm) > int64(left) {
			return 0, 0, 0, 0, errCount("map", c, left)
		}
	}
	return kt, vt, int(c), MapHeaderSize, nil
}

// ReadListBegin reads a list header: element type and count, and the bytes
// consumed (ListHeaderSize). The count is checked against the bytes left in
// b, so it is safe to preallocate; a non-empty list with an invalid element
// type is an error.
func ReadListBegin(b []byte) (et byte, size, n int, err error) {
	if len(b) < ListHeaderSize {
		return 0, 0, 0, errShort
	}
	et = b[0]
	c := int32(binary.BigEndian.Uint32(b[1:]))
	if c < 0 {
		return 0, 0, 0, errNegLen
	}
	if c > 0 {
		m := minSize(et)
		if m == 0 {
			return 0, 0, 0, errType(et)
		}
		left := len(b) - ListHeaderSize
		if int64(c)*int64(m) > int64(left) {
			return 0, 0, 0, errCount("list", c, left)
		}
	}
	return et, int(c), ListHeaderSize, nil
}

// ReadSetBegin reads a set header; see [ReadListBegin].
func ReadSetBegin(b []byte) (et byte, size, n int, err error) { return ReadListBegin(b) }

// Skip returns the encoded length of the value of type t at the start of b
// without decoding it, checking it fully: lengths, counts, type ids and
// nesting. depth is the number of struct and container levels the value may
// still open; generated code passes [MaxDepth]. Skip does not allocate.
func Skip(b []byte, t byte, depth int) (int, error) {
	if n := fixedSize(t); n > 0 {
		if len(b) < n {
			return 0, errShort
		}
		return n, nil
	}
	switch t {
	case TypeString:
		l, err := readLen(b)
		if err != nil {
			return 0, err
		}
		return 4 + l, nil
	case TypeStruct:
		if depth <= 0 {
			return 0, errDepth
		}
		off := 0
		for {
			ft, _, n, err := ReadFieldBegin(b[off:])
			if err != nil {
				return 0, err
			}
			off += n
			if ft == TypeStop {
				return off, nil
			}
			n, err = Skip(b[off:], ft, depth-1)
			if err != nil {
				return 0, err
			}
			off += n
		}
	case TypeMap:
		if depth <= 0 {
			return 0, errDepth
		}
		kt, vt, size, off, err := ReadMapBegin(b)
		if err != nil {
			return 0, err
		}
		if size == 0 {
			return off, nil
		}
		if ks, vs := fixedSize(kt), fixedSize(vt); ks > 0 && vs > 0 {
			// ReadMapBegin checked that the entries fit.
			return off + size*(ks+vs), nil
		}
		for range size {
			n, err := Skip(b[off:], kt, depth-1)
			if err != nil {
				return 0, err
			}
			off += n
			n, err = Skip(b[off:], vt, depth-1)
			if err != nil {
				return 0, err
			}
			off += n
		}
		return off, nil
	case TypeList, TypeSet:
		if depth <= 0 {
			return 0, errDepth
		}
		et, size, off, err := ReadListBegin(b)
		if err != nil {
			return 0, err
		}
		if size == 0 {
			return off, nil
		}
		if es := fixedSize(et); es > 0 {
			return off + size*es, nil
		}
		for range size {
			n, err := Skip(b[off:], et, depth-1)
			if err != nil {
				return 0, err
			}
			off += n
		}
		return off, nil
	}
	return 0, errType(t)
}
