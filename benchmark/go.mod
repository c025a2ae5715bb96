module github.com/skiffrpc/skiff/benchmark

go 1.26.7

require (
	github.com/cloudwego/gopkg v0.1.6
	github.com/cloudwego/kitex v0.15.2
	github.com/cloudwego/prutal v0.1.3
	github.com/kitex-contrib/obs-opentelemetry v0.2.9
	github.com/skiffrpc/skiff/core v0.2.0
	github.com/skiffrpc/skiff/examples v0.2.0
	github.com/skiffrpc/skiff/limiter v0.2.0
	go.opentelemetry.io/otel v1.47.0
	go.opentelemetry.io/otel/sdk v1.47.0
	go.opentelemetry.io/otel/sdk/metric v1.47.0
	gonum.org/v1/plot v0.17.0
	google.golang.org/grpc v1.85.0
	google.golang.org/protobuf v1.36.12
)

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/go-logr/logr v1.4.4 // indirect
	github.com/go-logr/stdr v1.2.2 // indirect
	github.com/google/uuid v1.6.0 // indirect
	go.opentelemetry.io/auto/sdk v1.2.1 // indirect
	go.opentelemetry.io/otel/log v1.47.0 // indirect
	go.opentelemetry.io/otel/metric v1.47.0 // indirect
	go.opentelemetry.io/otel/trace v1.47.0 // indirect
	go.uber.org/goleak v1.3.0 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
)

require (
	codeberg.org/go-fonts/liberation v0.5.0 // indirect
	codeberg.org/go-latex/latex v0.2.0 // indirect
	codeberg.org/go-pdf/fpdf v0.11.1 // indirect
	git.sr.ht/~sbinet/gg v0.7.0 // indirect
	github.com/ajstarks/svgo v0.0.0-20211024235047-1546f124cd8b // indirect
	github.com/apache/thrift v0.22.0
	github.com/bytedance/gopkg v0.1.3 // indirect
	github.com/bytedance/sonic v1.15.5 // indirect
	github.com/bytedance/sonic/loader v0.5.3 // indirect
	github.com/cloudwego/base64x v0.1.6 // indirect
	github.com/cloudwego/configmanager v0.2.3 // indirect
	github.com/cloudwego/dynamicgo v0.8.0 // indirect
	github.com/cloudwego/fastpb v0.0.5 // indirect
	github.com/cloudwego/frugal v0.3.0 // indirect
	github.com/cloudwego/localsession v0.1.2 // indirect
	github.com/cloudwego/netpoll v0.7.2 // indirect
	github.com/cloudwego/runtimex v0.1.1 // indirect
	github.com/cloudwego/thriftgo v0.4.3 // indirect
	github.com/dlclark/regexp2 v1.11.0 // indirect
	github.com/fatih/structtag v1.2.0 // indirect
	github.com/golang/freetype v0.0.0-20170609003504-e2365dfdc4a0 // indirect
	github.com/golang/protobuf v1.5.4 // indirect
	github.com/google/pprof v0.0.0-20240727154555-813a5fbdbec8 // indirect
	github.com/iancoleman/strcase v0.2.0 // indirect
	github.com/jhump/protoreflect v1.8.2 // indirect
	github.com/json-iterator/go v1.1.12 // indirect
	github.com/klauspost/cpuid/v2 v2.2.9 // indirect
	github.com/modern-go/concurrent v0.0.0-20180228061459-e0a39a4cb421 // indirect
	github.com/modern-go/reflect2 v1.0.2 // indirect
	github.com/skiffrpc/skiff/breaker v0.2.0
	github.com/skiffrpc/skiff/codec-grpc v0.2.0
	github.com/skiffrpc/skiff/codec-protobuf v0.2.0
	github.com/skiffrpc/skiff/codec-thrift v0.2.0
	github.com/skiffrpc/skiff/loadbalance v0.2.0
	github.com/skiffrpc/skiff/otel v0.2.0
	github.com/skiffrpc/skiff/retry v0.2.0
	github.com/skiffrpc/skiff/transport-http2 v0.2.0
	github.com/skiffrpc/skiff/transport-ttheader v0.2.0
	github.com/sony/gobreaker/v2 v2.4.0 // indirect
	github.com/stretchr/testify v1.12.1 // indirect
	github.com/tidwall/gjson v1.17.3 // indirect
	github.com/tidwall/match v1.1.1 // indirect
	github.com/tidwall/pretty v1.2.0 // indirect
	github.com/twitchyliquid64/golang-asm v0.15.1 // indirect
	golang.org/x/arch v0.14.0 // indirect
	golang.org/x/image v0.30.0 // indirect
	golang.org/x/net v0.62.0 // indirect
	golang.org/x/sync v0.24.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
	golang.org/x/text v0.43.0 // indirect
	golang.org/x/tools v0.51.0 // indirect
	google.golang.org/genproto v0.0.0-20261026165753-2ffab32bce7e // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20261110000943-09e21b237f2c // indirect
	google.golang.org/grpc/cmd/protoc-gen-go-grpc v1.5.1 // indirect
	gopkg.in/yaml.v3 v3.0.1 // indirect
)

replace (
	github.com/skiffrpc/skiff/codec-thrift => ../codec-thrift
	github.com/skiffrpc/skiff/core => ../core
	github.com/skiffrpc/skiff/examples => ../examples
)

tool (
	github.com/cloudwego/kitex/tool/cmd/kitex
	google.golang.org/grpc/cmd/protoc-gen-go-grpc
	google.golang.org/protobuf/cmd/protoc-gen-go
)

replace github.com/skiffrpc/skiff/transport-ttheader => ../transport-ttheader

replace github.com/skiffrpc/skiff/codec-protobuf => ../codec-protobuf

replace github.com/skiffrpc/skiff/transport-http2 => ../transport-http2

replace github.com/skiffrpc/skiff/codec-grpc => ../codec-grpc

replace github.com/skiffrpc/skiff/limiter => ../limiter

replace github.com/skiffrpc/skiff/otel => ../otel

replace github.com/skiffrpc/skiff/retry => ../retry

replace github.com/skiffrpc/skiff/loadbalance => ../loadbalance

replace github.com/skiffrpc/skiff/breaker => ../breaker
