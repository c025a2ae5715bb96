package thriftgen

import (
	"fmt"
	"go/format"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/cloudwego/thriftgo/parser"

	"github.com/skiffrpc/skiff/tool/internal/scaffold"
)

// SkiffVersion is the version of the Skiff modules a scaffolded go.mod
// requires when no SkiffReplace directory is given.
const SkiffVersion = "v0.2.0"

// ApacheThriftVersion is the Apache Thrift Go library version a scaffolded
// go.mod requires (the one codec-thrift is built with).
const ApacheThriftVersion = "v0.22.0"

// ScaffoldOptions says what service module to scaffold.
type ScaffoldOptions struct {
	// IDL is the .thrift file whose last service is scaffolded (as Kitex picks it).
	IDL string
	// ImportPaths are extra include directories (-I).
	ImportPaths []string
	// Module is the new module's path.
	Module string
	// SkiffReplace, when not empty, is a directory holding a Skiff
	// checkout; the go.mod then replaces every Skiff module with the
	// matching sub-directory (for tests and unreleased use).
	SkiffReplace string
	// SkiffVersion is the version of the Skiff modules go.mod requires
	// when SkiffReplace is empty (default: the SkiffVersion constant).
	SkiffVersion string
}

// Scaffold returns the files of a new service module for the last service
// of o.IDL, in the layout protogen.Scaffold also writes: go.mod, handler.go
// (package named after the module; a stub per method that returns an empty
// result), cmd/server (the server), cmd/client (calls every method),
// README.md (with the command that regenerates gen/), build.sh (builds
// into output/bin), run.sh, .gitignore, the generated code under gen/, and
// the IDL with the files it includes under idl/. Nothing is written. The
// module builds and answers calls without edits once `go mod tidy` has
// filled go.sum (build.sh runs it).
func Scaffold(o ScaffoldOptions) ([]File, error) {
	if o.Module == "" {
		return nil, fmt.Errorf("thriftgen: scaffold needs a module path")
	}
	genMod := o.Module + "/gen"
	files, err := Generate(Options{Files: []string{o.IDL}, ImportPaths: o.ImportPaths, Module: genMod})
	if err != nil {
		return nil, err
	}
	parsed, err := parseAll(o.IDL, o.ImportPaths, genMod)
	if err != nil {
		return nil, err
	}
	root := parsed[len(parsed)-1]
	if len(root.ast.Services) == 0 {
		return nil, fmt.Errorf("%s: no service to scaffold", o.IDL)
	}
	svc := root.ast.Services[len(root.ast.Services)-1]
	var out []File
	for _, f := range files {
		out = append(out, File{Path: "gen/" + f.Path, Content: f.Content})
	}
	newQ := func() *gen {
		g := &gen{f: &file{}, imports: map[string]string{}}
		g.importAlias(root)
		return g
	}
	q := newQ()
	// All methods, the base services' first.
	type smethod struct {
		m *method
		g *gen
	}
	var ms []smethod
	var chain []*parser.Service
	var chainFiles []*file
	for f, s := root, svc; s != nil; {
		chain = append([]*parser.Service{s}, chain...)
		chainFiles = append([]*file{f}, chainFiles...)
		if s.Extends == "" {
			break
		}
		bf, bn := f.lookup(s.Extends)
		f, s = bf, bf.svcs[bn]
	}
	seen := map[string]bool{}
	for i, s := range chain {
		g := &gen{f: chainFiles[i], imports: map[string]string{}}
		mm, err := g.methods(s)
		if err != nil {
			return nil, err
		}
		for _, m := range mm {
			if !seen[m.fn.Name] {
				seen[m.fn.Name] = true
				ms = append(ms, smethod{m, g})
			}
		}
	}
	sn := goName(svc.Name)
	pkg := q.importAlias(root)

	rootPkg := scaffold.PackageName(o.Module)

	// handler.go
	var h writer
	h.p("package %s", rootPkg)
	h.p("")
	h.p("// Handler implements %s.%s. Each method is a stub that returns an empty", pkg, sn)
	h.p("// result (empty lists, maps and structs, never nil): replace them with the")
	h.p("// service's logic.")
	h.p("type Handler struct{}")
	h.p("")
	h.p("var _ %s.%s = (*Handler)(nil)", pkg, sn)
	h.p("")
	for _, sm := range ms {
		m := sm.m
		var params []string
		for _, a := range m.args {
			params = append(params, "_ "+q.fieldType(a))
		}
		p := "_ context.Context"
		if len(params) > 0 {
			p += ", " + strings.Join(params, ", ")
		}
		h.p("// %s implements %s.%s.", m.name, svc.Name, m.fn.Name)
		if m.ret == nil {
			h.p("func (h *Handler) %s(%s) error {", m.name, p)
			h.p("return nil")
		} else {
			h.p("func (h *Handler) %s(%s) (%s, error) {", m.name, p, q.goType(m.ret))
			h.p("return %s, nil", q.zeroValue(m.ret))
		}
		h.p("}")
		h.p("")
	}
	hsrc, err := q.wrap(h.String(), []string{"context"})
	if err != nil {
		return nil, err
	}
	out = append(out, File{Path: "handler.go", Content: hsrc})

	// cmd/server/main.go
	q = newQ()
	var m writer
	m.p("// Command server serves the Thrift service %s with Skiff.", svc.Name)
	m.p("package main")
	m.p("")
	m.p("func main() {")
	m.p("addr := flag.String(\"addr\", \":8888\", \"listen address\")")
	m.p("flag.Parse()")
	m.p("svr := server.New(server.WithAddress(*addr))")
	m.p("if err := %s.Register%s(svr, &%s.Handler{}); err != nil {", pkg, sn, rootPkg)
	m.p("log.Fatal(err)")
	m.p("}")
	m.p("log.Printf(\"%s listening on %%s\", *addr)", svc.Name)
	m.p("// A stop that had to cut in-flight work (server.ErrForcedStop) is an")
	m.p("// ordinary end, not a failure.")
	m.p("if err := svr.Run(); err != nil && !errors.Is(err, server.ErrForcedStop) {")
	m.p("log.Fatal(err)")
	m.p("}")
	m.p("}")
	q.imports[o.Module] = rootPkg
	msrc, err := q.wrap(m.String(), []string{"errors", "flag", "log", "github.com/skiffrpc/skiff/core/server"})
	if err != nil {
		return nil, err
	}
	out = append(out, File{Path: "cmd/server/main.go", Content: msrc})

	// cmd/client/main.go
	q = newQ()
	var c writer
	c.p("// Command client calls every method of %s once, with empty", svc.Name)
	c.p("// arguments, prints the results and exits 1 if a call failed.")
	c.p("package main")
	c.p("")
	c.p("func main() {")
	c.p("addr := flag.String(\"addr\", \"127.0.0.1:8888\", \"server address\")")
	c.p("flag.Parse()")
	c.p("cli, err := client.New(%s.%sServiceInfo(), client.WithHostPorts(*addr), client.WithRPCTimeout(3*time.Second))", pkg, sn)
	c.p("if err != nil {")
	c.p("log.Fatal(err)")
	c.p("}")
	c.p("defer cli.Close()")
	c.p("stub := %s.New%sClient(cli)", pkg, sn)
	c.p("ctx := context.Background()")
	c.p("failed := false")
	for _, sm := range ms {
		m := sm.m
		var args []string
		for _, a := range m.args {
			if a.pointer && a.t.kind != kStruct {
				args = append(args, "nil")
			} else {
				args = append(args, q.zeroValue(a.t))
			}
		}
		call := fmt.Sprintf("stub.%s(ctx%s)", m.name, prefixJoin(args))
		c.p("{")
		if m.ret == nil {
			c.p("err := %s", call)
			c.p("fmt.Printf(\"%s: err=%%v\\n\", err)", m.fn.Name)
		} else {
			c.p("res, err := %s", call)
			c.p("fmt.Printf(\"%s: %%+v err=%%v\\n\", res, err)", m.fn.Name)
		}
		c.p("failed = failed || err != nil")
		c.p("}")
	}
	c.p("if failed {")
	c.p("os.Exit(1)")
	c.p("}")
	c.p("}")
	csrc, err := q.wrap(c.String(), []string{"context", "flag", "fmt", "log", "os", "time", "github.com/skiffrpc/skiff/core/client"})
	if err != nil {
		return nil, err
	}
	out = append(out, File{Path: "cmd/client/main.go", Content: csrc})

	// go.mod
	var gm writer
	gm.p("module %s", o.Module)
	gm.p("")
	gm.p("go 1.26.0")
	gm.p("")
	gm.p("require (")
	gm.p("\tgithub.com/apache/thrift %s", ApacheThriftVersion)
	ver := SkiffVersion
	if o.SkiffVersion != "" {
		ver = o.SkiffVersion
	}
	if o.SkiffReplace != "" {
		ver = "v0.0.0"
	}
	gm.p("\tgithub.com/skiffrpc/skiff/codec-thrift %s", ver)
	gm.p("\tgithub.com/skiffrpc/skiff/core %s", ver)
	gm.p(")")
	if o.SkiffReplace != "" {
		gm.p("")
		gm.p("replace (")
		gm.p("\tgithub.com/skiffrpc/skiff/codec-thrift => %s", filepath.ToSlash(filepath.Join(o.SkiffReplace, "codec-thrift")))
		gm.p("\tgithub.com/skiffrpc/skiff/core => %s", filepath.ToSlash(filepath.Join(o.SkiffReplace, "core")))
		gm.p(")")
	}
	out = append(out, File{Path: "go.mod", Content: gm.Bytes()})

	// The IDL and the files it includes, under idl/ when they all lie
	// under the IDL's directory or an include directory.
	idlPath := filepath.ToSlash(o.IDL)
	incFlag := ""
	copies, incs, ok := idlCopies(parsed, o.IDL, o.ImportPaths)
	if ok {
		out = append(out, copies...)
		idlPath = "idl/" + filepath.ToSlash(mustRel(filepath.Dir(o.IDL), o.IDL))
		for _, d := range incs {
			incFlag += " -I " + d
		}
	} else {
		for _, d := range o.ImportPaths {
			incFlag += " -I " + filepath.ToSlash(d)
		}
	}
	regen := fmt.Sprintf("skiff new -module %s%s %s", o.Module, incFlag, idlPath)
	for _, f := range scaffold.Files(scaffold.Info{Module: o.Module, What: "Thrift service " + svc.Name, IDL: idlPath, Regen: regen,
		Note: "The server answers Thrift Framed and Buffered on one port (add transport-ttheader for TTHeader)."}) {
		out = append(out, File{Path: f.Path, Content: f.Content})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// zeroValue returns an expression of the empty value of t for scaffolded
// code: a new struct for struct types, an empty (non-nil) list, set, map or
// binary, so that a result holding it is a valid result on the wire.
func (g *gen) zeroValue(t *rtype) string {
	switch t.kind {
	case kStruct:
		return g.newStruct(t)
	case kEnum:
		return g.goType(t) + "(0)"
	case kList, kSet, kMap, kBinary:
		return g.goType(t) + "{}"
	}
	return g.zeroExpr(t)
}

// idlCopies returns the IDL files under idl/, at their paths relative to
// the root IDL's directory or, failing that, to an include directory, and
// the include directories (under idl/) that find them again: an include
// directory under the root IDL's directory keeps its place, the others
// become idl/ itself. ok is false when a file lies under none of them.
func idlCopies(parsed []*file, root string, incDirs []string) (files []File, incs []string, ok bool) {
	rootDir := filepath.Dir(root)
	outside := false
	for _, f := range parsed {
		rel, err := filepath.Rel(rootDir, f.path)
		for _, d := range incDirs {
			if err == nil && filepath.IsLocal(rel) {
				break
			}
			if rel, err = filepath.Rel(d, f.path); err == nil && filepath.IsLocal(rel) {
				outside = true
			}
		}
		if err != nil || !filepath.IsLocal(rel) {
			return nil, nil, false
		}
		b, err := os.ReadFile(f.path)
		if err != nil {
			return nil, nil, false
		}
		files = append(files, File{Path: "idl/" + filepath.ToSlash(rel), Content: b})
	}
	for _, d := range incDirs {
		if rel, err := filepath.Rel(rootDir, d); err == nil && filepath.IsLocal(rel) {
			incs = append(incs, "idl/"+filepath.ToSlash(rel))
		}
	}
	if outside {
		incs = append(incs, "idl")
	}
	return files, incs, true
}

func mustRel(base, p string) string {
	rel, err := filepath.Rel(base, p)
	if err != nil {
		return filepath.Base(p)
	}
	return rel
}

// wrap adds the imports (std and extra, plus the generated packages) to a
// scaffolded main-package source and formats it.
func (g *gen) wrap(src string, imports []string) ([]byte, error) {
	i := strings.Index(src, "\n\n")
	var b strings.Builder
	b.WriteString(src[:i+1])
	b.WriteString("\nimport (\n")
	var deps []string
	if uses(src, "thrift") {
		imports = append(imports, "github.com/apache/thrift/lib/go/thrift")
	}
	for _, imp := range imports {
		if strings.Contains(strings.Split(imp, "/")[0], ".") {
			deps = append(deps, quote(imp))
			continue
		}
		b.WriteString(quote(imp) + "\n")
	}
	for imp, alias := range g.imports {
		deps = append(deps, alias+" "+quote(imp))
	}
	sort.Strings(deps)
	b.WriteString("\n")
	for _, d := range deps {
		b.WriteString(d + "\n")
	}
	b.WriteString(")\n")
	b.WriteString(src[i+1:])
	out, err := format.Source([]byte(b.String()))
	if err != nil {
		return nil, fmt.Errorf("thriftgen: internal error: scaffolded code does not parse: %w\n%s", err, b.String())
	}
	return out, nil
}
