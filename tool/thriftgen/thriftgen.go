package thriftgen

import (
	"fmt"
	"path"
	"sort"
)

// File is one generated file.
type File struct {
	// Path is the file's path relative to the output directory, with
	// forward slashes.
	Path string
	// Content is the file's bytes.
	Content []byte
}

// Options says what to generate.
type Options struct {
	// Files are the .thrift files to generate code for; the files they
	// include are generated too.
	Files []string
	// ImportPaths are the directories includes are searched in (-I), after
	// the directory of the including file.
	ImportPaths []string
	// Module is the Go import path of the output directory. The code of an
	// IDL file goes to the sub-directory named by its "namespace go" (dots
	// become slashes; the file's base name when there is none), and
	// generated files import each other under Module.
	Module string
}

// Generate parses o.Files and returns the generated files, sorted by path.
// Nothing is written; on error no file is returned. Errors in the IDL carry
// file:line:column.
func Generate(o Options) ([]File, error) {
	if len(o.Files) == 0 {
		return nil, fmt.Errorf("thriftgen: no IDL file")
	}
	out := map[string][]byte{}
	from := map[string]string{}
	for _, root := range o.Files {
		files, err := parseAll(root, o.ImportPaths, o.Module)
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			p := path.Join(f.dir, f.base+".go")
			if prev, ok := from[p]; ok {
				if prev != f.path {
					return nil, fmt.Errorf("%s and %s both generate %s", prev, f.path, p)
				}
				continue
			}
			g := &gen{f: f, opts: o, imports: map[string]string{}}
			b, err := g.generate()
			if err != nil {
				return nil, err
			}
			out[p] = b
			from[p] = f.path
		}
	}
	var fs []File
	for p, b := range out {
		fs = append(fs, File{Path: p, Content: b})
	}
	sort.Slice(fs, func(i, j int) bool { return fs[i].Path < fs[j].Path })
	return fs, nil
}
