module github.com/skiffrpc/skiff/examples

go 1.26.0

require (
	github.com/apache/thrift v0.22.0
	github.com/skiffrpc/skiff/codec-thrift v0.0.0
	github.com/skiffrpc/skiff/core v0.0.0
	google.golang.org/protobuf v1.36.12
)

require (
	golang.org/x/net v0.62.0 // indirect
	golang.org/x/text v0.43.0 // indirect
)

require (
	github.com/bytedance/gopkg v0.1.1 // indirect
	github.com/cloudwego/gopkg v0.1.4 // indirect
	github.com/cloudwego/netpoll v0.7.2 // indirect
	github.com/skiffrpc/skiff/codec-grpc v0.0.0
	github.com/skiffrpc/skiff/codec-protobuf v0.0.0
	github.com/skiffrpc/skiff/transport-http2 v0.0.0
	github.com/skiffrpc/skiff/transport-ttheader v0.0.0
	go.uber.org/goleak v1.3.0 // indirect
)

replace (
	github.com/skiffrpc/skiff/codec-thrift => ../codec-thrift
	github.com/skiffrpc/skiff/core => ../core
)

replace github.com/skiffrpc/skiff/codec-protobuf => ../codec-protobuf

replace github.com/skiffrpc/skiff/transport-http2 => ../transport-http2

replace github.com/skiffrpc/skiff/codec-grpc => ../codec-grpc

replace github.com/skiffrpc/skiff/transport-ttheader => ../transport-ttheader
