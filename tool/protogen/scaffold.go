package protogen

import (
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	gengo "google.golang.org/protobuf/cmd/protoc-gen-go/internal_gengo"
	gp "google.golang.org/protobuf/compiler/protogen"

	"github.com/skiffrpc/skiff/tool/internal/scaffold"
)

// SkiffVersion is the version of the Skiff modules a scaffolded go.mod
// requires.
const SkiffVersion = "v0.2.0"

// ProtobufVersion is the version of google.golang.org/protobuf a
// scaffolded go.mod requires: the one whose generator wrote the messages.
const ProtobufVersion = "v1.36.12"

// ScaffoldOptions says what service module to scaffold.
type ScaffoldOptions struct {
	// IDL is the .proto file whose last service is scaffolded (as Kitex picks it).
	IDL string
	// ImportPaths are extra import directories (-I).
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
// of o.IDL, in the layout thriftgen.Scaffold also writes: go.mod,
// cmd/server (a server speaking Kitex Protobuf over TTHeader and Framed,
// and gRPC when the service streams), handler.go (package named after the
// module: stubs that return empty results), cmd/client (calls every unary
// method), README.md (with the command that regenerates gen/), build.sh
// (builds into output/bin), run.sh, .gitignore, the IDL and the files it
// imports under idl/, plus the generated code of o.IDL and of the files it imports (except
// the well-known types) under gen/: a file whose go_package is not under
// Module/gen gets the package gen/<its package name>, one without
// go_package gen/<its directory> or gen/<last element of its proto
// package>. Nothing is written.
func Scaffold(o ScaffoldOptions) ([]File, error) {
	if o.IDL == "" || o.Module == "" {
		return nil, fmt.Errorf("protogen: Scaffold needs an IDL file and a module path")
	}
	importPaths := o.ImportPaths
	if len(importPaths) > 0 {
		// The IDL's own directory is searched too, as without -I.
		importPaths = append(append([]string(nil), importPaths...), filepath.Dir(o.IDL))
	}
	c, err := compile([]string{o.IDL}, importPaths)
	if err != nil {
		return nil, err
	}
	idl := c.protos[len(c.protos)-1]
	if len(idl.Service) == 0 {
		return nil, fmt.Errorf("protogen: %s declares no service", o.IDL)
	}

	// Generate the IDL and the files it imports, all under gen/, the
	// directory skiff new refreshes.
	c.generate = nil
	params := []string{"module=" + o.Module}
	genDir := o.Module + "/gen"
	taken := map[string]string{} // Go import path under gen/ -> the go_package it stands for
	for _, fd := range c.protos {
		name := fd.GetName()
		if strings.HasPrefix(name, "google/protobuf/") && name != idl.GetName() {
			continue
		}
		c.generate = append(c.generate, name)
		goPkg := fd.GetOptions().GetGoPackage()
		imp, pkg := splitGoPackage(goPkg)
		if strings.HasPrefix(imp, genDir+"/") {
			continue
		}
		if imp == "" {
			params = append(params, "M"+name+"="+defaultGoPackage(genDir, name, fd.GetPackage()))
			continue
		}
		if pkg == "" {
			pkg = goIdent(path.Base(imp))
		}
		dir := genDir + "/" + pkg
		for i := 2; taken[dir] != "" && taken[dir] != imp; i++ {
			dir = genDir + "/" + pkg + strconv.Itoa(i)
		}
		taken[dir] = imp
		params = append(params, "M"+name+"="+dir+";"+pkg)
	}
	for _, p := range params {
		if strings.Contains(p, ",") {
			return nil, fmt.Errorf("protogen: Go package option %q contains a comma", p)
		}
	}
	gen, err := gp.Options{}.New(c.request(params))
	if err != nil {
		return nil, fmt.Errorf("protogen: %w", err)
	}
	var idlFile *gp.File
	for _, f := range gen.Files {
		if !f.Generate {
			continue
		}
		gengo.GenerateFile(gen, f)
		generateServices(gen, f, genOpts{})
		if f.Desc.Path() == idl.GetName() {
			idlFile = f
		}
	}
	svc := idlFile.Services[len(idlFile.Services)-1]
	genMain(gen, o.Module, idlFile, svc)
	genStubs(gen, o.Module, idlFile, svc)
	genClientExample(gen, o.Module, idlFile, svc)
	gen.SupportedFeatures = gengo.SupportedFeatures
	resp := gen.Response()
	if resp.Error != nil {
		return nil, fmt.Errorf("protogen: %s", resp.GetError())
	}
	// The IDL and the files it imports (but the well-known types), under
	// idl/ at their import names.
	files := []File{{Path: "go.mod", Content: goMod(o, hasStreaming(svc))}}
	for _, fd := range c.protos {
		name := fd.GetName()
		disk, ok := c.disk[name]
		if !ok {
			continue // a well-known type, compiled in
		}
		b, err := os.ReadFile(disk)
		if err != nil {
			return nil, fmt.Errorf("protogen: %w", err)
		}
		files = append(files, File{Path: "idl/" + name, Content: b})
	}
	idlPath := "idl/" + idl.GetName()
	regen := "skiff new -module " + o.Module + " -I idl " + idlPath
	note := "The server speaks Kitex Protobuf over TTHeader (what Kitex clients send for Protobuf\nservices) and over Framed."
	if hasStreaming(svc) {
		note += " The service streams, so the server also speaks gRPC over HTTP/2 on the\nsame port (codec-grpc and transport-http2): streaming methods are served over gRPC only."
	}
	for _, f := range scaffold.Files(scaffold.Info{Module: o.Module, What: "protobuf service " + string(svc.Desc.FullName()), IDL: idlPath, Regen: regen, Note: note}) {
		files = append(files, File{Path: f.Path, Content: f.Content, Executable: f.Executable})
	}
	for _, f := range responseFiles(resp) {
		switch f.Path {
		case "cmd/server/main.go", "handler.go", "cmd/client/main.go":
			// The files a user edits get the usual import style.
			if f.Content, err = tidyImports(f.Content); err != nil {
				return nil, fmt.Errorf("protogen: %s: %w", f.Path, err)
			}
		}
		files = append(files, f)
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	return files, nil
}

// splitGoPackage splits a go_package value into import path and package
// name.
func splitGoPackage(s string) (imp, pkg string) {
	if i := strings.IndexByte(s, ';'); i >= 0 {
		return s[:i], s[i+1:]
	}
	return s, ""
}

// skiffModules are the Skiff modules a scaffolded service uses, by
// directory in a Skiff checkout.
var skiffModules = []string{"core", "codec-protobuf", "transport-ttheader"}

// grpcModules are added for a service with streaming methods, which need
// gRPC.
var grpcModules = []string{"codec-grpc", "transport-http2"}

// hasStreaming reports whether s has a streaming method.
func hasStreaming(s *gp.Service) bool {
	for _, m := range s.Methods {
		if kindOf(m) != unary {
			return true
		}
	}
	return false
}

func goMod(o ScaffoldOptions, grpc bool) []byte {
	skiffModules := skiffModules
	if grpc {
		skiffModules = append(append([]string(nil), skiffModules...), grpcModules...)
	}
	ver := SkiffVersion
	if o.SkiffVersion != "" {
		ver = o.SkiffVersion
	}
	var b strings.Builder
	fmt.Fprintf(&b, "module %s\n\ngo 1.26.0\n\nrequire (\n", o.Module)
	for _, m := range skiffModules {
		fmt.Fprintf(&b, "\tgithub.com/skiffrpc/skiff/%s %s\n", m, ver)
	}
	fmt.Fprintf(&b, "\tgoogle.golang.org/protobuf %s\n)\n", ProtobufVersion)
	if o.SkiffReplace != "" {
		b.WriteString("\n")
		for _, m := range skiffModules {
			fmt.Fprintf(&b, "replace github.com/skiffrpc/skiff/%s => %s\n", m, filepath.ToSlash(filepath.Join(o.SkiffReplace, m)))
		}
	}
	return []byte(b.String())
}

// mainFile returns a generated file of package main at dir (relative to
// the module root, "" for the root).
func mainFile(gen *gp.Plugin, module, dir string) (*gp.GeneratedFile, gp.GoImportPath) {
	imp := gp.GoImportPath(module)
	name := module + "/"
	if dir != "" {
		imp = gp.GoImportPath(module + "/" + dir)
		name += dir + "/"
	}
	return gen.NewGeneratedFile(name+"main.go", imp), imp
}

func genMain(gen *gp.Plugin, module string, f *gp.File, s *gp.Service) {
	g, _ := mainFile(gen, module, "cmd/server")
	g.P("// Command server serves the protobuf service ", s.Desc.FullName(), " with Skiff:")
	if hasStreaming(s) {
		g.P("// Kitex Protobuf over TTHeader (and Framed), and gRPC over HTTP/2 for")
		g.P("// every method, streaming ones included, on the same port.")
	} else {
		g.P("// Kitex Protobuf over TTHeader (and Framed).")
	}
	g.P("package main")
	g.P()
	g.Import("github.com/skiffrpc/skiff/codec-protobuf")
	g.Import("github.com/skiffrpc/skiff/transport-ttheader")
	if hasStreaming(s) {
		g.Import("github.com/skiffrpc/skiff/codec-grpc")
		g.Import("github.com/skiffrpc/skiff/transport-http2")
	}
	g.P("func main() {")
	g.P("addr := ", gp.GoImportPath("flag").Ident("String"), `("addr", ":8888", "listen address")`)
	g.P(gp.GoImportPath("flag").Ident("Parse"), "()")
	g.P("svr := ", serverPkg.Ident("New"), "(", serverPkg.Ident("WithAddress"), "(*addr))")
	g.P("if err := ", f.GoImportPath.Ident("Register"+s.GoName), "(svr, &", gp.GoImportPath(module).Ident("Handler"), "{}); err != nil {")
	g.P(gp.GoImportPath("log").Ident("Fatal"), "(err)")
	g.P("}")
	g.P(gp.GoImportPath("log").Ident("Printf"), `("serving `, s.Desc.FullName(), ` on %s", *addr)`)
	g.P("// A stop that had to cut in-flight work (server.ErrForcedStop) is an")
	g.P("// ordinary end, not a failure.")
	g.P("if err := svr.Run(); err != nil && !", gp.GoImportPath("errors").Ident("Is"), "(err, ", serverPkg.Ident("ErrForcedStop"), ") {")
	g.P(gp.GoImportPath("log").Ident("Fatal"), "(err)")
	g.P("}")
	g.P("}")
}

func genStubs(gen *gp.Plugin, module string, f *gp.File, s *gp.Service) {
	g := gen.NewGeneratedFile(module+"/handler.go", gp.GoImportPath(module))
	g.P("package ", scaffold.PackageName(module))
	g.P()
	g.P("// Handler implements the protobuf service ", s.Desc.FullName(), ". Each method")
	g.P("// is a stub that returns an empty result: replace them with the service's")
	g.P("// logic.")
	g.P("type Handler struct{}")
	g.P()
	g.P("var _ ", f.GoImportPath.Ident(s.GoName), " = (*Handler)(nil)")
	ioEOF := gp.GoImportPath("io").Ident("EOF")
	for _, m := range s.Methods {
		in, out := g.QualifiedGoIdent(m.Input.GoIdent), g.QualifiedGoIdent(m.Output.GoIdent)
		g.P()
		g.P("// ", m.GoName, " implements ", s.Desc.Name(), ".", m.Desc.Name(), ".")
		switch kindOf(m) {
		case unary:
			g.P("func (h *Handler) ", m.GoName, "(ctx ", contextPkg.Ident("Context"), ", req *", in, ") (*", out, ", error) {")
			g.P("return &", out, "{}, nil")
		case clientStreaming:
			g.P("func (h *Handler) ", m.GoName, "(srv ", streamPkg.Ident("ClientStreamingServer"), "[", in, ", ", out, "]) error {")
			g.P("for {")
			g.P("if _, err := srv.Recv(); err == ", ioEOF, " {")
			g.P("return srv.SendAndClose(&", out, "{})")
			g.P("} else if err != nil {")
			g.P("return err")
			g.P("}")
			g.P("}")
		case serverStreaming:
			g.P("func (h *Handler) ", m.GoName, "(req *", in, ", srv ", streamPkg.Ident("ServerStreamingServer"), "[", out, "]) error {")
			g.P("// Send each response with srv.Send; returning ends the stream.")
			g.P("return nil")
		case bidiStreaming:
			g.P("func (h *Handler) ", m.GoName, "(srv ", streamPkg.Ident("BidiStreamingServer"), "[", in, ", ", out, "]) error {")
			g.P("for {")
			g.P("if _, err := srv.Recv(); err == ", ioEOF, " {")
			g.P("return nil")
			g.P("} else if err != nil {")
			g.P("return err")
			g.P("}")
			g.P("}")
		}
		g.P("}")
	}
}

func genClientExample(gen *gp.Plugin, module string, f *gp.File, s *gp.Service) {
	g, _ := mainFile(gen, module, "cmd/client")
	logPkg, flagPkg, fmtPkg := gp.GoImportPath("log"), gp.GoImportPath("flag"), gp.GoImportPath("fmt")
	var unaries, streams []*gp.Method
	for _, m := range s.Methods {
		if kindOf(m) == unary {
			unaries = append(unaries, m)
		} else {
			streams = append(streams, m)
		}
	}
	g.P("// Command client calls every unary method of ", s.Desc.FullName(), " once, with an")
	g.P("// empty request, over Kitex Protobuf in TTHeader; it prints the results and")
	g.P("// exits 1 if a call failed.")
	g.P("package main")
	g.P()
	g.Import("github.com/skiffrpc/skiff/codec-protobuf")
	g.Import("github.com/skiffrpc/skiff/transport-ttheader")
	g.P("func main() {")
	g.P("addr := ", flagPkg.Ident("String"), `("addr", "127.0.0.1:8888", "server address")`)
	g.P(flagPkg.Ident("Parse"), "()")
	g.P("// Kitex sends Kitex Protobuf in TTHeader with a framed payload.")
	g.P("cli, err := ", clientPkg.Ident("New"), "(", f.GoImportPath.Ident(s.GoName+"ServiceInfo"), "(), ", clientPkg.Ident("WithHostPorts"), "(*addr),")
	g.P(clientPkg.Ident("WithTransport"), "(", transportPkg.Ident("Lookup"), `("ttheader-framed")), `, clientPkg.Ident("WithRPCTimeout"), "(3*", gp.GoImportPath("time").Ident("Second"), "))")
	g.P("if err != nil {")
	g.P(logPkg.Ident("Fatal"), "(err)")
	g.P("}")
	g.P("defer cli.Close()")
	g.P("stub := ", f.GoImportPath.Ident(namesOf(s, genOpts{}).newClient), "(cli)")
	g.P("ctx := ", contextPkg.Ident("Background"), "()")
	g.P("failed := false")
	for _, m := range unaries {
		g.P("{")
		g.P("res, err := stub.", m.GoName, "(ctx, &", m.Input.GoIdent, "{})")
		g.P(fmtPkg.Ident("Printf"), `("`, m.GoName, `: %v err=%v\n", res, err)`)
		g.P("failed = failed || err != nil")
		g.P("}")
	}
	for _, m := range streams {
		g.P(fmtPkg.Ident("Println"), `("`, m.GoName, `: streaming, not called (streams need gRPC: client.WithStreamTransport)")`)
	}
	g.P("if failed {")
	g.P(gp.GoImportPath("os").Ident("Exit"), "(1)")
	g.P("}")
	g.P("}")
}

// tidyImports rewrites the import block of a file written by protogen
// (every import named, even when the name is the package's) into one block
// of standard packages and one of the others, names only where needed.
func tidyImports(src []byte) ([]byte, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "", src, parser.ParseComments)
	if err != nil {
		return nil, err
	}
	var decl *ast.GenDecl
	for _, d := range f.Decls {
		if gd, ok := d.(*ast.GenDecl); ok && gd.Tok == token.IMPORT {
			decl = gd
			break
		}
	}
	if decl == nil {
		return src, nil
	}
	var std, other []string
	for _, spec := range decl.Specs {
		is := spec.(*ast.ImportSpec)
		p, err := strconv.Unquote(is.Path.Value)
		if err != nil {
			return nil, err
		}
		line := is.Path.Value
		if is.Name != nil && is.Name.Name != path.Base(p) {
			line = is.Name.Name + " " + line
		}
		if strings.Contains(strings.SplitN(p, "/", 2)[0], ".") {
			other = append(other, line)
		} else {
			std = append(std, line)
		}
	}
	sort.Strings(std)
	sort.Strings(other)
	var b strings.Builder
	b.WriteString("import (\n")
	for _, l := range std {
		b.WriteString("\t" + l + "\n")
	}
	if len(std) > 0 && len(other) > 0 {
		b.WriteString("\n")
	}
	for _, l := range other {
		b.WriteString("\t" + l + "\n")
	}
	b.WriteString(")")
	start, end := fset.Position(decl.Pos()).Offset, fset.Position(decl.End()).Offset
	out := append(append(append([]byte(nil), src[:start]...), b.String()...), src[end:]...)
	return format.Source(out)
}
