module github.com/skiffrpc/skiff/retry

go 1.26.0

require github.com/skiffrpc/skiff/core v0.2.0

require (
	github.com/bytedance/gopkg v0.1.1 // indirect
	github.com/cloudwego/gopkg v0.1.4 // indirect
	github.com/cloudwego/netpoll v0.7.2 // indirect
)

replace github.com/skiffrpc/skiff/core => ../core
