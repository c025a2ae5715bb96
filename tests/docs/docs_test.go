package docs

import (
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// root is the repository root.
const root = "../.."

// skiffModules are the modules a snippet may import; the test module
// replaces each with this checkout.
var skiffModules = []string{"core", "codec-thrift", "codec-protobuf", "codec-grpc", "transport-ttheader", "transport-http2", "loadbalance", "breaker", "examples"}

// snippet is one Go code block of a page.
type snippet struct {
	page   string // relative to the repository root
	line   int
	code   string
	offset int // lines of code before the block's first line (a wrapped fragment's prelude)
}

// errPos matches a position in a snippet's file in go vet's output.
var errPos = regexp.MustCompile(`(?:\./)?snippets/(s\d+_\w+)/main\.go:(\d+)`)

var fence = regexp.MustCompile("(?ms)^```go\n(.*?)^```")

// snippets returns the Go code blocks of docs/*.md.
func snippets(t *testing.T) []snippet {
	t.Helper()
	pages, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil || len(pages) == 0 {
		t.Fatalf("no docs pages: %v", err)
	}
	var out []snippet
	for _, p := range pages {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range fence.FindAllSubmatchIndex(b, -1) {
			out = append(out, snippet{page: "docs/" + filepath.Base(p), line: 1 + strings.Count(string(b[:m[0]]), "\n"), code: string(b[m[2]:m[3]])})
		}
	}
	return out
}

// TestSnippetsCompile builds every Go code block of docs/*.md, and of the
// README (fragments: see readmeSnippets), as a program of its own in the
// module example.com/echosvc, the module the getting
// started page scaffolds: gen/echo holds what skiff generates for
// examples/echo/echo.thrift, and the Skiff modules are this checkout's. A
// block is a whole file (package clause, imports); go vet checks it too.
func TestSnippetsCompile(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a module")
	}
	sn := snippets(t)
	if len(sn) < 10 {
		t.Fatalf("only %d Go snippets in docs/", len(sn))
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var gomod strings.Builder
	gomod.WriteString("module example.com/echosvc\n\ngo 1.26.0\n\nrequire (\n")
	for _, m := range skiffModules {
		fmt.Fprintf(&gomod, "\tgithub.com/skiffrpc/skiff/%s v0.0.0\n", m)
	}
	gomod.WriteString(")\n\nreplace (\n")
	for _, m := range skiffModules {
		fmt.Fprintf(&gomod, "\tgithub.com/skiffrpc/skiff/%s => %s\n", m, filepath.ToSlash(filepath.Join(abs, m)))
	}
	gomod.WriteString(")\n")
	write(t, filepath.Join(dir, "go.mod"), gomod.String())
	// go.sum lines the checkout already has, so that tidy fetches little.
	var sum strings.Builder
	for _, m := range append(skiffModules, "tool", "tests") {
		b, err := os.ReadFile(filepath.Join(abs, m, "go.sum"))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		sum.Write(b)
	}
	write(t, filepath.Join(dir, "go.sum"), sum.String())
	goCmd(t, filepath.Join(abs, "tool"), "run", "./cmd/skiff", "-out", filepath.Join(dir, "gen"), "-module", "example.com/echosvc/gen",
		filepath.Join(abs, "examples", "echo", "echo.thrift"))

	sn = append(sn, readmeSnippets(t)...)
	where := map[string]snippet{}
	for i, s := range sn {
		name := fmt.Sprintf("s%02d_%s", i, strings.TrimSuffix(strings.ReplaceAll(path.Base(s.page), "-", "_"), ".md"))
		where[name] = s
		write(t, filepath.Join(dir, "snippets", name, "main.go"), s.code)
	}
	goCmd(t, dir, "mod", "tidy")
	out, err := run(dir, "vet", "./snippets/...")
	if err != nil {
		// Name the page and line of each error.
		out = errPos.ReplaceAllStringFunc(out, func(m string) string {
			sm := errPos.FindStringSubmatch(m)
			s, ok := where[sm[1]]
			n, err := strconv.Atoi(sm[2])
			if !ok || err != nil {
				return m
			}
			return fmt.Sprintf("%s:%d", s.page, s.line+n-s.offset)
		})
		t.Fatalf("docs snippets do not build:\n%s", out)
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// run runs the go command in dir outside any workspace, bounded in time.
func run(dir string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func goCmd(t *testing.T, dir string, args ...string) {
	t.Helper()
	if out, err := run(dir, args...); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

var link = regexp.MustCompile(`\]\(([^)\s]+)\)`)

// TestLinks checks every link of docs/*.md, the README and the modules'
// READMEs. A relative link names a file that exists, and its anchor (#...)
// a heading of that file. An external link is checked for its form only
// (an http, https or mailto URL with a host or address, no spaces): the
// test never dials out.
func TestLinks(t *testing.T) {
	pages, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	modules, err := filepath.Glob(filepath.Join(root, "*", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	pages = append(append(pages, filepath.Join(root, "README.md")), modules...)
	n, external := 0, 0
	for _, p := range pages {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		text := fence.ReplaceAllString(string(b), "")
		for _, m := range link.FindAllStringSubmatch(text, -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				external++
				if err := checkURL(target); err != nil {
					t.Errorf("%s: link %s: %v", rel(p), target, err)
				}
				continue
			}
			n++
			file, anchor, _ := strings.Cut(target, "#")
			path := p
			if file != "" {
				path = filepath.Join(filepath.Dir(p), filepath.FromSlash(file))
			}
			if _, err := os.Stat(path); err != nil {
				t.Errorf("%s: link %s: %v", rel(p), target, err)
				continue
			}
			if anchor != "" && strings.HasSuffix(path, ".md") && !hasAnchor(t, path, anchor) {
				t.Errorf("%s: link %s: no heading with that anchor in %s", rel(p), target, rel(path))
			}
		}
	}
	if n < 20 || external < 3 {
		t.Errorf("only %d relative and %d external links checked", n, external)
	}
	t.Logf("%d pages: %d relative links, %d external links (form only)", len(pages), n, external)
}

// checkURL checks an external link's form without fetching it.
func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	switch u.Scheme {
	case "http", "https":
		if u.Host == "" || strings.ContainsAny(u.Host, " _") || !strings.Contains(u.Host, ".") {
			return fmt.Errorf("bad host %q", u.Host)
		}
	case "mailto":
		if !strings.Contains(u.Opaque, "@") {
			return fmt.Errorf("bad address %q", u.Opaque)
		}
	default:
		return fmt.Errorf("scheme %q is not http, https or mailto", u.Scheme)
	}
	return nil
}

func TestCheckURL(t *testing.T) {
	for s, ok := range map[string]bool{
		"https://go.dev/ref/mod#versions": true,
		"http://example.com":              true,
		"mailto:dev@example.com":          true,
		"https:///path":                   false,
		"ftp://example.com/x":             false,
		"https://local_host/x":            false,
		"https://localhost/x":             false,
		"mailto:nobody":                   false,
	} {
		if err := checkURL(s); (err == nil) != ok {
			t.Errorf("checkURL(%q) = %v, want ok %v", s, err, ok)
		}
	}
}

func rel(p string) string {
	r, err := filepath.Rel(root, p)
	if err != nil {
		return p
	}
	return filepath.ToSlash(r)
}

// hasAnchor reports whether the Markdown file has a heading whose GitHub
// anchor is anchor.
func hasAnchor(t *testing.T, path, anchor string) bool {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(fence.ReplaceAllString(string(b), ""), "\n") {
		if !strings.HasPrefix(l, "#") {
			continue
		}
		if slug(strings.TrimLeft(l, "# ")) == anchor {
			return true
		}
	}
	return false
}

// slug is GitHub's heading anchor: lower case, punctuation dropped but
// hyphens and underscores, spaces as hyphens.
func slug(h string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(h)) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func TestSlug(t *testing.T) {
	for h, want := range map[string]string{
		"Measurements and the recommended default": "measurements-and-the-recommended-default",
		"Errors, call info and extension points":   "errors-call-info-and-extension-points",
		"`skiff new`: scaffolds":                   "skiff-new-scaffolds",
	} {
		if got := slug(h); got != want {
			t.Errorf("slug(%q) = %q, want %q", h, got, want)
		}
	}
}

// importBlock is a fragment's import declaration.
var importBlock = regexp.MustCompile(`(?ms)^import \((.*?)^\)\n?`)

// readmeSnippets returns the README's Go code blocks made programs: the
// README shows fragments (statements, after an import block of their own
// at most) using what skiff generates for examples/echo/echo.thrift as
// package echo and the greeter example's package as pb, with ctx and a
// handler in scope.
func readmeSnippets(t *testing.T) []snippet {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var out []snippet
	for _, m := range fence.FindAllSubmatchIndex(b, -1) {
		code, offset, err := wrapFragment(string(b[m[2]:m[3]]))
		if err != nil {
			t.Fatalf("README.md:%d: %v", 1+strings.Count(string(b[:m[0]]), "\n"), err)
		}
		out = append(out, snippet{page: "README.md", line: 1 + strings.Count(string(b[:m[0]]), "\n"), code: code, offset: offset})
	}
	if len(out) == 0 {
		t.Fatal("no Go code block in README.md")
	}
	return out
}

// wrapFragment returns a program whose main runs the fragment's
// statements, and how many lines precede the first of them. Every
// variable the fragment declares at its top level is then used, so an
// unused result does not fail the build.
func wrapFragment(frag string) (string, int, error) {
	imports := []string{`"context"`, `"time"`, `"github.com/skiffrpc/skiff/core/client"`, `"github.com/skiffrpc/skiff/core/server"`,
		`"example.com/echosvc/gen/echo"`, `pb "github.com/skiffrpc/skiff/examples/greeter/greeterpb"`}
	body := frag
	if m := importBlock.FindStringSubmatchIndex(frag); m != nil {
		for _, l := range strings.Split(frag[m[2]:m[3]], "\n") {
			if l = strings.TrimSpace(l); l != "" && !strings.Contains(strings.Join(imports, "\n"), l) {
				imports = append(imports, l)
			}
		}
		body = frag[:m[0]] + strings.Repeat("\n", strings.Count(frag[m[0]:m[1]], "\n")) + frag[m[1]:]
	}
	prelude := "package main\n\nimport (\n\t" + strings.Join(imports, "\n\t") + "\n)\n\n" +
		"var _, _, _, _, _, _ = context.Background, time.Second, client.New, server.New, echo.EchoServiceServiceInfo, pb.GreeterServiceInfo\n\n" +
		"// handler stands for the README's implementation of the service.\ntype handler struct{ echo.EchoService }\n\n" +
		"func main() {\n\tctx := context.Background()\n\t_ = ctx\n"
	src := prelude + body + "}\n"
	f, err := parser.ParseFile(token.NewFileSet(), "main.go", src, 0)
	if err != nil {
		return "", 0, err
	}
	var used []string
	for _, d := range f.Decls {
		fn, ok := d.(*ast.FuncDecl)
		if !ok || fn.Name.Name != "main" {
			continue
		}
		for _, st := range fn.Body.List {
			if as, ok := st.(*ast.AssignStmt); ok && as.Tok == token.DEFINE {
				for _, e := range as.Lhs {
					if id, ok := e.(*ast.Ident); ok && id.Name != "_" && id.Name != "ctx" {
						used = append(used, "\t_ = "+id.Name+"\n")
					}
				}
			}
		}
	}
	return prelude + body + strings.Join(used, "") + "}\n", strings.Count(prelude, "\n"), nil
}
