// Package docs checks the repository's documentation: every Go code block
// of docs/*.md compiles (TestSnippetsCompile) and every relative link of
// docs/ and the README points at a file that exists (TestLinks).
package docs
