// Package reflection is gRPC server reflection
// (grpc.reflection.v1.ServerReflection and its v1alpha twin) for a Skiff
// server, so tools such as grpcurl can list its services and describe
// their methods and messages without the .proto files.
//
// Register [ServiceInfoV1] and [ServiceInfoV1Alpha] with a [Server] as the
// implementation. Descriptors come from a protoregistry.Files
// (protoregistry.GlobalFiles by default, where generated code registers
// its files), plus the descriptors of grpc.health.v1 and of reflection
// itself, which this module builds without registering them.
//
// The reflection messages are encoded by hand (protowire), so this package
// registers nothing in the protobuf registry and links beside grpc-go's
// own reflection package without a name conflict.
package reflection
