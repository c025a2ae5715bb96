// Apache Thrift interop IDL. The Go code under gen-go/ is generated from this
// file by gen.sh (Debian thrift-compiler 0.17.0); do not edit it by hand.

namespace go echo

struct EchoRequest {
  1: required string message
  2: optional i64 seq
  3: optional map<string,string> extra
  4: optional binary blob
}

struct EchoResponse {
  1: required string message
  2: optional i64 seq
  3: optional map<string,string> extra
  4: optional binary blob
}

exception EchoError {
  1: i32 code
  2: string reason
}

service EchoService {
  EchoResponse Echo(1: EchoRequest req)
  EchoResponse Fail(1: i32 code) throws (1: EchoError err)
  oneway void Notify(1: string message)
  EchoResponse Missing(1: EchoRequest req)
}
