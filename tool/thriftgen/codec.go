package thriftgen

import (
	"fmt"
	"strings"
)

// goType returns the Go type of t as written in package f. Map keys of a
// binary type are strings (a []byte is not comparable).
func (g *gen) goType(t *rtype) string {
	if t.tdName != "" {
		if t.kind == kStruct {
			return "*" + g.qual(t.tdFile) + goName(t.tdName)
		}
		return g.qual(t.tdFile) + goName(t.tdName)
	}
	switch t.kind {
	case kBool:
		return "bool"
	case kByte:
		return "int8"
	case kI16:
		return "int16"
	case kI32:
		return "int32"
	case kI64:
		return "int64"
	case kDouble:
		return "float64"
	case kString:
		return "string"
	case kBinary:
		return "[]byte"
	case kList, kSet:
		return "[]" + g.goType(t.elem)
	case kMap:
		k := g.goType(t.key)
		if t.key.kind == kBinary {
			k = "string"
		}
		return "map[" + k + "]" + g.goType(t.elem)
	case kEnum:
		return g.qual(t.file) + goName(t.name)
	case kStruct:
		return "*" + g.qual(t.file) + goName(t.name)
	case kUUID:
		return "thrift.Tuuid"
	}
	panic("unknown kind")
}

// qual returns the package qualifier ("pkg.") of f as seen from g.f.
func (g *gen) qual(f *file) string {
	if f == g.f {
		return ""
	}
	alias := g.importAlias(f)
	return alias + "."
}

// wireType returns the thriftcodec Type constant of t.
func wireType(t *rtype) string {
	switch t.kind {
	case kBool:
		return "thriftcodec.TypeBool"
	case kByte:
		return "thriftcodec.TypeByte"
	case kI16:
		return "thriftcodec.TypeI16"
	case kI32, kEnum:
		return "thriftcodec.TypeI32"
	case kI64:
		return "thriftcodec.TypeI64"
	case kDouble:
		return "thriftcodec.TypeDouble"
	case kString, kBinary:
		return "thriftcodec.TypeString"
	case kList:
		return "thriftcodec.TypeList"
	case kSet:
		return "thriftcodec.TypeSet"
	case kMap:
		return "thriftcodec.TypeMap"
	case kStruct:
		return "thriftcodec.TypeStruct"
	case kUUID:
		return "thriftcodec.TypeUUID"
	}
	panic("unknown kind")
}

// wireNum returns the wire type id of t.
func wireNum(t *rtype) uint32 {
	switch t.kind {
	case kBool:
		return 2
	case kByte:
		return 3
	case kDouble:
		return 4
	case kI16:
		return 6
	case kI32, kEnum:
		return 8
	case kI64:
		return 10
	case kString, kBinary:
		return 11
	case kStruct:
		return 12
	case kMap:
		return 13
	case kSet:
		return 14
	case kList:
		return 15
	case kUUID:
		return 16
	}
	panic("unknown kind")
}

// apacheType returns the Apache thrift.TType constant of t.
func apacheType(t *rtype) string {
	switch t.kind {
	case kBool:
		return "thrift.BOOL"
	case kByte:
		return "thrift.BYTE"
	case kI16:
		return "thrift.I16"
	case kI32, kEnum:
		return "thrift.I32"
	case kI64:
		return "thrift.I64"
	case kDouble:
		return "thrift.DOUBLE"
	case kString, kBinary:
		return "thrift.STRING"
	case kList:
		return "thrift.LIST"
	case kSet:
		return "thrift.SET"
	case kMap:
		return "thrift.MAP"
	case kStruct:
		return "thrift.STRUCT"
	case kUUID:
		return "thrift.UUID"
	}
	panic("unknown kind")
}

// fixedSize returns the encoded size of a fixed-size type, or 0.
func fixedSize(t *rtype) int {
	switch t.kind {
	case kBool, kByte:
		return 1
	case kI16:
		return 2
	case kI32, kEnum:
		return 4
	case kI64, kDouble:
		return 8
	case kUUID:
		return 16
	}
	return 0
}

func (g *gen) tmp(p string) string {
	g.n++
	return fmt.Sprintf("%s%d", p, g.n)
}

// size emits statements that add the encoded size of e (of type t) to acc.
func (g *gen) size(w *writer, t *rtype, e, acc string, key bool) {
	if n := fixedSize(t); n > 0 {
		w.p("%s += %d", acc, n)
		return
	}
	switch t.kind {
	case kString:
		w.p("%s += thriftcodec.StringSize(%s)", acc, e)
	case kBinary:
		if key {
			w.p("%s += thriftcodec.StringSize(%s)", acc, e)
		} else {
			w.p("%s += thriftcodec.BinarySize(%s)", acc, e)
		}
	case kStruct:
		w.p("%s += %s.FastSize()", acc, e)
	case kList, kSet:
		if n := fixedSize(t.elem); n > 0 {
			w.p("%s += thriftcodec.ListHeaderSize + %d*len(%s)", acc, n, e)
			return
		}
		v := g.tmp("v")
		w.p("%s += thriftcodec.ListHeaderSize", acc)
		w.p("for _, %s := range %s {", v, e)
		g.size(w, t.elem, v, acc, false)
		w.p("}")
	case kMap:
		kn, vn := fixedSize(t.key), fixedSize(t.elem)
		if kn > 0 && vn > 0 {
			w.p("%s += thriftcodec.MapHeaderSize + %d*len(%s)", acc, kn+vn, e)
			return
		}
		k, v := g.tmp("k"), g.tmp("v")
		w.p("%s += thriftcodec.MapHeaderSize", acc)
		if kn > 0 {
			w.p("%s += %d*len(%s)", acc, kn, e)
			k = "_"
		}
		if vn > 0 {
			w.p("%s += %d*len(%s)", acc, vn, e)
			w.p("for %s := range %s {", k, e)
		} else {
			w.p("for %s, %s := range %s {", k, v, e)
		}
		if kn == 0 {
			g.size(w, t.key, k, acc, true)
		}
		if vn == 0 {
			g.size(w, t.elem, v, acc, false)
		}
		w.p("}")
	}
}

// appendValue emits statements that append e (of type t) to b.
func (g *gen) appendValue(w *writer, t *rtype, e string, key bool) {
	switch t.kind {
	case kBool:
		w.p("b = thriftcodec.AppendBool(b, %s)", e)
	case kByte:
		w.p("b = thriftcodec.AppendByte(b, %s)", e)
	case kI16:
		w.p("b = thriftcodec.AppendI16(b, %s)", e)
	case kI32:
		w.p("b = thriftcodec.AppendI32(b, %s)", e)
	case kEnum:
		w.p("b = thriftcodec.AppendI32(b, int32(%s))", e)
	case kI64:
		w.p("b = thriftcodec.AppendI64(b, %s)", e)
	case kDouble:
		w.p("b = thriftcodec.AppendDouble(b, %s)", e)
	case kString:
		w.p("b = thriftcodec.AppendString(b, %s)", e)
	case kBinary:
		if key {
			w.p("b = thriftcodec.AppendString(b, %s)", e)
		} else {
			w.p("b = thriftcodec.AppendBinary(b, %s)", e)
		}
	case kUUID:
		w.p("b = append(b, (%s)[:]...)", e)
	case kStruct:
		w.p("b = %s.FastAppend(b)", e)
	case kList, kSet:
		fn := "AppendListBegin"
		if t.kind == kSet {
			fn = "AppendSetBegin"
		}
		v := g.tmp("v")
		w.p("b = thriftcodec.%s(b, %s, len(%s))", fn, wireType(t.elem), e)
		w.p("for _, %s := range %s {", v, e)
		g.appendValue(w, t.elem, v, false)
		w.p("}")
	case kMap:
		k, v := g.tmp("k"), g.tmp("v")
		w.p("b = thriftcodec.AppendMapBegin(b, %s, %s, len(%s))", wireType(t.key), wireType(t.elem), e)
		w.p("for %s, %s := range %s {", k, v, e)
		g.appendValue(w, t.key, k, true)
		g.appendValue(w, t.elem, v, false)
		w.p("}")
	}
}

// readValue emits statements that read a value of type t from b[off:],
// advance off, and declare the variable it returns holding the value. On
// error the statements return (off, err).
func (g *gen) readValue(w *writer, t *rtype, key bool) string {
	v := g.tmp("v")
	base := func(fn, conv string) {
		x := g.tmp("x")
		w.p("%s, n, err := thriftcodec.%s(b[off:])", x, fn)
		w.p("if err != nil {")
		w.p("return off, err")
		w.p("}")
		w.p("off += n")
		if conv == "" {
			w.p("%s := %s", v, x)
		} else {
			w.p("%s := %s(%s)", v, conv, x)
		}
	}
	switch t.kind {
	case kBool:
		base("ReadBool", "")
	case kByte:
		base("ReadByte", "")
	case kI16:
		base("ReadI16", "")
	case kI32:
		base("ReadI32", "")
	case kEnum:
		base("ReadI32", g.goType(t))
	case kI64:
		base("ReadI64", "")
	case kDouble:
		base("ReadDouble", "")
	case kString, kBinary:
		// The decoder runs on a private copy of the input (see FastRead):
		// strings and binaries point into it, binaries with their capacity
		// cut so that an append cannot reach a neighbour.
		l := g.tmp("l")
		w.p("%s, n, err := thriftcodec.ReadI32(b[off:])", l)
		w.p("if err != nil {")
		w.p("return off, err")
		w.p("}")
		w.p("if %s < 0 || int(%s) > len(b)-off-n {", l, l)
		w.p("return off, status.Protocolf(\"thrift: length %%d exceeds the %%d bytes left\", %s, len(b)-off-n)", l)
		w.p("}")
		w.p("off += n")
		if t.kind == kString || key {
			w.p("%s := unsafe.String(unsafe.SliceData(b[off:]), %s)", v, l)
		} else {
			w.p("%s := b[off : off+int(%s) : off+int(%s)]", v, l, l)
		}
		w.p("off += int(%s)", l)
	case kUUID:
		w.p("if len(b)-off < 16 {")
		w.p("return off, status.Protocolf(\"thrift: %%d bytes left for a uuid\", len(b)-off)")
		w.p("}")
		w.p("%s := thrift.Tuuid(b[off : off+16])", v)
		w.p("off += 16")
	case kStruct:
		w.p("%s := %s", v, g.newStruct(t))
		w.p("if n, err := %s.FastReadAliased(b[off:]); err != nil {", v)
		w.p("return off, err")
		w.p("} else {")
		w.p("off += n")
		w.p("}")
	case kList, kSet:
		et, sz := g.tmp("et"), g.tmp("size")
		w.p("%s, %s, n, err := thriftcodec.ReadListBegin(b[off:])", et, sz)
		w.p("if err != nil {")
		w.p("return off, err")
		w.p("}")
		w.p("if %s > 0 && %s != %s {", sz, et, wireType(t.elem))
		w.p("return off, status.Protocolf(\"thrift: %s element type %%d, want %%d\", %s, %s)", g.ctxName, et, wireType(t.elem))
		w.p("}")
		w.p("off += n")
		if t.elem.kind == kStruct {
			// A struct element can be one byte on the wire but hundreds in
			// memory, so memory is taken as elements arrive: they share
			// allocations that double in size, never past the count.
			w.p("%s := make(%s, 0, min(%s, %d))", v, g.goType(t), sz, maxPrealloc)
			vals, i := g.tmp("vals"), g.tmp("i")
			w.p("var %s []%s", vals, strings.TrimPrefix(g.goType(t.elem), "*"))
			w.p("for %s := 0; %s < %s; %s++ {", i, i, sz, i)
			w.p("if len(%s) == cap(%s) {", vals, vals)
			w.p("%s = make([]%s, 0, min(%s-%s, max(16, 2*cap(%s))))", vals, strings.TrimPrefix(g.goType(t.elem), "*"), sz, i, vals)
			w.p("}")
			w.p("%s = %s[:len(%s)+1]", vals, vals, vals)
			e := g.tmp("e")
			w.p("%s := &%s[len(%s)-1]", e, vals, vals)
			w.p("%s.InitDefault()", e)
			w.p("if n, err := %s.FastReadAliased(b[off:]); err != nil {", e)
			w.p("return off, err")
			w.p("} else {")
			w.p("off += n")
			w.p("}")
			w.p("%s = append(%s, %s)", v, v, e)
			w.p("}")
			break
		}
		w.p("%s := make(%s, 0, %s)", v, g.goType(t), sz)
		w.p("for range %s {", sz)
		e := g.readValue(w, t.elem, false)
		w.p("%s = append(%s, %s)", v, v, e)
		w.p("}")
	case kMap:
		kt, vt, sz := g.tmp("kt"), g.tmp("vt"), g.tmp("size")
		w.p("%s, %s, %s, n, err := thriftcodec.ReadMapBegin(b[off:])", kt, vt, sz)
		w.p("if err != nil {")
		w.p("return off, err")
		w.p("}")
		w.p("if %s > 0 && (%s != %s || %s != %s) {", sz, kt, wireType(t.key), vt, wireType(t.elem))
		w.p("return off, status.Protocolf(\"thrift: %s map types %%d, %%d, want %%d, %%d\", %s, %s, %s, %s)", g.ctxName, kt, vt, wireType(t.key), wireType(t.elem))
		w.p("}")
		w.p("off += n")
		w.p("%s := make(%s, %s)", v, g.goType(t), sz)
		w.p("for range %s {", sz)
		k := g.readValue(w, t.key, true)
		e := g.readValue(w, t.elem, false)
		w.p("%s[%s] = %s", v, k, e)
		w.p("}")
	}
	return v
}

// newStruct returns an expression allocating the struct of t.
func (g *gen) newStruct(t *rtype) string {
	return g.qual(t.file) + "New" + goName(t.name) + "()"
}

// writeValue emits Apache TProtocol statements writing e.
func (g *gen) writeValue(w *writer, t *rtype, e string, key bool) {
	call := func(format string, args ...any) {
		w.p("if err := "+format+"; err != nil {", args...)
		w.p("return err")
		w.p("}")
	}
	switch t.kind {
	case kBool:
		call("oprot.WriteBool(ctx, %s)", e)
	case kByte:
		call("oprot.WriteByte(ctx, %s)", e)
	case kI16:
		call("oprot.WriteI16(ctx, %s)", e)
	case kI32:
		call("oprot.WriteI32(ctx, %s)", e)
	case kEnum:
		call("oprot.WriteI32(ctx, int32(%s))", e)
	case kI64:
		call("oprot.WriteI64(ctx, %s)", e)
	case kDouble:
		call("oprot.WriteDouble(ctx, %s)", e)
	case kString:
		call("oprot.WriteString(ctx, %s)", e)
	case kBinary:
		if key {
			call("oprot.WriteString(ctx, %s)", e)
		} else {
			call("oprot.WriteBinary(ctx, %s)", e)
		}
	case kUUID:
		call("oprot.WriteUUID(ctx, %s)", e)
	case kStruct:
		call("%s.Write(ctx, oprot)", e)
	case kList, kSet:
		kindName := "List"
		if t.kind == kSet {
			kindName = "Set"
		}
		v := g.tmp("v")
		call("oprot.Write%sBegin(ctx, %s, len(%s))", kindName, apacheType(t.elem), e)
		w.p("for _, %s := range %s {", v, e)
		g.writeValue(w, t.elem, v, false)
		w.p("}")
		call("oprot.Write%sEnd(ctx)", kindName)
	case kMap:
		k, v := g.tmp("k"), g.tmp("v")
		call("oprot.WriteMapBegin(ctx, %s, %s, len(%s))", apacheType(t.key), apacheType(t.elem), e)
		w.p("for %s, %s := range %s {", k, v, e)
		g.writeValue(w, t.key, k, true)
		g.writeValue(w, t.elem, v, false)
		w.p("}")
		call("oprot.WriteMapEnd(ctx)")
	}
}

// maxPrealloc bounds the capacity preallocated for a container read with
// an Apache protocol, whose counts are not checked against the input.
const maxPrealloc = 1024

// tReadValue emits Apache TProtocol statements reading a value of type t
// into a new variable whose name it returns; on error they return err.
func (g *gen) tReadValue(w *writer, t *rtype, key bool) string {
	v := g.tmp("v")
	base := func(fn, conv string) {
		x := g.tmp("x")
		w.p("%s, err := iprot.%s(ctx)", x, fn)
		w.p("if err != nil {")
		w.p("return err")
		w.p("}")
		if conv == "" {
			w.p("%s := %s", v, x)
		} else {
			w.p("%s := %s(%s)", v, conv, x)
		}
	}
	switch t.kind {
	case kBool:
		base("ReadBool", "")
	case kByte:
		base("ReadByte", "")
	case kI16:
		base("ReadI16", "")
	case kI32:
		base("ReadI32", "")
	case kEnum:
		base("ReadI32", g.goType(t))
	case kI64:
		base("ReadI64", "")
	case kDouble:
		base("ReadDouble", "")
	case kString:
		base("ReadString", "")
	case kBinary:
		if key {
			base("ReadString", "")
		} else {
			base("ReadBinary", "")
			w.p("if %s == nil {", v)
			w.p("%s = []byte{}", v)
			w.p("}")
		}
	case kUUID:
		base("ReadUUID", "")
	case kStruct:
		w.p("%s := %s", v, g.newStruct(t))
		w.p("if err := %s.Read(ctx, iprot); err != nil {", v)
		w.p("return err")
		w.p("}")
	case kList, kSet:
		kindName := "List"
		if t.kind == kSet {
			kindName = "Set"
		}
		et, sz := g.tmp("et"), g.tmp("size")
		w.p("%s, %s, err := iprot.Read%sBegin(ctx)", et, sz, kindName)
		w.p("if err != nil {")
		w.p("return err")
		w.p("}")
		w.p("if %s > 0 && %s != %s {", sz, et, apacheType(t.elem))
		w.p("return thrift.NewTProtocolExceptionWithType(thrift.INVALID_DATA, fmt.Errorf(\"%s element type %%d, want %%d\", %s, %s))", g.ctxName, et, apacheType(t.elem))
		w.p("}")
		w.p("%s := make(%s, 0, min(%s, %d))", v, g.goType(t), sz, maxPrealloc)
		w.p("for range %s {", sz)
		e := g.tReadValue(w, t.elem, false)
		w.p("%s = append(%s, %s)", v, v, e)
		w.p("}")
		w.p("if err := iprot.Read%sEnd(ctx); err != nil {", kindName)
		w.p("return err")
		w.p("}")
	case kMap:
		kt, vt, sz := g.tmp("kt"), g.tmp("vt"), g.tmp("size")
		w.p("%s, %s, %s, err := iprot.ReadMapBegin(ctx)", kt, vt, sz)
		w.p("if err != nil {")
		w.p("return err")
		w.p("}")
		w.p("if %s > 0 && (%s != %s || %s != %s) {", sz, kt, apacheType(t.key), vt, apacheType(t.elem))
		w.p("return thrift.NewTProtocolExceptionWithType(thrift.INVALID_DATA, fmt.Errorf(\"%s map types %%d, %%d, want %%d, %%d\", %s, %s, %s, %s))", g.ctxName, kt, vt, apacheType(t.key), apacheType(t.elem))
		w.p("}")
		w.p("%s := make(%s, min(%s, %d))", v, g.goType(t), sz, maxPrealloc)
		w.p("for range %s {", sz)
		k := g.tReadValue(w, t.key, true)
		e := g.tReadValue(w, t.elem, false)
		w.p("%s[%s] = %s", v, k, e)
		w.p("}")
		w.p("if err := iprot.ReadMapEnd(ctx); err != nil {")
		w.p("return err")
		w.p("}")
	}
	return v
}
