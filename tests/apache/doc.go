// Package apache holds Skiff's interop tests against Apache Thrift's Go
// library (github.com/apache/thrift v0.22): Apache clients calling a Skiff
// server, a Skiff client calling an Apache server, and one Skiff port serving
// Framed and Buffered Apache clients at once. The tests run over loopback on
// the real engine.
//
// gen-go/echo is generated from echo.thrift by Debian's thrift-compiler 0.17.0;
// run gen.sh (or go generate) after changing the IDL.
package apache

//go:generate ./gen.sh
