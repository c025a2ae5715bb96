module github.com/skiffrpc/skiff/codec-grpc

go 1.26.0

require (
	github.com/skiffrpc/skiff/core v0.2.0
	google.golang.org/protobuf v1.36.12
)

replace github.com/skiffrpc/skiff/core => ../core
