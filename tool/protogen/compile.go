package protogen

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/bufbuild/protocompile"
	"github.com/bufbuild/protocompile/linker"
	"github.com/bufbuild/protocompile/protoutil"
	"github.com/bufbuild/protocompile/reporter"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/pluginpb"
)

// maxErrors bounds the source errors reported for one run.
const maxErrors = 20

// PosError is an error at a position in a .proto file.
type PosError struct {
	// File is the path of the .proto file on disk (or its import name when
	// it was not read from disk).
	File string
	// Line and Col are 1-based.
	Line, Col int
	// Msg says what is wrong.
	Msg string
}

// Error returns "file:line:col: msg".
func (e *PosError) Error() string {
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
}

// compiled is the result of parsing and linking a set of files.
type compiled struct {
	// generate are the import names of the files to generate code for.
	generate []string
	// protos are every file, dependencies first, as protoc lists them in
	// a CodeGeneratorRequest.
	protos []*descriptorpb.FileDescriptorProto
	// disk maps import names to the paths the files were read from.
	disk map[string]string
}

// request returns the CodeGeneratorRequest protoc would send, with no
// compiler version.
func (c *compiled) request(params []string) *pluginpb.CodeGeneratorRequest {
	req := &pluginpb.CodeGeneratorRequest{
		FileToGenerate: c.generate,
		ProtoFile:      c.protos,
	}
	if len(params) > 0 {
		req.Parameter = proto.String(strings.Join(params, ","))
	}
	return req
}

// diskResolver finds import names under import paths and remembers where
// each file was read from.
type diskResolver struct {
	paths []string
	mu    sync.Mutex
	disk  map[string]string
}

func (r *diskResolver) FindFileByPath(name string) (protocompile.SearchResult, error) {
	for _, dir := range r.paths {
		p := filepath.Join(dir, filepath.FromSlash(name))
		f, err := os.Open(p)
		if err != nil {
			continue
		}
		r.mu.Lock()
		r.disk[name] = p
		r.mu.Unlock()
		return protocompile.SearchResult{Source: f}, nil
	}
	return protocompile.SearchResult{}, fs.ErrNotExist
}

func (r *diskResolver) diskPath(name string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if p, ok := r.disk[name]; ok {
		return p
	}
	return name
}

// importNames maps the given files to their names relative to the import
// paths, as protoc does, and returns the import paths to search.
func importNames(files, importPaths []string) (names, paths []string, err error) {
	if len(files) == 0 {
		return nil, nil, errors.New("protogen: no .proto files given")
	}
	if len(importPaths) == 0 {
		seen := map[string]bool{}
		for _, f := range files {
			dir := filepath.Dir(f)
			if !seen[dir] {
				seen[dir] = true
				paths = append(paths, dir)
			}
			names = append(names, filepath.Base(f))
		}
		return names, paths, nil
	}
	paths = importPaths
	for _, f := range files {
		name, ok := "", false
		if af, err := filepath.Abs(f); err == nil {
			for _, ip := range importPaths {
				aip, err := filepath.Abs(ip)
				if err != nil {
					continue
				}
				rel, err := filepath.Rel(aip, af)
				if err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
					name, ok = filepath.ToSlash(rel), true
					break
				}
			}
		}
		if !ok && !filepath.IsAbs(f) {
			// A name relative to an import path, as protoc also accepts.
			for _, ip := range importPaths {
				if _, err := os.Stat(filepath.Join(ip, f)); err == nil {
					name, ok = filepath.ToSlash(filepath.Clean(f)), true
					break
				}
			}
		}
		if !ok {
			return nil, nil, fmt.Errorf("protogen: %s is not in any import path (%s)", f, strings.Join(importPaths, ", "))
		}
		names = append(names, name)
	}
	return names, paths, nil
}

// compile parses and links files.
func compile(files, importPaths []string) (*compiled, error) {
	names, paths, err := importNames(files, importPaths)
	if err != nil {
		return nil, err
	}
	for i, n := range names {
		for _, m := range names[:i] {
			if n == m {
				return nil, fmt.Errorf("protogen: %s given twice", n)
			}
		}
	}
	res := &diskResolver{paths: paths, disk: map[string]string{}}
	var errs []error
	posError := func(e reporter.ErrorWithPos) error {
		pos := e.GetPosition()
		msg := e.Error()
		if u := e.Unwrap(); u != nil {
			msg = u.Error()
		}
		return &PosError{File: res.diskPath(pos.Filename), Line: pos.Line, Col: pos.Col, Msg: msg}
	}
	rep := reporter.NewReporter(func(e reporter.ErrorWithPos) error {
		errs = append(errs, posError(e))
		if len(errs) >= maxErrors {
			return e
		}
		return nil
	}, nil)
	comp := protocompile.Compiler{
		Resolver:       protocompile.WithStandardImports(res),
		Reporter:       rep,
		SourceInfoMode: protocompile.SourceInfoStandard,
		MaxParallelism: 1,
	}
	linked, err := comp.Compile(context.Background(), names...)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if err != nil {
		var ep reporter.ErrorWithPos
		if errors.As(err, &ep) {
			return nil, posError(ep)
		}
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("protogen: %w (import paths: %s)", err, strings.Join(paths, ", "))
		}
		return nil, fmt.Errorf("protogen: %w", err)
	}
	c := &compiled{generate: names, disk: res.disk}
	seen := map[string]bool{}
	var add func(fd protoreflect.FileDescriptor)
	add = func(fd protoreflect.FileDescriptor) {
		if seen[fd.Path()] {
			return
		}
		seen[fd.Path()] = true
		imps := fd.Imports()
		for i := 0; i < imps.Len(); i++ {
			add(imps.Get(i).FileDescriptor)
		}
		c.protos = append(c.protos, fileProto(fd))
	}
	for _, f := range linked {
		add(f)
	}
	return c, nil
}

// fileProto returns the descriptor proto of fd.
func fileProto(fd protoreflect.FileDescriptor) *descriptorpb.FileDescriptorProto {
	if r, ok := fd.(linker.Result); ok {
		return r.FileDescriptorProto()
	}
	return protoutil.ProtoFromFileDescriptor(fd)
}
