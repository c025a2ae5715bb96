// Streaming IDL of the ttstream bidi benchmark (a copy of
// tests/ttstream/stream.thrift): Kitex streaming annotations.

namespace go streamecho

struct EchoRequest {
    1: required string message
    2: optional i64 seq
}

struct EchoResponse {
    1: required string message
    2: optional i64 seq
}

service StreamService {
    EchoResponse Bidi(1: EchoRequest req) (streaming.mode="bidirectional")
    EchoResponse Collect(1: EchoRequest req) (streaming.mode="client")
    EchoResponse Spread(1: EchoRequest req) (streaming.mode="server")
}
