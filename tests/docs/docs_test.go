package docs

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
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
	page string
	line int
	code string
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
			out = append(out, snippet{page: filepath.Base(p), line: 1 + strings.Count(string(b[:m[0]]), "\n"), code: string(b[m[2]:m[3]])})
		}
	}
	return out
}

// TestSnippetsCompile builds every Go code block of docs/*.md as a program
// of its own in the module example.com/echosvc, the module the getting
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

	where := map[string]snippet{}
	for i, s := range sn {
		name := fmt.Sprintf("s%02d_%s", i, strings.TrimSuffix(strings.ReplaceAll(s.page, "-", "_"), ".md"))
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
			return fmt.Sprintf("docs/%s:%d", s.page, s.line+n)
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

// TestLinks checks every relative link of docs/*.md and README.md: the
// file it names exists, and an anchor (#...) names a heading of that file.
func TestLinks(t *testing.T) {
	pages, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	pages = append(pages, filepath.Join(root, "README.md"))
	n := 0
	for _, p := range pages {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		text := fence.ReplaceAllString(string(b), "")
		for _, m := range link.FindAllStringSubmatch(text, -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
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
	if n < 20 {
		t.Errorf("only %d relative links checked", n)
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
