//go:build windows

package engine

// Default is the engine clients and servers use unless told otherwise:
// Netpoll where it runs, Std here.
var Default = Std
