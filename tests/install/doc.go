// Package install is the new user's path through the module proxy
// protocol (issue 19, Show 1): TestInstall publishes this checkout's
// released modules with scripts/localproxy and, from empty directories
// outside the workspace with an empty module cache, go gets single modules,
// builds and runs an echo over each, checks the dependency closure, go
// installs skiff, and builds a third-party codec module against core alone.
// TestVersionsAgree checks that every place naming the release version
// names the same one.
package install
