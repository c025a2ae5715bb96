// The Kitex capture IDL (shared/reference/captures/kitex-v0.15.2/echo.thrift)
// plus one oneway method. The Go in this package is written by hand the way
// Skiff's generator will write it.
namespace go echo

struct EchoRequest {
    1: required string message
    2: optional i64 seq
    3: optional map<string, string> extra
    4: optional binary blob
}

struct EchoResponse {
    1: required string message
    2: optional i64 seq
    3: optional map<string, string> extra
    4: optional binary blob
}

exception EchoError {
    1: i32 code
    2: string reason
}

service EchoService {
    // Echo returns the request fields unchanged.
    EchoResponse Echo(1: EchoRequest req)
    // Fail always throws EchoError{code: code, reason: "requested failure"}.
    EchoResponse Fail(1: i32 code) throws (1: EchoError err)
    // Notify is fire and forget.
    oneway void Notify(1: string message)
}
