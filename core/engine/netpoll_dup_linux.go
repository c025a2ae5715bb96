//go:build linux && (amd64 || arm64 || loong64)

package engine

import "syscall"

// dupOnto makes descriptor to a close-on-exec copy of from, closing what
// to was (the file it referred to is released if nothing else holds it).
func dupOnto(from, to int) error {
	return syscall.Dup3(from, to, syscall.O_CLOEXEC)
}
