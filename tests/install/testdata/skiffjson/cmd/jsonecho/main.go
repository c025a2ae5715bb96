// Command jsonecho serves an echo service whose messages are JSON
// (package skiffjson) on 127.0.0.1, calls it with a Skiff client, and
// prints the reply and a handler's error as the client sees it.
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/codec"
	"github.com/skiffrpc/skiff/core/server"
	"github.com/skiffrpc/skiff/core/service"
	"github.com/skiffrpc/skiff/core/status"

	"example.com/skiffjson"
)

// Request and Response are the payloads, JSON on the wire.
type Request struct {
	Message string `json:"message"`
}

// Response is Echo's reply.
type Response struct {
	Message string `json:"message"`
}

// method describes a method of plain Go structs served by f.
func method(name string, f func(context.Context, *Request) (*Response, error)) *service.MethodInfo {
	return &service.MethodInfo{
		Name: name,
		Handler: func(ctx context.Context, _, args, result any) error {
			out, err := f(ctx, args.(*Request))
			if err != nil {
				return err
			}
			*result.(*Response) = *out
			return nil
		},
		NewArgs:   func() any { return new(Request) },
		NewResult: func() any { return new(Response) },
	}
}

func main() {
	if codec.Lookup(skiffjson.Name) == nil || codec.LookupPayload("json") == nil {
		log.Fatal("skiffjson did not register its codecs")
	}
	info := &service.Info{Name: "Echo", Codec: skiffjson.Name, Methods: map[string]*service.MethodInfo{
		"Echo": method("Echo", func(_ context.Context, r *Request) (*Response, error) {
			return &Response{Message: "echo: " + r.Message}, nil
		}),
		"Fail": method("Fail", func(context.Context, *Request) (*Response, error) {
			return nil, status.New(status.InvalidArgument, "no such thing")
		}),
	}}
	svr := server.New(server.WithAddress("127.0.0.1:0"), server.WithExitWaitTime(time.Second))
	if err := svr.RegisterService(info, struct{}{}); err != nil {
		log.Fatal(err)
	}
	if err := svr.Start(); err != nil {
		log.Fatal(err)
	}
	defer svr.Stop()

	cli, err := client.New(info, client.WithHostPorts(svr.Addr().String()), client.WithRPCTimeout(5*time.Second))
	if err != nil {
		log.Fatal(err)
	}
	defer cli.Close()
	var out Response
	if err := cli.Call(context.Background(), "Echo", &Request{Message: "json"}, &out); err != nil {
		log.Fatal(err)
	}
	fmt.Println(out.Message)
	err = cli.Call(context.Background(), "Fail", &Request{}, &out)
	var se *status.Error
	if !errors.As(err, &se) {
		log.Fatalf("Fail: %v", err)
	}
	fmt.Printf("Fail: %v (%v)\n", se.Code(), se.Message())
}
