//go:build !((linux || darwin || freebsd) && (amd64 || arm64 || loong64))

package engine

// Default is the engine clients and servers use unless told otherwise:
// Netpoll where it runs, Std here.
var Default = Std
