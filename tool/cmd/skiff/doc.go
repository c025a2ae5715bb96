// Command skiff generates Skiff Go code from Thrift (.thrift) and Protocol
// Buffers (.proto) IDL files, and scaffolds new service modules.
//
//	skiff [-out dir] [-module path] [-I dir]... file.thrift|file.proto...
//	skiff new [-out dir] [-module path] [-I dir]... [-skiff-replace dir] file
//
// For .proto files skiff uses package
// github.com/skiffrpc/skiff/tool/protogen; for .thrift files package
// github.com/skiffrpc/skiff/tool/thriftgen. skiff new writes a module that
// builds and answers calls as is: go.mod, main.go, handler.go, client/,
// README.md, build.sh, run.sh and the generated code under gen/; files other
// than gen/ that already exist are left alone. -skiff-replace points the
// go.mod at a Skiff checkout (replace lines) for unreleased use.
//
// All output is generated in memory first and written only when every file
// generated; files whose content is unchanged are not rewritten, so running
// skiff twice is a no-op.
package main
