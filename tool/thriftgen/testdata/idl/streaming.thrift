// Kitex's streaming annotations: one method of each mode, a unary one
// marked as such, and a plain method beside them.
namespace go streaming

struct Req {
    1: required string message
}

struct Res {
    1: required string message
}

service Streamer {
    Res Chat(1: Req req) (streaming.mode="bidirectional")
    Res Upload(1: Req req) (streaming.mode="client")
    Res Download(1: Req req) (streaming.mode="server")
    Res Ask(1: Req req) (streaming.mode="unary")
    Res Plain(1: Req req)
}
