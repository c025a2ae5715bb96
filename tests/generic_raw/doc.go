// Package genericraw tests core's generic extension points with the real
// codecs, over the real engines on 127.0.0.1:
//
//   - server.WithUnknownMethodHandler: a server with no service for a
//     method answers it from raw payloads, over Thrift Framed, Buffered
//     and TTHeader, Kitex Protobuf and gRPC, through the server's
//     middleware and tracers; its errors reach typed clients as remote
//     errors with their codes.
//   - codec.Raw on the client: a client calls methods named at call time
//     with payloads it encoded itself (Thrift args structs, protobuf
//     messages) and gets the reply payloads undecoded, from typed Skiff
//     servers.
//   - Both together: a binary proxy forwards typed calls to a backend
//     unchanged, declared exceptions and errors included.
//   - server.WithConnHook on a server speaking Thrift and gRPC.
package genericraw
