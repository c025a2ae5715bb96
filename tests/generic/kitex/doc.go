// Package kitexgeneric tests the generic module against Kitex v0.15.2 over
// TTHeader, with one IDL (../idl/all.thrift; Kitex code in kitex_gen, made
// by gen.sh):
//
//   - a Kitex JSON generic client (dynamicgo) calls a typed Skiff server;
//   - a Skiff JSON generic client calls a typed Kitex server;
//   - a Skiff binary generic proxy forwards between a Kitex client and a
//     Kitex server, byte for byte;
//   - BenchmarkJSONGeneric compares Skiff's JSON generic call with
//     Kitex's, in the same run.
package kitexgeneric
