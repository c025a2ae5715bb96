// Command localproxy writes a Go module proxy tree (GOPROXY=file://DIR)
// holding every released module of this repository's go.work (all but
// examples, tests and benchmark), laid out per the module proxy protocol
// (<module>/@v/list, .info, .mod, .zip, and <module>/@latest) and the
// module zip rules (no nested modules, no vendor directories). Files come
// from git (a commit's tree, never the working directory). The requires
// between Skiff modules name the published version and replace directives
// to sibling directories are dropped, so the tree is what a user gets from
// the module proxy:
//
//	bash scripts/localproxy.sh /tmp/skiffproxy
//	GOPROXY=file:///tmp/skiffproxy,https://proxy.golang.org GONOSUMDB=github.com/skiffrpc \
//	  go install github.com/skiffrpc/skiff/tool/cmd/skiff@<printed version>
//
// By default it publishes the release version core/doc.go names at -rev
// (the version scripts/release.sh bumps; -version overrides it). Each
// module comes from its release tag (<dir>/<version>, Go's multi-module
// form) when the tag exists, else from -rev: a preview of the unreleased
// version, which a clean clone without tags (CI) still installs and builds
// as users will once the tags are pushed. A preview never leaves this
// machine: the proxy tree is for tests and for scripts/release.sh's
// verification. With -pseudo it publishes -rev as a pseudo-version
// (v0.0.0-<commit time>-<12 hex digits>) instead, as a published commit
// between releases.
//
// It prints the version on stdout and, on stderr, where each module came
// from.
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
var skipped = map[string]bool{"tests": true, "benchmark": true, "examples": true}

func main() {
	out := flag.String("out", "", "directory to write the proxy tree to (required)")
	rev := flag.String("rev", "HEAD", "git revision to publish modules without a release tag from")
	repo := flag.String("repo", ".", "repository root")
	version := flag.String("version", "", "release version to publish (default: core.Version in core/doc.go at -rev)")
	pseudo := flag.Bool("pseudo", false, "publish -rev as a pseudo-version instead of the release version")
	flag.Parse()
	if *out == "" || flag.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "usage: localproxy -out dir [-rev HEAD] [-repo .] [-version vX.Y.Z | -pseudo]")
		os.Exit(2)
	}
	v, err := build(*repo, *rev, *out, *version, *pseudo, os.Stderr)
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

// commit is a commit's tree, read once.
type commit struct {
	hash  string
	time  time.Time
	tree  map[string][]byte
	files []string
}

// readCommit reads rev's hash, time and tree.
func readCommit(repo, rev string) (*commit, error) {
	line, err := git(repo, "log", "-1", "--format=%H %ct", rev)
	if err != nil {
		return nil, err
	}
	f := strings.Fields(string(line))
	if len(f) != 2 {
		return nil, fmt.Errorf("git log: %q", line)
	}
	secs, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return nil, err
	}
	c := &commit{hash: f[0], time: time.Unix(secs, 0).UTC(), tree: map[string][]byte{}}
	tb, err := git(repo, "archive", "--format=tar", c.hash)
	if err != nil {
		return nil, err
	}
	tr := tar.NewReader(bytes.NewReader(tb))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			return nil, err
		}
		c.tree[h.Name] = b
		c.files = append(c.files, h.Name)
	}
	return c, nil
}

// coreVersion is the constant core/doc.go declares.
var coreVersion = regexp.MustCompile(`(?m)^const Version = "(v[^"]+)"`)

// semver is the form of a release version this tool publishes.
var semver = regexp.MustCompile(`^v\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$`)

// build writes the tree and returns the version.
func build(repo, rev, out, version string, pseudo bool, log io.Writer) (string, error) {
	head, err := readCommit(repo, rev)
	if err != nil {
		return "", err
	}
	switch {
	case pseudo && version != "":
		return "", fmt.Errorf("-pseudo and -version exclude each other")
	case pseudo:
		version = "v0.0.0-" + head.time.Format("20060102150405") + "-" + head.hash[:12]
	case version == "":
		m := coreVersion.FindSubmatch(head.tree["core/doc.go"])
		if m == nil {
			return "", fmt.Errorf("core/doc.go at %s declares no Version", rev)
		}
		version = string(m[1])
	}
	if !pseudo && !semver.MatchString(version) {
		return "", fmt.Errorf("version %q is not a semantic version (vMAJOR.MINOR.PATCH)", version)
	}

	var dirs []string
	for _, m := range regexp.MustCompile(`(?m)^\s*\./([\w.-]+)\s*$`).FindAllStringSubmatch(string(head.tree["go.work"]), -1) {
		if !skipped[m[1]] {
			dirs = append(dirs, m[1])
		}
	}
	if len(dirs) == 0 {
		return "", fmt.Errorf("no modules in go.work at %s", rev)
	}
	commits := map[string]*commit{head.hash: head}
	for _, dir := range dirs {
		mod := modulePrefix + dir
		src := head
		from := "preview of " + head.hash[:12] + " (no tag " + dir + "/" + version + ")"
		if pseudo {
			from = "commit " + head.hash[:12]
		} else if h, err := git(repo, "rev-parse", "-q", "--verify", "refs/tags/"+dir+"/"+version+"^{commit}"); err == nil {
			hash := strings.TrimSpace(string(h))
			if src = commits[hash]; src == nil {
				if src, err = readCommit(repo, hash); err != nil {
					return "", err
				}
				commits[hash] = src
			}
			from = "tag " + dir + "/" + version + " (" + hash[:12] + ")"
		}
		gomod, ok := src.tree[dir+"/go.mod"]
		if !ok {
			return "", fmt.Errorf("%s has no go.mod at %s", dir, from)
		}
		gomod = rewriteGoMod(gomod, version)
		zb, err := moduleZip(src.tree, dir, mod, version, src.files, gomod)
		if err != nil {
			return "", fmt.Errorf("%s: %w", dir, err)
		}
		info, err := json.Marshal(struct {
			Version string
			Time    time.Time
		}{version, src.time})
		if err != nil {
			return "", err
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
		fmt.Fprintf(log, "localproxy: %s@%s: %s\n", mod, version, from)
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
		l = regexp.MustCompile(`(`+regexp.QuoteMeta(modulePrefix)+`[\w.-]+) v\S+(\s|$)`).ReplaceAllString(l, "$1 "+version+"$2")
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
