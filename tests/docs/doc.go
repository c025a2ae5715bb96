// Package docs checks the repository's documentation: every Go code block
// of docs/*.md, and the README's fragments, compiles (TestSnippetsCompile);
// every relative link of docs/, the README and the modules' READMEs points
// at a file and heading that exist, and every external link is well formed
// (TestLinks; nothing is fetched).
package docs
