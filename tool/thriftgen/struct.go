package thriftgen

import (
	"fmt"
	"strings"

	"github.com/cloudwego/thriftgo/parser"
)

// zeroExpr returns the Go zero value of t.
func (g *gen) zeroExpr(t *rtype) string {
	switch t.kind {
	case kBool:
		return "false"
	case kString:
		return `""`
	case kByte, kI16, kI32, kI64, kDouble, kEnum:
		return "0"
	case kUUID:
		return "thrift.Tuuid{}"
	}
	return "nil"
}

// goTag returns the text of a go.tag annotation as it goes into a Go struct
// tag: escaped double quotes (go.tag = "json:\\"x\\"") are unescaped, and
// what a raw string literal cannot hold (backquotes, line breaks) is
// dropped.
func goTag(s string) string {
	s = strings.ReplaceAll(s, `\"`, `"`)
	s = strings.Map(func(r rune) rune {
		if r == '`' || r == '\n' || r == '\r' {
			return -1
		}
		return r
	}, s)
	return strings.TrimSpace(s)
}

// structType emits a struct type with its codec methods. goN is its Go name,
// idlN its name on the Apache wire API (WriteStructBegin), category is
// "struct", "union" or "exception".
func (g *gen) structType(w *writer, idlN, category string, fs []*field, doc string) {
	g.structTypeNamed(w, goName(idlN), idlN, category, fs, doc, true)
}

func (g *gen) structTypeNamed(w *writer, goN, idlN, category string, fs []*field, doc string, accessors bool) {
	g.ctxName = g.f.pkg + "." + goN
	if doc != "" || accessors {
		w.p("// %s is the IDL %s %s.", goN, category, idlN)
		comment(w, doc)
	} else {
		w.p("// %s is the IDL struct %s.", goN, idlN)
	}
	w.p("type %s struct {", goN)
	for _, fd := range fs {
		req := ""
		omit := ""
		switch {
		case fd.required:
			req = ",required"
		case fd.optional:
			req = ",optional"
			omit = ",omitempty"
		}
		what := fmt.Sprintf("field %d", fd.id)
		if fd.required {
			what += ", required"
		} else if fd.optional && fd.nilable {
			what += ", optional: nil when unset"
		} else if fd.optional {
			what += ", optional: unset when equal to its default"
		}
		w.p("// %s is %s.", fd.name, what)
		comment(w, fd.f.ReservedComments)
		tag := fmt.Sprintf(`json:"%s%s"`, fd.f.Name, omit)
		if gt := fd.f.Annotations.Get("go.tag"); len(gt) > 0 {
			// As Kitex (thriftgo): the first go.tag annotation replaces
			// the json tag, after the thrift tag.
			tag = goTag(gt[0])
		}
		w.p("%s %s `thrift:\"%s,%d%s\" %s`", fd.name, g.fieldType(fd), fd.f.Name, fd.id, req, tag)
	}
	w.p("}")
	w.p("")
	w.p("var (")
	w.p("_ thriftcodec.FastCodec = (*%s)(nil)", goN)
	w.p("_ thrift.TStruct = (*%s)(nil)", goN)
	w.p(")")
	w.p("")
	// Constructor with defaults.
	w.p("// New%s returns a %s with the IDL default values set.", goN, goN)
	var inits []string
	for _, fd := range fs {
		if fd.def == "" || fd.optional && fd.nilable {
			// Apache Thrift leaves an optional container unset: its
			// default is only what the getter returns.
			continue
		}
		v := fd.def
		if fd.pointer {
			v = fmt.Sprintf("func() *%s { v := %s(%s); return &v }()", g.goType(fd.t), g.goType(fd.t), v)
		}
		inits = append(inits, fd.name+": "+v)
	}
	w.p("func New%s() *%s { return &%s{%s} }", goN, goN, goN, strings.Join(inits, ", "))
	w.p("")
	w.p("// InitDefault sets the IDL default values of p's fields.")
	if len(inits) == 0 {
		w.p("func (p *%s) InitDefault() {}", goN)
	} else {
		w.p("func (p *%s) InitDefault() { *p = %s{%s} }", goN, goN, strings.Join(inits, ", "))
	}
	w.p("")
	if accessors {
		for _, fd := range fs {
			zero := g.zeroExpr(fd.t)
			if fd.def != "" && !fd.nilable {
				zero = fd.def
			}
			if fd.pointer {
				w.p("// Get%s returns *%s, or the default if it is unset.", fd.name, fd.name)
				w.p("func (p *%s) Get%s() %s {", goN, fd.name, g.goType(fd.t))
				w.p("if p == nil || p.%s == nil {", fd.name)
				w.p("return %s", zero)
				w.p("}")
				w.p("return *p.%s", fd.name)
				w.p("}")
			} else {
				w.p("// Get%s returns %s, or its zero value if p is nil.", fd.name, fd.name)
				w.p("func (p *%s) Get%s() %s {", goN, fd.name, g.goType(fd.t))
				w.p("if p == nil {")
				w.p("return %s", zero)
				w.p("}")
				w.p("return p.%s", fd.name)
				w.p("}")
			}
			w.p("")
			if fd.optional || fd.nilable {
				w.p("// IsSet%s reports whether %s is set.", fd.name, fd.name)
				w.p("func (p *%s) IsSet%s() bool { return p != nil && %s }", goN, fd.name, g.isSetExpr(fd, "p"))
				w.p("")
			}
		}
	}
	if category == "exception" {
		w.p("// Error formats the exception as Apache Thrift does.")
		w.p("func (p *%s) Error() string {", goN)
		w.p("if p == nil {")
		w.p("return \"<nil>\"")
		w.p("}")
		w.p("return fmt.Sprintf(\"%s(%%+v)\", *p)", goN)
		w.p("}")
		w.p("")
		w.p("// TExceptionType marks %s as an IDL exception for Apache Thrift.", goN)
		w.p("func (*%s) TExceptionType() thrift.TExceptionType { return thrift.TExceptionTypeCompiled }", goN)
		w.p("")
	}
	g.fastSize(w, goN, fs)
	g.fastAppend(w, goN, fs)
	g.fastRead(w, goN, fs)
	g.tWrite(w, goN, idlN, fs)
	g.tRead(w, goN, fs)
}

func (g *gen) fastSize(w *writer, goN string, fs []*field) {
	w.p("// FastSize returns the encoded size of p.")
	w.p("func (p *%s) FastSize() int {", goN)
	w.p("if p == nil {")
	w.p("return thriftcodec.StopSize")
	w.p("}")
	w.p("n := thriftcodec.StopSize")
	for _, fd := range fs {
		if fd.optional {
			w.p("if %s {", g.isSetExpr(fd, "p"))
		}
		w.p("n += thriftcodec.FieldHeaderSize")
		g.size(w, fd.t, valueExpr(fd, "p"), "n", false)
		if fd.optional {
			w.p("}")
		}
	}
	w.p("return n")
	w.p("}")
	w.p("")
}

func (g *gen) fastAppend(w *writer, goN string, fs []*field) {
	w.p("// FastAppend appends the encoding of p to b.")
	w.p("func (p *%s) FastAppend(b []byte) []byte {", goN)
	w.p("if p == nil {")
	w.p("return thriftcodec.AppendFieldStop(b)")
	w.p("}")
	for _, fd := range fs {
		if fd.optional {
			w.p("if %s {", g.isSetExpr(fd, "p"))
		}
		// The field header as one append of constant bytes: type, id.
		w.p("b = append(b, %s, %d, %d) // field %d", wireType(fd.t), uint16(fd.id)>>8, uint16(fd.id)&0xff, fd.id)
		g.appendValue(w, fd.t, valueExpr(fd, "p"), false)
		if fd.optional {
			w.p("}")
		}
	}
	w.p("return thriftcodec.AppendFieldStop(b)")
	w.p("}")
	w.p("")
}

func (g *gen) assign(w *writer, fd *field, recv, v string) {
	if fd.pointer {
		w.p("%s.%s = &%s", recv, fd.name, v)
	} else {
		w.p("%s.%s = %s", recv, fd.name, v)
	}
}

func (g *gen) fastRead(w *writer, goN string, fs []*field) {
	w.p("// FastRead decodes p from the start of b and returns the bytes consumed.")
	w.p("// p does not alias b: the strings and binaries of p share one private")
	w.p("// copy of b (so keeping any of them keeps that copy alive).")
	w.p("func (p *%s) FastRead(b []byte) (int, error) {", goN)
	if g.recursive(fs) {
		// A type that contains itself could nest without end: the nesting
		// is checked first, without allocating.
		w.p("n, err := thriftcodec.Skip(b, thriftcodec.TypeStruct, thriftcodec.MaxDepth)")
		w.p("if err != nil {")
		w.p("return 0, err")
		w.p("}")
		w.p("return p.FastReadAliased(append([]byte(nil), b[:n]...))")
	} else {
		w.p("return p.FastReadAliased(append([]byte(nil), b...))")
	}
	w.p("}")
	w.p("")
	w.p("// FastReadAliased is FastRead without the copy: the strings and binaries")
	w.p("// of p point into b, which must not change while p is in use. It is the")
	w.p("// zero-copy opt-in for callers that own b.")
	w.p("func (p *%s) FastReadAliased(b []byte) (int, error) {", goN)
	w.p("var off int")
	for _, fd := range fs {
		if fd.required {
			w.p("var isSet%s bool", fd.name)
		}
	}
	w.p("for {")
	if len(fs) == 0 {
		w.p("t, _, n, err := thriftcodec.ReadFieldBegin(b[off:])")
	} else {
		w.p("t, id, n, err := thriftcodec.ReadFieldBegin(b[off:])")
	}
	w.p("if err != nil {")
	w.p("return off, err")
	w.p("}")
	w.p("off += n")
	w.p("if t == thriftcodec.TypeStop {")
	w.p("break")
	w.p("}")
	// One integer switch on (id, type) compiles to a jump table or a
	// binary search.
	if len(fs) > 0 {
		w.p("switch uint32(uint16(id))<<8 | uint32(t) {")
	} else {
		w.p("switch {")
	}
	for _, fd := range fs {
		w.p("case %#x: // field %d, %s", uint32(uint16(fd.id))<<8|wireNum(fd.t), fd.id, strings.TrimPrefix(wireType(fd.t), "thriftcodec."))
		v := g.readValue(w, fd.t, false)
		g.assign(w, fd, "p", v)
		if fd.required {
			w.p("isSet%s = true", fd.name)
		}
	}
	w.p("default:")
	w.p("n, err = thriftcodec.Skip(b[off:], t, thriftcodec.MaxDepth)")
	w.p("if err != nil {")
	w.p("return off, err")
	w.p("}")
	w.p("off += n")
	w.p("}")
	w.p("}")
	for _, fd := range fs {
		if fd.required {
			w.p("if !isSet%s {", fd.name)
			w.p("return off, status.Protocolf(\"%s: required field %s is not set\")", g.ctxName, fd.f.Name)
			w.p("}")
		}
	}
	w.p("return off, nil")
	w.p("}")
	w.p("")
}

func (g *gen) tWrite(w *writer, goN, idlN string, fs []*field) {
	w.p("// Write encodes p with an Apache Thrift protocol.")
	w.p("func (p *%s) Write(ctx context.Context, oprot thrift.TProtocol) error {", goN)
	w.p("if err := oprot.WriteStructBegin(ctx, %s); err != nil {", quote(idlN))
	w.p("return err")
	w.p("}")
	if len(fs) > 0 {
		w.p("if p != nil {")
		for _, fd := range fs {
			if fd.optional {
				w.p("if %s {", g.isSetExpr(fd, "p"))
			}
			w.p("if err := oprot.WriteFieldBegin(ctx, %s, %s, %d); err != nil {", quote(fd.f.Name), apacheType(fd.t), fd.id)
			w.p("return err")
			w.p("}")
			g.writeValue(w, fd.t, valueExpr(fd, "p"), false)
			w.p("if err := oprot.WriteFieldEnd(ctx); err != nil {")
			w.p("return err")
			w.p("}")
			if fd.optional {
				w.p("}")
			}
		}
		w.p("}")
	}
	w.p("if err := oprot.WriteFieldStop(ctx); err != nil {")
	w.p("return err")
	w.p("}")
	w.p("return oprot.WriteStructEnd(ctx)")
	w.p("}")
	w.p("")
}

func (g *gen) tRead(w *writer, goN string, fs []*field) {
	w.p("// Read decodes p with an Apache Thrift protocol.")
	w.p("func (p *%s) Read(ctx context.Context, iprot thrift.TProtocol) error {", goN)
	w.p("if _, err := iprot.ReadStructBegin(ctx); err != nil {")
	w.p("return err")
	w.p("}")
	for _, fd := range fs {
		if fd.required {
			w.p("var isSet%s bool", fd.name)
		}
	}
	w.p("for {")
	w.p("_, t, id, err := iprot.ReadFieldBegin(ctx)")
	w.p("if err != nil {")
	w.p("return err")
	w.p("}")
	w.p("if t == thrift.STOP {")
	w.p("break")
	w.p("}")
	w.p("if err := func() error {")
	w.p("switch {")
	for _, fd := range fs {
		w.p("case id == %d && t == %s:", fd.id, apacheType(fd.t))
		v := g.tReadValue(w, fd.t, false)
		g.assign(w, fd, "p", v)
		if fd.required {
			w.p("isSet%s = true", fd.name)
		}
		w.p("return nil")
	}
	w.p("}")
	w.p("return thrift.SkipDefaultDepth(ctx, iprot, t)")
	w.p("}(); err != nil {")
	w.p("return thrift.PrependError(fmt.Sprintf(\"%s field %%d: \", id), err)", g.ctxName)
	w.p("}")
	w.p("if err := iprot.ReadFieldEnd(ctx); err != nil {")
	w.p("return err")
	w.p("}")
	w.p("}")
	w.p("if err := iprot.ReadStructEnd(ctx); err != nil {")
	w.p("return err")
	w.p("}")
	for _, fd := range fs {
		if fd.required {
			w.p("if !isSet%s {", fd.name)
			w.p("return thrift.NewTProtocolExceptionWithType(thrift.INVALID_DATA, errors.New(\"%s: required field %s is not set\"))", g.ctxName, fd.f.Name)
			w.p("}")
		}
	}
	w.p("return nil")
	w.p("}")
	w.p("")
}

// recursive reports whether a struct with fields fs can contain a struct of
// its own type, directly or through other structs and containers.
func (g *gen) recursive(fs []*field) bool {
	// Any cycle reachable from the struct makes its nesting unbounded, not
	// only a cycle through the struct itself (a holder of a recursive type,
	// such as a service's argument wrapper, must be bounded too).
	seen, onPath := map[*parser.StructLike]bool{}, map[*parser.StructLike]bool{}
	// The struct itself is the one whose first field is fs[0].
	var walk func(t *rtype) bool
	walk = func(t *rtype) bool {
		switch t.kind {
		case kList, kSet:
			return walk(t.elem)
		case kMap:
			return walk(t.key) || walk(t.elem)
		case kStruct:
			if len(t.st.Fields) > 0 && len(fs) > 0 && t.st.Fields[0] == fs[0].f {
				return true
			}
			if onPath[t.st] {
				return true // a cycle below
			}
			if seen[t.st] {
				return false
			}
			seen[t.st], onPath[t.st] = true, true
			defer delete(onPath, t.st)
			for _, f := range t.st.Fields {
				ft, err := t.file.resolve(f.Type)
				if err == nil && walk(ft) {
					return true
				}
			}
		}
		return false
	}
	for _, fd := range fs {
		if walk(fd.t) {
			return true
		}
	}
	return false
}
