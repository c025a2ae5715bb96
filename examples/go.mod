module github.com/skiffrpc/skiff/examples

go 1.26.7

require (
	github.com/apache/thrift v0.22.0
	github.com/prometheus/client_golang v1.24.1
	github.com/skiffrpc/skiff/codec-thrift v0.2.0
	github.com/skiffrpc/skiff/core v0.2.0
	go.opentelemetry.io/otel v1.47.0
	go.opentelemetry.io/otel/exporters/prometheus v0.69.0
	go.opentelemetry.io/otel/exporters/stdout/stdoutmetric v1.47.0
	go.opentelemetry.io/otel/exporters/stdout/stdouttrace v1.47.0
	go.opentelemetry.io/otel/sdk v1.47.0
	go.opentelemetry.io/otel/sdk/metric v1.47.0
	google.golang.org/protobuf v1.36.12
)

require (
	github.com/armon/go-metrics v0.4.1 // indirect
	github.com/beorn7/perks v1.0.1 // indirect
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/fatih/color v1.19.0 // indirect
	github.com/go-logr/logr v1.4.4 // indirect
	github.com/go-logr/stdr v1.2.2 // indirect
	github.com/go-viper/mapstructure/v2 v2.5.0 // indirect
	github.com/google/uuid v1.6.0 // indirect
	github.com/hashicorp/consul/api v1.34.5 // indirect
	github.com/hashicorp/errwrap v1.1.0 // indirect
	github.com/hashicorp/go-cleanhttp v0.5.2 // indirect
	github.com/hashicorp/go-hclog v1.6.3 // indirect
	github.com/hashicorp/go-immutable-radix v1.3.1 // indirect
	github.com/hashicorp/go-metrics v0.6.0 // indirect
	github.com/hashicorp/go-multierror v1.1.1 // indirect
	github.com/hashicorp/go-rootcerts v1.0.2 // indirect
	github.com/hashicorp/golang-lru v1.0.2 // indirect
	github.com/hashicorp/serf v0.10.4 // indirect
	github.com/mattn/go-colorable v0.1.15 // indirect
	github.com/mattn/go-isatty v0.0.22 // indirect
	github.com/mitchellh/go-homedir v1.1.0 // indirect
	github.com/munnerz/goautoneg v0.0.0-20191010083416-a7dc8b61c822 // indirect
	github.com/prometheus/client_model v0.6.3 // indirect
	github.com/prometheus/common v0.72.0 // indirect
	github.com/prometheus/otlptranslator v1.0.0 // indirect
	github.com/prometheus/procfs v0.22.0 // indirect
	go.opentelemetry.io/auto/sdk v1.2.1 // indirect
	go.opentelemetry.io/otel/log v1.47.0 // indirect
	go.opentelemetry.io/otel/metric v1.47.0 // indirect
	go.opentelemetry.io/otel/trace v1.47.0 // indirect
	golang.org/x/exp v0.0.0-20260218203240-3dfff04db8fa // indirect
	golang.org/x/net v0.62.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
	golang.org/x/text v0.43.0 // indirect
)

require (
	github.com/bytedance/gopkg v0.1.1 // indirect
	github.com/cloudwego/gopkg v0.1.4 // indirect
	github.com/cloudwego/netpoll v0.7.2 // indirect
	github.com/skiffrpc/skiff/codec-grpc v0.2.0
	github.com/skiffrpc/skiff/codec-protobuf v0.2.0
	github.com/skiffrpc/skiff/otel v0.2.0
	github.com/skiffrpc/skiff/registry-consul v0.2.0
	github.com/skiffrpc/skiff/transport-http2 v0.2.0
	github.com/skiffrpc/skiff/transport-ttheader v0.2.0
)

replace (
	github.com/skiffrpc/skiff/codec-thrift => ../codec-thrift
	github.com/skiffrpc/skiff/core => ../core
)

replace github.com/skiffrpc/skiff/codec-protobuf => ../codec-protobuf

replace github.com/skiffrpc/skiff/transport-http2 => ../transport-http2

replace github.com/skiffrpc/skiff/codec-grpc => ../codec-grpc

replace github.com/skiffrpc/skiff/transport-ttheader => ../transport-ttheader

replace github.com/skiffrpc/skiff/registry-consul => ../registry-consul

replace github.com/skiffrpc/skiff/otel => ../otel
