// Package codecbench compares the Thrift struct codecs of three code
// generators on one realistic nested struct (idl/bench.thrift: strings,
// numbers, lists and maps, a set, binary and nested structs): skiff's
// generated fast codec (skiff/), Kitex v0.15.2's generated fast codec
// (kitex_gen/) and Apache Thrift's generated TStruct code (apache/, Debian
// thrift-compiler 0.17 with the v0.22 Go library). gen.sh regenerates all
// three; the benchmarks are in codec_bench_test.go:
//
//	GOWORK=off go test -run '^$' -bench . -benchmem ./codecbench/
package codecbench
