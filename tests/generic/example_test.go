package generictest_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/server"
	"github.com/skiffrpc/skiff/generic"
	ttheader "github.com/skiffrpc/skiff/transport-ttheader"
)

const storeIDL = `
struct Item {
  1: required string name
  2: i64 count
}
exception Missing { 1: string what }
service Store {
  Item get(1: string name) throws (1: Missing missing)
}
`

// A JSON generic server and a JSON generic client, both from an IDL held
// in a string: no generated code on either side.
func Example() {
	idl, err := generic.ParseThrift("store.thrift", storeIDL, nil)
	if err != nil {
		panic(err)
	}
	g := generic.ThriftJSON(idl)

	svr := server.New(server.WithAddress("127.0.0.1:0"), server.WithLogger(slog.New(slog.DiscardHandler)))
	err = generic.RegisterService(svr, "Store", g, func(_ context.Context, method string, req any) (any, error) {
		if req == `"nothing"` {
			return nil, &generic.ExceptionError{Name: "missing", Value: `{"what": "nothing"}`}
		}
		return `{"name": ` + req.(string) + `, "count": "9007199254740993"}`, nil
	})
	if err != nil {
		panic(err)
	}
	if err := svr.Start(); err != nil {
		panic(err)
	}
	defer svr.Stop()

	cli, err := generic.NewClient("Store", g, client.WithHostPorts(svr.Addr().String()),
		client.WithTransport(ttheader.TTHeaderFramed))
	if err != nil {
		panic(err)
	}
	defer cli.Close()
	resp, err := cli.Call(context.Background(), "get", `"apples"`)
	fmt.Println(resp, err)

	_, err = cli.Call(context.Background(), "get", `"nothing"`)
	var missing *generic.ExceptionError
	if errors.As(err, &missing) {
		fmt.Println(missing.Name, missing.Value)
	}

	_, err = cli.Call(context.Background(), "get", `42`)
	fmt.Println(err)
	// Output:
	// {"name":"apples","count":9007199254740993} <nil>
	// missing {"what":"nothing"}
	// generic: name: want a string, got a number
}

// A binary proxy: calls the proxy has no service for are forwarded to the
// backend byte for byte.
func ExampleForward() {
	idl, _ := generic.ParseThrift("store.thrift", storeIDL, nil)
	quiet := slog.New(slog.DiscardHandler)
	backend := server.New(server.WithAddress("127.0.0.1:0"), server.WithLogger(quiet))
	_ = generic.RegisterService(backend, "Store", generic.ThriftMap(idl), func(_ context.Context, _ string, req any) (any, error) {
		return map[string]any{"name": req, "count": 3}, nil
	})
	_ = backend.Start()
	defer backend.Stop()

	fwd, _ := generic.NewClient("Store", generic.ThriftBinary(idl), client.WithHostPorts(backend.Addr().String()))
	defer fwd.Close()
	proxy := server.New(server.WithAddress("127.0.0.1:0"), server.WithLogger(quiet),
		server.WithUnknownMethodHandler(generic.Forward(fwd)))
	_ = proxy.Start()
	defer proxy.Stop()

	cli, _ := generic.NewClient("Store", generic.ThriftMap(idl), client.WithHostPorts(proxy.Addr().String()))
	defer cli.Close()
	resp, err := cli.Call(context.Background(), "get", "pears")
	fmt.Println(resp, err)
	// Output:
	// map[count:3 name:pears] <nil>
}
