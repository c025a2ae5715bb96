package reflection_test

import (
	"fmt"

	"github.com/skiffrpc/skiff/codec-grpc/health"
	"github.com/skiffrpc/skiff/codec-grpc/reflection"
)

// A server registers both reflection services with one *reflection.Server
// (srv.RegisterService(reflection.ServiceInfoV1(), rs), and the same for
// ServiceInfoV1Alpha), listing the services grpcurl should see.
func ExampleNewServer() {
	rs := reflection.NewServer(reflection.Options{
		Services: reflection.ServicesOf(health.ServiceInfo(), reflection.ServiceInfoV1()),
	})
	_ = rs
	fmt.Println(reflection.ServiceInfoV1().FullName())
	fmt.Println(reflection.ServiceInfoV1Alpha().FullName())
	// Output:
	// grpc.reflection.v1.ServerReflection
	// grpc.reflection.v1alpha.ServerReflection
}
