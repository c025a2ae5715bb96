// Package thriftgen generates Go code from Thrift IDL files for Skiff: the
// IDL types with a fast codec (exact size first, then one append into the
// caller's buffer, and a decoder reading straight from a byte slice) that is
// wire compatible with Apache Thrift's Binary protocol, Apache Thrift
// TStruct methods, enums, constants, and per service a handler interface, a
// service descriptor, server registration and a typed client. It also
// scaffolds new service modules (see [Scaffold]).
//
// The IDL front end is github.com/cloudwego/thriftgo's parser.
package thriftgen
