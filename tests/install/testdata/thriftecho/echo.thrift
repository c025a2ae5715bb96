// The echo service of the install test: Thrift over Skiff with codec-thrift alone.
namespace go echo

struct EchoRequest {
    1: string message
}

struct EchoResponse {
    1: string message
}

service EchoService {
    EchoResponse Echo(1: EchoRequest req)
}
