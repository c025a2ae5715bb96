package thriftgen

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/cloudwego/thriftgo/parser"
)

// load parses file and, recursively, the files it includes. An include is
// searched in the directory of the including file, then in incDirs, as
// Apache Thrift does.
func load(file, dir string, incDirs []string, seen map[string]*parser.Thrift, from string) (*parser.Thrift, error) {
	var cands []string
	if filepath.IsAbs(file) {
		cands = []string{file}
	} else {
		cands = append(cands, filepath.Join(dir, file))
		for _, d := range incDirs {
			cands = append(cands, filepath.Join(d, file))
		}
	}
	path := ""
	for _, c := range cands {
		if fi, err := os.Stat(c); err == nil && !fi.IsDir() {
			path = filepath.Clean(c)
			break
		}
	}
	if path == "" {
		if from == "" {
			return nil, fmt.Errorf("%s: no such file", file)
		}
		line, col := 1, 1
		if b, err := os.ReadFile(from); err == nil {
			line, col = findWord(string(b), `"`+file+`"`)
		}
		return nil, fmt.Errorf("%s:%d:%d: include %q not found (searched %s)", from, line, col, file, strings.Join(cands, ", "))
	}
	if t, ok := seen[path]; ok {
		return t, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	t, err := parser.ParseString(path, fixDoubles(string(b)))
	if err != nil {
		return nil, parseError(path, fmt.Errorf("parse %s err: %w", path, err))
	}
	addUUID(t)
	seen[path] = t
	for _, inc := range t.Includes {
		r, err := load(inc.Path, filepath.Dir(path), incDirs, seen, path)
		if err != nil {
			return nil, err
		}
		inc.Reference = r
	}
	return t, nil
}

var expNumber = regexp.MustCompile(`^[+-]?(\d+\.\d+|\.\d+|\d+)[eE][+-]?\d+`)

func isIdent(c byte) bool {
	return c == '_' || c == '.' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// fixDoubles rewrites double literals with an exponent (1.5e-3) as plain
// decimals (0.0015): thriftgo v0.4.3 keeps only the exponent of such a
// literal. Strings and comments are left alone; lines do not move.
func fixDoubles(src string) string {
	var b strings.Builder
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == '"' || c == '\'':
			j := i + 1
			for j < len(src) && src[j] != c && src[j] != '\n' {
				if src[j] == '\\' {
					j++
				}
				j++
			}
			j = min(j+1, len(src))
			b.WriteString(src[i:j])
			i = j
			continue
		case c == '#' || c == '/' && i+1 < len(src) && src[i+1] == '/':
			j := strings.IndexByte(src[i:], '\n')
			if j < 0 {
				j = len(src) - i
			}
			b.WriteString(src[i : i+j])
			i += j
			continue
		case c == '/' && i+1 < len(src) && src[i+1] == '*':
			j := strings.Index(src[i+2:], "*/")
			if j < 0 {
				j = len(src) - i - 2
			} else {
				j += 2
			}
			b.WriteString(src[i : i+2+j])
			i += 2 + j
			continue
		}
		if (i == 0 || !isIdent(src[i-1])) && (c >= '0' && c <= '9' || c == '.' || c == '+' || c == '-') {
			if m := expNumber.FindString(src[i:]); m != "" && (i+len(m) == len(src) || !isIdent(src[i+len(m)])) {
				if f, err := strconv.ParseFloat(m, 64); err == nil {
					s := strconv.FormatFloat(f, 'f', -1, 64)
					if !strings.Contains(s, ".") {
						s += ".0"
					}
					b.WriteString(s)
					i += len(m)
					continue
				}
			}
		}
		b.WriteByte(c)
		i++
	}
	return b.String()
}

// unescape interprets the escapes Apache Thrift's lexer knows in a string
// literal as thriftgo returns it (\" already unescaped): \n \r \t \\ \' \".
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		i++
		switch s[i] {
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case '\\', '\'', '"':
			b.WriteByte(s[i])
		default:
			b.WriteByte('\\')
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// uuidMarker marks the typedef addUUID adds.
const uuidMarker = "\x00skiff: the uuid base type"

// addUUID declares Thrift's uuid base type (Apache Thrift 0.19 and later),
// which thriftgo v0.4.3 does not know, as a typedef that the generator
// recognizes and does not emit. A file that defines its own uuid keeps it.
func addUUID(t *parser.Thrift) {
	for _, d := range t.Typedefs {
		if d.Alias == "uuid" {
			return
		}
	}
	for _, s := range t.GetStructLikes() {
		if s.Name == "uuid" {
			return
		}
	}
	for _, e := range t.Enums {
		if e.Name == "uuid" {
			return
		}
	}
	t.Typedefs = append(t.Typedefs, &parser.Typedef{Alias: "uuid", Type: &parser.Type{Name: "binary"}, ReservedComments: uuidMarker})
}
