package thriftgen

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"unicode"

	"github.com/cloudwego/thriftgo/parser"
	"github.com/cloudwego/thriftgo/semantic"
)

// kind is the resolved kind of an IDL type.
type kind int

const (
	kBool kind = iota
	kByte
	kI16
	kI32
	kI64
	kDouble
	kString
	kBinary
	kList
	kSet
	kMap
	kEnum
	kStruct
	kUUID
)

// rtype is an IDL type with typedefs resolved.
type rtype struct {
	kind      kind
	key, elem *rtype
	file      *file              // declaring file of an enum or struct
	st        *parser.StructLike // kStruct
	enum      *parser.Enum       // kEnum
	name      string             // IDL name of an enum or struct
	tdName    string             // the typedef the type was named by, if any
	tdFile    *file              // the typedef's file
}

// file is one parsed IDL file and where its Go code goes.
type file struct {
	ast     *parser.Thrift
	path    string // the IDL file path as parsed
	base    string // IDL base name without .thrift (the include prefix)
	pkg     string // Go package name
	dir     string // output directory relative to the output root, slash separated
	imp     string // Go import path
	structs map[string]*parser.StructLike
	enums   map[string]*parser.Enum
	tdefs   map[string]*parser.Typedef
	consts  map[string]*parser.Constant
	svcs    map[string]*parser.Service
	incs    map[string]*file // by include prefix
}

var lineSym = regexp.MustCompile(`line (\d+) symbol (\d+)`)

// parseAll parses root and everything it includes.
func parseAll(root string, includeDirs []string, module string) ([]*file, error) {
	ast, err := load(root, ".", includeDirs, map[string]*parser.Thrift{}, "")
	if err != nil {
		return nil, err
	}
	if err := semantic.ResolveSymbols(ast); err != nil {
		return nil, semanticError(ast, err)
	}
	var files []*file
	byAST := map[*parser.Thrift]*file{}
	var visit func(t *parser.Thrift) *file
	visit = func(t *parser.Thrift) *file {
		if f, ok := byAST[t]; ok {
			return f
		}
		f := newFile(t, module)
		byAST[t] = f
		for _, inc := range t.Includes {
			if inc.Reference != nil {
				f.incs[prefix(inc.Path)] = visit(inc.Reference)
			}
		}
		files = append(files, f)
		return f
	}
	visit(ast)
	return files, nil
}

// parseError rewrites a thriftgo syntax error as file:line:column: message.
func parseError(root string, err error) error {
	msg := err.Error()
	file := root
	if i := strings.Index(msg, "parse "); i == 0 {
		if j := strings.Index(msg, " err:"); j > 0 {
			file = msg[len("parse "):j]
		}
	}
	if m := lineSym.FindStringSubmatch(msg); m != nil {
		near := ""
		if i := strings.Index(msg, "parse error near "); i >= 0 {
			rest := msg[i+len("parse error near "):]
			if j := strings.Index(rest, " ("); j >= 0 {
				near = " near " + rest[:j]
			}
		}
		return fmt.Errorf("%s:%s:%s: syntax error%s", file, m[1], m[2], near)
	}
	if strings.Contains(msg, "no such file") || strings.Contains(msg, "not exist") {
		return fmt.Errorf("%s: %s", file, strings.TrimSpace(msg))
	}
	return fmt.Errorf("%s: %s", file, strings.TrimSpace(msg))
}

var quoted = regexp.MustCompile(`"([^"]+)"`)
var fromFile = regexp.MustCompile(` ?from file (\S+)`)
var undefinedType = regexp.MustCompile(`undefined type: "([^"]+)"`)

// semanticError adds a position to a thriftgo semantic error: the first
// occurrence in the file of the name the message quotes.
func semanticError(ast *parser.Thrift, err error) error {
	msg := err.Error()
	file := ast.Filename
	if m := fromFile.FindAllStringSubmatch(msg, -1); m != nil {
		file = m[len(m)-1][1]
	}
	msg = fromFile.ReplaceAllString(msg, "")
	msg = strings.TrimSpace(strings.ReplaceAll(msg, "  ", " "))
	line, col := 1, 1
	name := ""
	if m := undefinedType.FindStringSubmatch(msg); m != nil {
		name = m[1]
	} else if q := quoted.FindStringSubmatch(msg); q != nil {
		name = q[1]
	}
	if name != "" {
		if b, rerr := os.ReadFile(file); rerr == nil {
			line, col = findWord(string(b), name)
		}
	}
	return fmt.Errorf("%s:%d:%d: %s", file, line, col, msg)
}

// findWord returns the 1-based line and column of the first whole-word
// occurrence of w in src, or 1, 1.
func findWord(src, w string) (int, int) {
	isWord := func(r byte) bool {
		return r == '_' || r == '.' || unicode.IsLetter(rune(r)) || unicode.IsDigit(rune(r))
	}
	for i := 0; i+len(w) <= len(src); i++ {
		if src[i:i+len(w)] != w {
			continue
		}
		if i > 0 && isWord(src[i-1]) || i+len(w) < len(src) && isWord(src[i+len(w)]) {
			continue
		}
		line := 1 + strings.Count(src[:i], "\n")
		col := i - strings.LastIndex(src[:i], "\n")
		return line, col
	}
	return 1, 1
}

func prefix(p string) string {
	return strings.TrimSuffix(filepath.Base(p), filepath.Ext(p))
}

func newFile(t *parser.Thrift, module string) *file {
	f := &file{
		ast: t, path: t.Filename, base: prefix(t.Filename),
		structs: map[string]*parser.StructLike{}, enums: map[string]*parser.Enum{},
		tdefs: map[string]*parser.Typedef{}, consts: map[string]*parser.Constant{},
		svcs: map[string]*parser.Service{}, incs: map[string]*file{},
	}
	ns, _ := t.GetNamespace("go")
	if ns == "" {
		ns, _ = t.GetNamespace("*")
	}
	if ns == "" {
		ns = strings.ToLower(f.base)
	}
	parts := strings.Split(ns, ".")
	for i, p := range parts {
		parts[i] = goPkgName(p)
	}
	f.dir = strings.Join(parts, "/")
	f.pkg = parts[len(parts)-1]
	if module != "" {
		f.imp = path.Join(module, f.dir)
	} else {
		f.imp = f.dir
	}
	for _, s := range t.GetStructLikes() {
		f.structs[s.Name] = s
	}
	for _, e := range t.Enums {
		f.enums[e.Name] = e
	}
	for _, d := range t.Typedefs {
		f.tdefs[d.Alias] = d
	}
	for _, c := range t.Constants {
		f.consts[c.Name] = c
	}
	for _, s := range t.Services {
		f.svcs[s.Name] = s
	}
	return f
}

// goPkgName makes a Go package name of s.
func goPkgName(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	out := b.String()
	if out == "" || unicode.IsDigit(rune(out[0])) {
		out = "p" + out
	}
	return out
}

// lookup finds a name, possibly prefixed by an include, from f.
func (f *file) lookup(name string) (*file, string) {
	if i := strings.Index(name, "."); i >= 0 {
		if g, ok := f.incs[name[:i]]; ok {
			return g, name[i+1:]
		}
	}
	return f, name
}

// resolve resolves an IDL type used in f.
func (f *file) resolve(t *parser.Type) (*rtype, error) {
	switch t.Name {
	case "bool":
		return &rtype{kind: kBool}, nil
	case "byte", "i8":
		return &rtype{kind: kByte}, nil
	case "i16":
		return &rtype{kind: kI16}, nil
	case "i32":
		return &rtype{kind: kI32}, nil
	case "i64":
		return &rtype{kind: kI64}, nil
	case "double":
		return &rtype{kind: kDouble}, nil
	case "string":
		return &rtype{kind: kString}, nil
	case "binary":
		return &rtype{kind: kBinary}, nil
	case "uuid":
		if d, ok := f.tdefs["uuid"]; ok && d.ReservedComments == uuidMarker {
			return &rtype{kind: kUUID}, nil
		}
	case "list", "set":
		e, err := f.resolve(t.ValueType)
		if err != nil {
			return nil, err
		}
		k := kList
		if t.Name == "set" {
			k = kSet
		}
		return &rtype{kind: k, elem: e}, nil
	case "map":
		k, err := f.resolve(t.KeyType)
		if err != nil {
			return nil, err
		}
		v, err := f.resolve(t.ValueType)
		if err != nil {
			return nil, err
		}
		switch k.kind {
		case kList, kSet, kMap:
			return nil, f.errAt("map<"+t.KeyType.Name, "map key type %s is not supported in Go (a container key)", t.KeyType.Name)
		}
		return &rtype{kind: kMap, key: k, elem: v}, nil
	}
	g, name := f.lookup(t.Name)
	if s, ok := g.structs[name]; ok {
		return &rtype{kind: kStruct, file: g, st: s, name: name}, nil
	}
	if e, ok := g.enums[name]; ok {
		return &rtype{kind: kEnum, file: g, enum: e, name: name}, nil
	}
	if d, ok := g.tdefs[name]; ok {
		r, err := g.resolve(d.Type)
		if err != nil {
			return nil, err
		}
		c := *r
		c.tdName, c.tdFile = name, g
		return &c, nil
	}
	return nil, f.errAt(t.Name, "undefined type %q", t.Name)
}

// goName makes an exported Go identifier of an IDL name: snake_case parts
// become CamelCase.
func goName(s string) string {
	var b strings.Builder
	up := true
	for i, r := range s {
		if r == '_' && i > 0 && i < len(s)-1 {
			up = true
			continue
		}
		if up {
			b.WriteRune(unicode.ToUpper(r))
			up = false
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

var goReserved = map[string]bool{
	"break": true, "case": true, "chan": true, "const": true, "continue": true, "default": true,
	"defer": true, "else": true, "fallthrough": true, "for": true, "func": true, "go": true,
	"goto": true, "if": true, "import": true, "interface": true, "map": true, "package": true,
	"range": true, "return": true, "select": true, "struct": true, "switch": true, "type": true,
	"var": true, "ctx": true, "opts": true, "args": true, "result": true, "err": true, "c": true,
	"impl": true, "success": true, "a": true, "r": true, "p": true, "b": true, "string": true,
	"bool": true, "int": true, "error": true, "len": true, "new": true, "make": true, "nil": true,
	"true": true, "false": true, "any": true, "byte": true, "append": true, "context": true,
	"thrift": true, "thriftcodec": true, "client": true, "server": true, "service": true,
	"status": true, "errors": true, "fmt": true, "sync": true, "core": true,
	"res": true, "inv": true, "unsafe": true, "off": true, "n": true,
}

// paramName makes a Go parameter name of an IDL argument name.
func paramName(s string) string {
	n := goName(s)
	n = strings.ToLower(n[:1]) + n[1:]
	if goReserved[n] {
		n += "_"
	}
	return n
}

// quote returns a Go string literal.
func quote(s string) string { return strconv.Quote(s) }

// constName makes an exported Go name of an IDL constant: its first letter
// upper-cased, as Apache Thrift does.
func constName(s string) string {
	return strings.ToUpper(s[:1]) + s[1:]
}

// errAt returns an error positioned at the first whole-word occurrence of
// name in f's source (or 1:1).
func (f *file) errAt(name, format string, args ...any) error {
	line, col := 1, 1
	if b, err := os.ReadFile(f.path); err == nil {
		line, col = findWord(string(b), name)
	}
	return fmt.Errorf("%s:%d:%d: %s", f.path, line, col, fmt.Sprintf(format, args...))
}
