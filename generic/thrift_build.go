package generic

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/cloudwego/thriftgo/parser"
)

// builder turns parsed files into descriptors.
type builder struct {
	srcs    map[*parser.Thrift]string
	structs map[*parser.StructLike]*structDesc
	enums   map[*parser.Enum]*enumDesc
}

// build resolves the services of main (and what they use).
func build(main *parser.Thrift, srcs map[*parser.Thrift]string) (*ThriftIDL, error) {
	b := &builder{srcs: srcs, structs: map[*parser.StructLike]*structDesc{}, enums: map[*parser.Enum]*enumDesc{}}
	idl := &ThriftIDL{services: map[string]*thriftService{}}
	for i, s := range main.Services {
		svc := &thriftService{name: s.Name, methods: map[string]*methodDesc{}}
		if err := b.addMethods(main, s, svc, 0); err != nil {
			return nil, err
		}
		idl.services[s.Name] = svc
		if i == 0 {
			idl.first = s.Name
		}
	}
	return idl, nil
}

// errAt returns an error positioned at the first occurrence of word in
// file's source.
func (b *builder) errAt(file *parser.Thrift, word, format string, args ...any) error {
	line, col := position(b.srcs[file], word)
	return fmt.Errorf("generic: %s:%d:%d: %s", file.Filename, line, col, fmt.Sprintf(format, args...))
}

func (b *builder) addMethods(file *parser.Thrift, s *parser.Service, svc *thriftService, depth int) error {
	if depth > 32 {
		return b.errAt(file, s.Name, "service %s: extends chain too deep", s.Name)
	}
	if s.Extends != "" {
		bf, name := b.scope(file, s.Extends)
		if bf == nil {
			return b.errAt(file, s.Extends, "service %s extends unknown service %s", s.Name, s.Extends)
		}
		var base *parser.Service
		for _, x := range bf.Services {
			if x.Name == name {
				base = x
			}
		}
		if base == nil {
			return b.errAt(file, s.Extends, "service %s extends unknown service %s", s.Name, s.Extends)
		}
		if err := b.addMethods(bf, base, svc, depth+1); err != nil {
			return err
		}
	}
	for _, f := range s.Functions {
		m := &methodDesc{name: f.Name, oneway: f.Oneway, void: f.Void}
		for _, a := range f.Annotations {
			verb, ok := strings.CutPrefix(a.Key, "api.")
			if !ok || len(a.Values) == 0 {
				continue
			}
			switch verb {
			case "get", "post", "put", "delete", "patch", "head", "options":
				m.routes = append(m.routes, httpRoute{verb: strings.ToUpper(verb), segs: splitPath(a.Values[0])})
			}
		}
		args := &structDesc{name: s.Name + "." + f.Name + " args", category: "struct"}
		for _, a := range f.Arguments {
			fd, err := b.field(file, a)
			if err != nil {
				return err
			}
			args.add(fd)
		}
		m.args = args
		res := &structDesc{name: s.Name + "." + f.Name + " result", category: "union"}
		if !f.Void {
			t, err := b.resolve(file, f.FunctionType, 0)
			if err != nil {
				return err
			}
			m.success = &fieldDesc{id: 0, name: "success", typ: t, optional: true}
			res.add(m.success)
		}
		for _, e := range f.Throws {
			fd, err := b.field(file, e)
			if err != nil {
				return err
			}
			fd.optional, fd.required = true, false
			res.add(fd)
		}
		m.result = res
		svc.methods[f.Name] = m
	}
	return nil
}

func (s *structDesc) add(f *fieldDesc) {
	if s.byName == nil {
		s.byName, s.byID = map[string]*fieldDesc{}, map[int16]*fieldDesc{}
	}
	f.index = len(s.fields)
	s.fields = append(s.fields, f)
	s.byName[f.name] = f
	s.byID[f.id] = f
	if f.required {
		s.required = append(s.required, f.index)
	}
}

func (b *builder) field(file *parser.Thrift, f *parser.Field) (*fieldDesc, error) {
	t, err := b.resolve(file, f.Type, 0)
	if err != nil {
		return nil, err
	}
	if f.ID < -32768 || f.ID > 32767 {
		return nil, b.errAt(file, f.Name, "field %s: id %d out of range", f.Name, f.ID)
	}
	fd := &fieldDesc{id: int16(f.ID), name: f.Name, typ: t,
		required: f.Requiredness.IsRequired(), optional: f.Requiredness.IsOptional()}
	if f.Default != nil {
		fd.def = b.constant(file, t, f.Default)
	}
	for _, a := range f.Annotations {
		if k, ok := strings.CutPrefix(a.Key, "api."); ok {
			if fd.api == nil {
				fd.api = map[string]string{}
			}
			v := ""
			if len(a.Values) > 0 {
				v = a.Values[0]
			}
			fd.api[k] = v
		}
	}
	return fd, nil
}

// scope splits a possibly qualified name ("inc.Name") into the file that
// declares it and the bare name; nil if the include is unknown.
func (b *builder) scope(file *parser.Thrift, name string) (*parser.Thrift, string) {
	i := strings.LastIndexByte(name, '.')
	if i < 0 {
		return file, name
	}
	prefix := name[:i]
	for _, inc := range file.Includes {
		base := strings.TrimSuffix(filepath.Base(inc.Path), ".thrift")
		if base == prefix && inc.Reference != nil {
			return inc.Reference, name[i+1:]
		}
	}
	return nil, name
}

var baseTypes = map[string]*typeDesc{
	"bool":   {kind: kBool, wire: tBool, name: "bool", hashed: true},
	"byte":   {kind: kByte, wire: tByte, name: "byte", hashed: true},
	"i8":     {kind: kByte, wire: tByte, name: "i8", hashed: true},
	"i16":    {kind: kI16, wire: tI16, name: "i16", hashed: true},
	"i32":    {kind: kI32, wire: tI32, name: "i32", hashed: true},
	"i64":    {kind: kI64, wire: tI64, name: "i64", hashed: true},
	"double": {kind: kDouble, wire: tDouble, name: "double", hashed: true},
	"string": {kind: kString, wire: tString, name: "string", hashed: true},
	"binary": {kind: kBinary, wire: tString, name: "binary"},
}

func (b *builder) resolve(file *parser.Thrift, t *parser.Type, depth int) (*typeDesc, error) {
	if depth > 64 {
		return nil, b.errAt(file, t.Name, "typedef %s: cycle", t.Name)
	}
	if bt, ok := baseTypes[t.Name]; ok {
		return bt, nil
	}
	switch t.Name {
	case "list", "set":
		e, err := b.resolve(file, t.ValueType, depth)
		if err != nil {
			return nil, err
		}
		d := &typeDesc{kind: kList, wire: tList, elem: e}
		if t.Name == "set" {
			d.kind, d.wire = kSet, tSet
		}
		d.name = t.Name + "<" + e.name + ">"
		return d, nil
	case "map":
		k, err := b.resolve(file, t.KeyType, depth)
		if err != nil {
			return nil, err
		}
		v, err := b.resolve(file, t.ValueType, depth)
		if err != nil {
			return nil, err
		}
		return &typeDesc{kind: kMap, wire: tMap, key: k, elem: v, name: "map<" + k.name + "," + v.name + ">"}, nil
	}
	f, name := b.scope(file, t.Name)
	if f == nil {
		return nil, b.errAt(file, t.Name, "unknown type %s", t.Name)
	}
	for _, td := range f.Typedefs {
		if td.Alias == name {
			return b.resolve(f, td.Type, depth+1)
		}
	}
	for _, e := range f.Enums {
		if e.Name == name {
			return &typeDesc{kind: kEnum, wire: tI32, name: t.Name, enum: b.enum(e), hashed: true}, nil
		}
	}
	for _, list := range [][]*parser.StructLike{f.Structs, f.Unions, f.Exceptions} {
		for _, s := range list {
			if s.Name == name {
				sd, err := b.structLike(f, s)
				if err != nil {
					return nil, err
				}
				return &typeDesc{kind: kStruct, wire: tStruct, name: t.Name, st: sd}, nil
			}
		}
	}
	if name == "uuid" {
		return nil, b.errAt(file, t.Name, "the uuid type is not supported by generic calls")
	}
	return nil, b.errAt(file, t.Name, "unknown type %s", t.Name)
}

func (b *builder) enum(e *parser.Enum) *enumDesc {
	if d := b.enums[e]; d != nil {
		return d
	}
	d := &enumDesc{name: e.Name, byName: map[string]int32{}, byValue: map[int32]string{}}
	for _, v := range e.Values {
		d.byName[v.Name] = int32(v.Value)
		if _, dup := d.byValue[int32(v.Value)]; !dup {
			d.byValue[int32(v.Value)] = v.Name
		}
	}
	b.enums[e] = d
	return d
}

func (b *builder) structLike(file *parser.Thrift, s *parser.StructLike) (*structDesc, error) {
	if d := b.structs[s]; d != nil {
		return d, nil // also breaks recursion: fields are filled below
	}
	d := &structDesc{name: s.Name, category: s.Category, byName: map[string]*fieldDesc{}, byID: map[int16]*fieldDesc{}}
	b.structs[s] = d
	for _, f := range s.Fields {
		fd, err := b.field(file, f)
		if err != nil {
			return nil, err
		}
		if s.Category == "union" {
			fd.required, fd.optional = false, true
		}
		d.add(fd)
	}
	return d, nil
}

// constant returns an IDL default value in map form, or nil for defaults
// generic calls do not fill in (containers, structs).
func (b *builder) constant(file *parser.Thrift, t *typeDesc, c *parser.ConstValue) any {
	v := c.TypedValue
	if v == nil {
		return nil
	}
	if v.Identifier != nil {
		id := *v.Identifier
		switch {
		case t.kind == kBool && (id == "true" || id == "false"):
			return id == "true"
		case t.kind == kEnum:
			if n, ok := t.enum.byName[id[strings.LastIndexByte(id, '.')+1:]]; ok {
				return n
			}
		}
		f, name := b.scope(file, id)
		if f != nil {
			for _, k := range f.Constants {
				if k.Name == name && k.Value != nil {
					return b.constant(f, t, k.Value)
				}
			}
		}
		return nil
	}
	switch t.kind {
	case kBool:
		if v.Int != nil {
			return *v.Int != 0
		}
	case kByte:
		if v.Int != nil {
			return int8(*v.Int)
		}
	case kI16:
		if v.Int != nil {
			return int16(*v.Int)
		}
	case kI32, kEnum:
		if v.Int != nil {
			return int32(*v.Int)
		}
	case kI64:
		if v.Int != nil {
			return *v.Int
		}
	case kDouble:
		if v.Double != nil {
			return *v.Double
		}
		if v.Int != nil {
			return float64(*v.Int)
		}
	case kString:
		if v.Literal != nil {
			return *v.Literal
		}
	case kBinary:
		if v.Literal != nil {
			return []byte(*v.Literal)
		}
	}
	return nil
}

// splitPath splits a URL path at '/', dropping empty segments.
func splitPath(p string) []string {
	var out []string
	for _, s := range strings.Split(p, "/") {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}
