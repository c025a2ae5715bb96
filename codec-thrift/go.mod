module github.com/skiffrpc/skiff/codec-thrift

go 1.26.0

require (
	github.com/apache/thrift v0.22.0
	github.com/skiffrpc/skiff/core v0.2.0
)

replace github.com/skiffrpc/skiff/core => ../core
