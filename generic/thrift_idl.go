package generic

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/cloudwego/thriftgo/parser"
)

// Thrift type ids on the wire (Binary protocol).
const (
	tStop   byte = 0
	tBool   byte = 2
	tByte   byte = 3
	tDouble byte = 4
	tI16    byte = 6
	tI32    byte = 8
	tI64    byte = 10
	tString byte = 11
	tStruct byte = 12
	tMap    byte = 13
	tSet    byte = 14
	tList   byte = 15
)

// kind is a Thrift IDL type, finer than its wire type: binary and string
// share tString, enums tI32.
type kind uint8

const (
	kBool kind = iota + 1
	kByte
	kI16
	kI32
	kI64
	kDouble
	kString
	kBinary
	kEnum
	kStruct
	kList
	kSet
	kMap
)

// typeDesc describes one resolved Thrift type.
type typeDesc struct {
	kind   kind
	wire   byte
	name   string      // the IDL spelling, for messages
	elem   *typeDesc   // list, set: element; map: value
	key    *typeDesc   // map: key
	st     *structDesc // struct, union, exception
	enum   *enumDesc
	hashed bool // map keys of this type are comparable Go values
}

// fieldDesc describes one field of a struct, or one argument of a method.
type fieldDesc struct {
	id       int16
	name     string
	typ      *typeDesc
	required bool
	optional bool
	index    int // position in structDesc.fields
	def      any // the IDL default in map form (scalars and enums only), or nil
	// api maps the field's api.* annotations (HTTP generic) without the
	// "api." prefix to their first value, such as "query" → "q"; nil when
	// it has none.
	api map[string]string
}

// structDesc describes a struct, union or exception.
type structDesc struct {
	name     string
	category string // "struct", "union", "exception"
	fields   []*fieldDesc
	byName   map[string]*fieldDesc
	byID     map[int16]*fieldDesc
	required []int // indexes of required fields
}

// field returns the field named name, or nil.
func (s *structDesc) field(name []byte) *fieldDesc {
	if len(s.fields) <= 8 {
		for _, f := range s.fields {
			if string(name) == f.name {
				return f
			}
		}
		return nil
	}
	return s.byName[string(name)]
}

// enumDesc describes an enum.
type enumDesc struct {
	name    string
	byName  map[string]int32
	byValue map[int32]string
}

// methodDesc describes one method of a Thrift service.
type methodDesc struct {
	name    string
	oneway  bool
	void    bool
	args    *structDesc // the args struct: one field per argument
	result  *structDesc // the result struct: field 0 success (absent if void), then the throws
	success *fieldDesc  // nil for void methods
	routes  []httpRoute // api.get, api.post, ... (HTTP generic)
}

// httpRoute is one api.<verb> annotation of a method.
type httpRoute struct {
	verb string   // GET, POST, ...
	segs []string // the path template split at '/', such as "items", ":id"
}

// ThriftIDL is a Thrift IDL loaded at run time: its services, with the
// types they use resolved across includes. It is immutable and safe for
// concurrent use.
type ThriftIDL struct {
	services map[string]*thriftService
	first    string // the first service of the main file, or ""
}

type thriftService struct {
	name    string
	methods map[string]*methodDesc
}

// Services returns the names of the services the IDL's main file
// declares, sorted.
func (t *ThriftIDL) Services() []string {
	out := make([]string, 0, len(t.services))
	for n := range t.services {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// service returns the named service, or the main file's first service
// when name is "".
func (t *ThriftIDL) service(name string) (*thriftService, error) {
	if name == "" {
		name = t.first
	}
	s := t.services[name]
	if s == nil {
		return nil, fmt.Errorf("generic: the IDL has no service %q (it has %s)", name, strings.Join(t.Services(), ", "))
	}
	return s, nil
}

// Methods returns the method names of the named service (extended
// services' methods included), sorted; nil if there is no such service.
func (t *ThriftIDL) Methods(service string) []string {
	s := t.services[service]
	if s == nil {
		return nil
	}
	out := make([]string, 0, len(s.methods))
	for n := range s.methods {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// LoadThriftFile parses the Thrift IDL in file and the files it includes.
// An include is looked up beside the including file, then in includeDirs
// in order, as Apache Thrift does. A malformed file gives an error of the
// form "file:line:col: message".
func LoadThriftFile(file string, includeDirs ...string) (*ThriftIDL, error) {
	l := &thriftLoader{
		read: func(path string) (string, error) {
			b, err := os.ReadFile(path)
			return string(b), err
		},
		dirs: includeDirs,
		seen: map[string]*parser.Thrift{},
		srcs: map[*parser.Thrift]string{},
	}
	ast, err := l.load(file, "", "")
	if err != nil {
		return nil, err
	}
	return build(ast, l.srcs)
}

// ParseThrift parses a Thrift IDL held in memory: main is the content of
// the file named path, and includes maps the path of every file it
// includes (directly or not) to its content. Include paths are resolved
// relative to the including file's directory, then as given. A malformed
// file gives an error of the form "path:line:col: message".
func ParseThrift(path, main string, includes map[string]string) (*ThriftIDL, error) {
	files := map[string]string{filepath.Clean(path): main}
	for p, c := range includes {
		files[filepath.Clean(p)] = c
	}
	l := &thriftLoader{
		read: func(p string) (string, error) {
			if c, ok := files[filepath.Clean(p)]; ok {
				return c, nil
			}
			return "", os.ErrNotExist
		},
		seen: map[string]*parser.Thrift{},
		srcs: map[*parser.Thrift]string{},
	}
	ast, err := l.load(path, "", "")
	if err != nil {
		return nil, err
	}
	return build(ast, l.srcs)
}

type thriftLoader struct {
	read func(path string) (string, error)
	dirs []string
	seen map[string]*parser.Thrift
	srcs map[*parser.Thrift]string // sources, for positions in semantic errors
}

var lineSym = regexp.MustCompile(`line (\d+) symbol (\d+)`)

func (l *thriftLoader) load(file, dir, from string) (*parser.Thrift, error) {
	cands := []string{file}
	if !filepath.IsAbs(file) && from != "" {
		cands = []string{filepath.Join(dir, file)}
		for _, d := range l.dirs {
			cands = append(cands, filepath.Join(d, file))
		}
		cands = append(cands, file)
	}
	var path, src string
	for _, c := range cands {
		c = filepath.Clean(c)
		if s, err := l.read(c); err == nil {
			path, src = c, s
			break
		}
	}
	if path == "" {
		if from == "" {
			return nil, fmt.Errorf("generic: %s: no such file", file)
		}
		line, col := 1, 1
		if s, err := l.read(from); err == nil {
			line, col = position(s, `"`+file+`"`)
		}
		return nil, fmt.Errorf("generic: %s:%d:%d: include %q not found", from, line, col, file)
	}
	if t, ok := l.seen[path]; ok {
		return t, nil
	}
	t, err := parser.ParseString(path, src)
	if err != nil {
		msg := err.Error()
		if m := lineSym.FindStringSubmatch(msg); m != nil {
			near := ""
			if i := strings.Index(msg, "parse error near "); i >= 0 {
				rest := msg[i+len("parse error near "):]
				if j := strings.Index(rest, " ("); j >= 0 {
					near = " near " + rest[:j]
				}
			}
			col := m[2]
			if col == "0" {
				col = "1"
			}
			return nil, fmt.Errorf("generic: %s:%s:%s: syntax error%s", path, m[1], col, near)
		}
		return nil, fmt.Errorf("generic: %s:1:1: %s", path, strings.TrimSpace(msg))
	}
	t.Filename = path
	l.seen[path] = t
	l.srcs[t] = src
	for _, inc := range t.Includes {
		r, err := l.load(inc.Path, filepath.Dir(path), path)
		if err != nil {
			return nil, err
		}
		inc.Reference = r
	}
	return t, nil
}

// position returns the 1-based line and column of the first occurrence of
// word in src, or 1, 1.
func position(src, word string) (int, int) {
	i := strings.Index(src, word)
	if i < 0 {
		return 1, 1
	}
	line := 1 + strings.Count(src[:i], "\n")
	col := i + 1
	if j := strings.LastIndexByte(src[:i], '\n'); j >= 0 {
		col = i - j
	}
	return line, col
}
