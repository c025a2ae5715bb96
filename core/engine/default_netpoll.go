//go:build (linux || darwin || freebsd) && (amd64 || arm64 || loong64)

package engine

// Default is the engine clients and servers use unless told otherwise:
// Netpoll here, Std on platforms Netpoll does not support.
var Default = Netpoll
