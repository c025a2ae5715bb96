//go:build (darwin || freebsd) && (amd64 || arm64)

package engine

import "syscall"

// dupOnto makes descriptor to a close-on-exec copy of from, closing what
// to was (the file it referred to is released if nothing else holds it).
func dupOnto(from, to int) error {
	if err := syscall.Dup2(from, to); err != nil {
		return err
	}
	syscall.CloseOnExec(to)
	return nil
}
