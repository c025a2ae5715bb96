// Package grpcinterop holds the gRPC interoperability tests between Skiff
// (transport-http2 + codec-grpc) and real peers on 127.0.0.1:
//
//   - grpc-go v1.85.0's interop client (google.golang.org/grpc/interop/client,
//     built by TestMain) runs the 14 core cases against a Skiff server
//     implementing grpc.testing.TestService, in plaintext and over TLS with a
//     self-signed certificate made by the test (TestInteropClientSkiff;
//     TestInteropClientGRPCGo is the same against grpc-go's own server, the
//     control);
//   - a Skiff client runs the same 14 cases ([Cases]) against grpc-go's
//     interop server (interop.NewTestServer on a grpc.Server) and against
//     Skiff's, in plaintext and over TLS (TestSkiffClientGRPCGo,
//     TestSkiffClientSkiff);
//   - unknown services and methods are UNIMPLEMENTED both ways
//     (TestUnknownRoute*);
//   - Kitex v0.15.2 gRPC clients and servers call and serve Skiff, unary,
//     bidirectional and server streaming (TestKitexClientSkiffServer,
//     TestSkiffClientKitexServer; TestKitexControl is Kitex to Kitex);
//   - grpc-go's health and server reflection clients (what grpcurl speaks)
//     against codec-grpc's health and reflection services;
//   - flow control and concurrency at the service level: a 64 MiB server
//     stream to a slow reader in bounded memory (Skiff and grpc-go on either
//     side), 100 concurrent streams on one connection, cancellation that
//     ends the handlers and frees the streams' goroutines.
//
// The package itself is the Skiff side of grpc.testing.TestService, in the
// shape of generated code ([TestServiceInfo], [Client]), the interop server
// behaviour ([NewTestServer]) and the client cases ([Cases]), plus the
// StreamService of idl/stream.proto used with Kitex ([StreamServiceInfo]).
// streampb (protoc-gen-go) and kitex_gen (Kitex v0.15.2) are generated from
// idl/stream.proto by gen.sh.
package grpcinterop
