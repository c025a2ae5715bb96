package protogen

import (
	"fmt"
	"path"
	"sort"
	"strings"

	"google.golang.org/protobuf/types/pluginpb"
)

// File is one generated file.
type File struct {
	// Path is the file's path relative to the output directory, with
	// forward slashes.
	Path string
	// Content is the file's bytes.
	Content []byte
	// Executable is set for scripts, to be written with mode 0755.
	Executable bool
}

// Options says what to generate.
type Options struct {
	// Files are the .proto files to generate code for.
	Files []string
	// ImportPaths are the directories imports are resolved in (-I); the
	// directory of each file is searched when empty.
	ImportPaths []string
	// Module is the Go module path of the output directory; a file's
	// go_package under it is written to the matching sub-directory
	// (protoc-gen-go's module= option). A file without go_package (and
	// without an entry in GoPackages) then gets the Go package
	// Module/<its directory>, or Module/<last element of its proto
	// package> for a file at the root of its import path. A bare
	// go_package, whose first element has no dot ("echo", "pb/echo;echopb",
	// which Kitex accepts), is taken as relative to Module.
	Module string
	// GoPackages maps .proto file names (as imported) to Go import paths,
	// optionally followed by ";name" for the package name, overriding
	// go_package (protoc-gen-go's M option); a bare path is taken under
	// Module, as a bare go_package is.
	GoPackages map[string]string
	// SourceRelative writes each file next to its .proto file instead of
	// under its Go import path (protoc-gen-go's paths=source_relative);
	// it cannot be combined with Module.
	SourceRelative bool
}

// Generate parses o.Files and returns the generated files: for each file
// its messages (x.pb.go, as protoc-gen-go writes it) and, when it declares
// services, their Skiff code (x_skiff.pb.go). Nothing is written; on error
// no file is returned. Errors in the .proto sources are [PosError] values
// (joined with errors.Join when there are several).
func Generate(o Options) ([]File, error) {
	c, err := compile(o.Files, o.ImportPaths)
	if err != nil {
		return nil, err
	}
	params, err := o.params(c)
	if err != nil {
		return nil, err
	}
	req := c.request(params)
	resp := run(req, true)
	if resp.Error != nil {
		msg := strings.TrimSpace(resp.GetError())
		if o.Module == "" && (strings.Contains(msg, "unable to determine Go import path") || strings.Contains(msg, "invalid Go import path")) {
			msg += "\n\nOr give a Go module path (Options.Module): files without go_package then get a package under it."
		}
		return nil, fmt.Errorf("protogen: %s", msg)
	}
	return responseFiles(resp), nil
}

// params returns the plugin parameter for o.
func (o Options) params(c *compiled) ([]string, error) {
	var ps []string
	if o.Module != "" {
		if o.SourceRelative {
			return nil, fmt.Errorf("protogen: Module cannot be combined with SourceRelative")
		}
		ps = append(ps, "module="+o.Module)
	}
	if o.SourceRelative {
		ps = append(ps, "paths=source_relative")
	}
	mapped := map[string]string{}
	for name, pkg := range o.GoPackages {
		if o.Module != "" && isBareGoPackage(pkg, o.Module) {
			pkg = o.Module + "/" + pkg
		}
		mapped[name] = pkg
	}
	if o.Module != "" {
		for _, fd := range c.protos {
			name := fd.GetName()
			if _, ok := mapped[name]; ok {
				continue
			}
			goPkg := fd.GetOptions().GetGoPackage()
			switch {
			case goPkg == "":
				mapped[name] = defaultGoPackage(o.Module, name, fd.GetPackage())
			case isBareGoPackage(goPkg, o.Module):
				mapped[name] = o.Module + "/" + goPkg
			}
		}
	}
	names := make([]string, 0, len(mapped))
	for name := range mapped {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if strings.Contains(name, ",") || strings.Contains(mapped[name], ",") {
			return nil, fmt.Errorf("protogen: Go package mapping %s=%s contains a comma", name, mapped[name])
		}
		ps = append(ps, "M"+name+"="+mapped[name])
	}
	return ps, nil
}

// isBareGoPackage reports whether a go_package value names no fetchable
// import path ("echo", "pb/echo;echopb": no dot in its first element) and
// is not under module. Kitex accepts such values and puts the code under
// its kitex_gen directory; with a module, Skiff puts it under the module.
func isBareGoPackage(goPkg, module string) bool {
	imp, _ := splitGoPackage(goPkg)
	if imp == "" || imp == module || strings.HasPrefix(imp, module+"/") {
		return false
	}
	first, _, _ := strings.Cut(imp, "/")
	return !strings.Contains(first, ".")
}

// defaultGoPackage is the Go import path under module of a .proto file
// that names none.
func defaultGoPackage(module, file, protoPkg string) string {
	if dir := path.Dir(file); dir != "." {
		return module + "/" + dir
	}
	name := protoPkg
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		name = name[i+1:]
	}
	if name == "" {
		name = strings.TrimSuffix(path.Base(file), ".proto")
	}
	return module + "/" + goIdent(name)
}

// goIdent turns s into a lower-case Go package name.
func goIdent(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r == '_', r >= '0' && r <= '9' && b.Len() > 0:
			b.WriteRune(r)
		case r >= '0' && r <= '9':
			b.WriteString("_")
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 {
		return "pb"
	}
	return b.String()
}

func responseFiles(resp *pluginpb.CodeGeneratorResponse) []File {
	files := make([]File, 0, len(resp.File))
	for _, f := range resp.File {
		files = append(files, File{Path: f.GetName(), Content: []byte(f.GetContent())})
	}
	return files
}
