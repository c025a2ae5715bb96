package consul_test

import (
	"fmt"
	"time"

	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/registry"
	"github.com/skiffrpc/skiff/core/server"
	consul "github.com/skiffrpc/skiff/registry-consul"
)

// A server registers itself in Consul; a client resolves it there. (This
// example needs a Consul agent at 127.0.0.1:8500, so it is not run.)
func Example() {
	reg, err := consul.NewRegistry(consul.WithAddress("127.0.0.1:8500"), consul.WithTTL(3*time.Second))
	if err != nil {
		panic(err)
	}
	svr := server.New(server.WithAddress("127.0.0.1:8888"),
		server.WithRegistry(reg, &registry.Info{Tags: map[string]string{"zone": "z1"}}))
	_ = svr // RegisterService, then Start or Run: registered at start, withdrawn at stop

	res, err := consul.NewResolver(consul.WithAddress("127.0.0.1:8500"), consul.WithTags("zone=z1"))
	if err != nil {
		panic(err)
	}
	_ = client.WithResolver(res) // give it to client.New
}

func ExampleServiceID() {
	fmt.Println(consul.ServiceID("EchoService", "127.0.0.7:8888"))
	// Output: EchoService@127.0.0.7:8888
}
