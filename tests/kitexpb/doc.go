// Package kitexpb holds the Kitex Protobuf interoperability tests between
// Skiff (codec-protobuf, with transport-ttheader) and real Kitex v0.15.2
// peers on 127.0.0.1: a Kitex client calling a Skiff server and a Skiff
// client calling a Kitex server, with nested messages, repeated and map
// fields, an empty message, error replies, an unknown method and TTHeader
// metainfo; bad input against a Skiff server; and echo benchmarks.
//
// interop.proto is the IDL. interoppb holds protoc-gen-go's messages for it
// and the Skiff service code (hand-written in generated style);
// kitex_gen/interoppb is Kitex's code for the same file. gen.sh regenerates
// both generated parts.
package kitexpb
