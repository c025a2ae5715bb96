package health_test

import (
	"context"
	"fmt"

	"github.com/skiffrpc/skiff/codec-grpc/health"
)

// A server registers health.ServiceInfo() with a *health.Server as the
// implementation (srv.RegisterService(health.ServiceInfo(), hs)) and
// updates the statuses as its dependencies come and go.
func ExampleServer() {
	hs := health.NewServer()
	hs.SetServingStatus("echo.Echo", health.NotServing)

	res, _ := hs.Check(context.Background(), &health.CheckRequest{Service: "echo.Echo"})
	fmt.Println(res.Status)
	hs.SetServingStatus("echo.Echo", health.Serving)
	res, _ = hs.Check(context.Background(), &health.CheckRequest{})
	fmt.Println(res.Status, health.ServiceInfo().FullName())
	// Output:
	// NOT_SERVING
	// SERVING grpc.health.v1.Health
}
