module github.com/skiffrpc/skiff/generic

go 1.26.0

require (
	github.com/bufbuild/protocompile v0.14.1
	github.com/cloudwego/thriftgo v0.4.3
	github.com/skiffrpc/skiff/core v0.2.0
	google.golang.org/protobuf v1.36.12
)

require (
	github.com/bytedance/gopkg v0.1.1 // indirect
	github.com/cloudwego/gopkg v0.1.4 // indirect
	github.com/cloudwego/netpoll v0.7.2 // indirect
	golang.org/x/sync v0.8.0 // indirect
)

replace github.com/skiffrpc/skiff/core => ../core
