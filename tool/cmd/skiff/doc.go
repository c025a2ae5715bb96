// Command skiff generates Skiff Go code from Thrift (.thrift) and Protocol
// Buffers (.proto) IDL files, and scaffolds new service modules.
//
//	skiff [-out dir] [-module path] [-I dir]... file.thrift|file.proto...
//	skiff new [-out dir] [-module path] [-I dir]... [-skiff-replace dir] file
//
//	skiff version
//	skiff help
//
// For .proto files skiff uses package
// github.com/skiffrpc/skiff/tool/protogen; for .thrift files package
// github.com/skiffrpc/skiff/tool/thriftgen. -M file.proto=importpath
// overrides a .proto file's go_package, as protoc's M option does.
//
// skiff new writes a module for the last service of the IDL that builds and
// answers calls as is, in one layout for Thrift and protobuf: go.mod,
// handler.go (stubs returning empty results), cmd/server, cmd/client (calls
// each method once), README.md (with the command that regenerates gen/),
// build.sh (into output/bin), run.sh, the IDL under idl/ and the generated
// code under gen/. Run again, it refreshes gen/ and leaves every other file
// alone, naming those that differ from what it would write now (for go.mod,
// with the go mod edit commands that apply its requirements).
// The go.mod requires the Skiff modules at this skiff's own version (when it
// was installed with go install .../skiff@version), or at -skiff-version;
// -skiff-replace points it at a Skiff checkout (replace lines) instead.
//
// All output is generated in memory first and written only when every file
// generated; files whose content is unchanged are not rewritten, so running
// skiff twice is a no-op.
package main
