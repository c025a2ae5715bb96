// Command localproxy writes a Go module proxy tree (GOPROXY=file://DIR)
// holding every module of this repository's go.work, but the tests and
// benchmark modules, at one commit (default HEAD), as a pseudo-version
// v0.0.0-<commit time>-<12 hex digits>. The requires between Skiff modules
// name that version and the replace directives to sibling directories are
// dropped, so the tree is what a user would get from a published commit:
//
//	bash scripts/localproxy.sh /tmp/skiffproxy
//	GOPROXY=file:///tmp/skiffproxy,https://proxy.golang.org GONOSUMDB=github.com/skiffrpc \
//	  go install github.com/skiffrpc/skiff/tool/cmd/skiff@<printed version>
//
// It prints the version. Files come from git (the commit's tree, not the
// working directory), laid out per the module proxy protocol
// (<module>/@v/list, .info, .mod, .zip, and <module>/@latest) and the
// module zip rules (no nested modules, no vendor directories).
package main

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// modulePrefix is the path every Skiff module starts with.
const modulePrefix = "github.com/skiffrpc/skiff/"

// skipped are go.work modules that are not published.
var skipped = map[string]bool{"tests": true, "benchmark": true}

func main() {
	out := flag.String("out", "", "directory to write the proxy tree to (required)")
	rev := flag.String("rev", "HEAD", "git revision to publish")
	repo := flag.String("repo", ".", "repository root")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "usage: localproxy -out dir [-rev HEAD] [-repo .]")
		os.Exit(2)
	}
	v, err := build(*repo, *rev, *out)
	if err != nil {
		fmt.Fprintln(os.Stderr, "localproxy:", err)
		os.Exit(1)
	}
	fmt.Println(v)
}

func git(repo string, args ...string) ([]byte, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = repo
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("git %s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	return b, nil
}

// build writes the tree and returns the version.
func build(repo, rev, out string) (string, error) {
	line, err := git(repo, "log", "-1", "--format=%H %ct", rev)
	if err != nil {
		return "", err
	}
	f := strings.Fields(string(line))
	if len(f) != 2 {
		return "", fmt.Errorf("git log: %q", line)
	}
	hash := f[0]
	secs, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return "", err
	}
	t := time.Unix(secs, 0).UTC()
	version := "v0.0.0-" + t.Format("20060102150405") + "-" + hash[:12]

	work, err := git(repo, "show", rev+":go.work")
	if err != nil {
		return "", err
	}
	var dirs []string
	for _, m := range regexp.MustCompile(`(?m)^\s*\./([\w.-]+)\s*$`).FindAllStringSubmatch(string(work), -1) {
		if !skipped[m[1]] {
			dirs = append(dirs, m[1])
		}
	}
	if len(dirs) == 0 {
		return "", fmt.Errorf("no modules in go.work")
	}
	// The commit's tree, read once.
	tb, err := git(repo, "archive", "--format=tar", rev)
	if err != nil {
		return "", err
	}
	tree := map[string][]byte{}
	var files []string
	tr := tar.NewReader(bytes.NewReader(tb))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", err
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			return "", err
		}
		tree[h.Name] = b
		files = append(files, h.Name)
	}
	info, err := json.Marshal(struct {
		Version string
		Time    time.Time
	}{version, t})
	if err != nil {
		return "", err
	}
	for _, dir := range dirs {
		mod := modulePrefix + dir
		gomod, ok := tree[dir+"/go.mod"]
		if !ok {
			return "", fmt.Errorf("%s has no go.mod", dir)
		}
		gomod = rewriteGoMod(gomod, version)
		zb, err := moduleZip(tree, dir, mod, version, files, gomod)
		if err != nil {
			return "", fmt.Errorf("%s: %w", dir, err)
		}
		base := filepath.Join(out, filepath.FromSlash(mod), "@v")
		if err := os.MkdirAll(base, 0o755); err != nil {
			return "", err
		}
		for name, content := range map[string][]byte{
			version + ".info": info, version + ".mod": gomod, version + ".zip": zb, "list": []byte(version + "\n"),
		} {
			if err := os.WriteFile(filepath.Join(base, name), content, 0o644); err != nil {
				return "", err
			}
		}
		if err := os.WriteFile(filepath.Join(out, filepath.FromSlash(mod), "@latest"), info, 0o644); err != nil {
			return "", err
		}
	}
	return version, nil
}

// rewriteGoMod makes every Skiff module requirement name version and drops
// replace directives that point at a local directory.
func rewriteGoMod(gomod []byte, version string) []byte {
	var b strings.Builder
	inReplace := false
	for _, l := range strings.SplitAfter(string(gomod), "\n") {
		t := strings.TrimSpace(l)
		switch {
		case t == "replace (":
			inReplace = true
		case inReplace && t == ")":
			inReplace = false
		}
		if local := regexp.MustCompile(`=>\s*\.\.?/`).MatchString(t); local && (inReplace || strings.HasPrefix(t, "replace ")) {
			continue
		}
		l = regexp.MustCompile(`(`+regexp.QuoteMeta(modulePrefix)+`[\w.-]+) v0\.0\.0(\s|$)`).ReplaceAllString(l, "$1 "+version+"$2")
		b.WriteString(l)
	}
	return []byte(b.String())
}

// moduleZip returns the module zip of dir: its files in tree, without the
// subtrees of nested modules and vendor directories, go.mod replaced by
// gomod.
func moduleZip(tree map[string][]byte, dir, mod, version string, files []string, gomod []byte) ([]byte, error) {
	nested := map[string]bool{}
	for _, f := range files {
		if strings.HasPrefix(f, dir+"/") && path.Base(f) == "go.mod" && f != dir+"/go.mod" {
			nested[path.Dir(f)] = true
		}
	}
	var mine []string
outer:
	for _, f := range files {
		if !strings.HasPrefix(f, dir+"/") {
			continue
		}
		for d := path.Dir(f); d != dir && d != "."; d = path.Dir(d) {
			if nested[d] || path.Base(d) == "vendor" {
				continue outer
			}
		}
		mine = append(mine, f)
	}
	sort.Strings(mine)
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range mine {
		rel := strings.TrimPrefix(f, dir+"/")
		content := tree[f]
		if rel == "go.mod" {
			content = gomod
		}
		w, err := zw.Create(mod + "@" + version + "/" + rel)
		if err != nil {
			return nil, err
		}
		if _, err := w.Write(content); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
