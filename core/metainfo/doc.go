// Package metainfo carries request metadata across service hops in the
// context, in Kitex's three kinds:
//
//   - transient values travel one hop: a client sends them, the next
//     server reads them, and they go no further;
//   - persistent values travel every hop down the call chain;
//   - backward values travel from a server back to its caller.
//
// On protocols with string headers (TTHeader, gRPC metadata) they are
// carried under the prefixes RPC_TRANSIT_, RPC_PERSIST_ and RPC_BACKWARD_,
// so they interoperate with Kitex's github.com/bytedance/gopkg metainfo.
// Transports use [AppendWire] and [FromWire]; applications use the
// With/Get functions. Values are immutable once in a context: every With
// returns a new context.
package metainfo
