// Package echo is the Go for echo.thrift (beside this file): the Kitex
// capture IDL plus a oneway method. It is written by hand exactly the way
// Skiff's code generator will write it, and serves as the model for the
// generator and as the service of the examples and interop tests.
//
// Every struct implements both thriftcodec.FastCodec (the fast path Skiff
// uses) and Apache Thrift's thrift.TStruct (so Apache Thrift's runtime, and
// Skiff's slow path, can use it too); both encode byte for byte as Apache
// Thrift's generated code does: fields by id, optional fields omitted when
// nil. Optional fields are pointers, nil maps and nil slices, as in Apache
// Thrift's Go.
//
// [ServiceInfo] describes the service to a Skiff server; [Client] is the
// typed client over any [Invoker].
package echo
