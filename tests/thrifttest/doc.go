// Package thrifttest holds Skiff's Thrift compatibility tests against Apache
// Thrift's ThriftTest IDL (a copy in idl/): byte-for-byte wire
// compatibility of every type, and a skiff-generated service and client
// talking to Apache Thrift's generated client and server. apache/ is Apache
// Thrift's generated code and gen/ skiff's (gen/echo is skiff's code for
// examples/echo/echo.thrift, checked against the hand-written example);
// gen.sh regenerates both.
package thrifttest
