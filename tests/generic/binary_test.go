package generictest_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/endpoint"
	"github.com/skiffrpc/skiff/core/server"
	"github.com/skiffrpc/skiff/core/status"
	"github.com/skiffrpc/skiff/generic"
	"github.com/skiffrpc/skiff/tests/generic/gen/alltypes"
	"github.com/skiffrpc/skiff/tests/generic/gen/base"
	"github.com/skiffrpc/skiff/tests/generic/pbgen"
)

func everything() *alltypes.Everything {
	color := base.Color_BLUE
	r := 2.5
	return &alltypes.Everything{Id: "bin", Color: &color, Shape: &alltypes.Shape{Radius: &r}, WithDefault: 1,
		Containers: &alltypes.Containers{ByPoint: map[*base.Point]string{{X: 1, Y: 2}: "p"}, Ints: []int32{1, 2}}}
}

// Binary generic for Thrift: the args struct the caller encoded goes out
// verbatim with the method named at call time, the result struct comes
// back undecoded, on every Thrift transport.
func TestThriftBinaryClient(t *testing.T) {
	svr, h := startAllTypes(t)
	for _, tp := range thriftTransports {
		t.Run(tp.Name(), func(t *testing.T) {
			// Without an IDL: the service name is all it needs.
			cli := newGenericClient(t, "AllTypes", generic.ThriftBinary(nil), svr.Addr().String(), client.WithTransport(tp))
			ctx := context.Background()
			req := everything()
			out, err := cli.Call(ctx, "echo", (&alltypes.AllTypesEchoArgs{Req: req}).FastAppend(nil))
			if err != nil {
				t.Fatal(err)
			}
			var res alltypes.AllTypesEchoResult
			if _, err := res.FastRead(out.([]byte)); err != nil {
				t.Fatal(err)
			}
			if res.Success.Id != "bin" || *res.Success.Color != base.Color_BLUE || len(res.Success.Containers.ByPoint) != 1 {
				t.Fatalf("echo: %+v", res.Success)
			}
			// A declared exception stays inside the result struct.
			out, err = cli.Call(ctx, "fail", (&alltypes.AllTypesFailArgs{Req: req, Which: 2}).FastAppend(nil))
			if err != nil {
				t.Fatal(err)
			}
			var fres alltypes.AllTypesFailResult
			if _, err := fres.FastRead(out.([]byte)); err != nil || fres.Inv == nil || fres.Inv.Reason != "bad bin" {
				t.Fatalf("fail: %+v %v", fres, err)
			}
			// An unknown method is the server's unknown-method exception.
			_, err = cli.Call(ctx, "nope", []byte{0})
			if !errors.Is(err, status.ErrRemote) || status.CodeOf(err) != status.Unimplemented {
				t.Fatalf("nope: %v", err)
			}
		})
	}
	// With the IDL, oneway methods go as oneway.
	cli := newGenericClient(t, "AllTypes", generic.ThriftBinary(loadIDL(t)), svr.Addr().String())
	if _, err := cli.Call(context.Background(), "notify", (&alltypes.AllTypesNotifyArgs{Msg: "one way"}).FastAppend(nil)); err != nil {
		t.Fatal(err)
	}
	select {
	case n := <-h.notes:
		if n != "one way" {
			t.Fatalf("notify: %q", n)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("notify did not arrive")
	}
}

// Binary generic for protobuf, over Kitex Protobuf and gRPC.
func TestProtobufBinaryClient(t *testing.T) {
	svr := startServer(t, func(s *server.Server) error { return pbgen.RegisterDocs(s, docs{}) })
	req, err := proto.Marshal(wantDoc(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, tp := range protoTransports {
		t.Run(tp.name, func(t *testing.T) {
			cli := newGenericClient(t, "skiff.generic.v1.Docs", generic.ProtobufBinary(nil), svr.Addr().String(), tp.opts...)
			out, err := cli.Call(context.Background(), "Echo", req)
			if err != nil {
				t.Fatal(err)
			}
			var d pbgen.Doc
			if err := proto.Unmarshal(out.([]byte), &d); err != nil || !proto.Equal(&d, wantDoc(t)) {
				t.Fatalf("Echo: %v %v", &d, err)
			}
		})
	}
}

// A binary proxy: a server whose unknown-method handler forwards every
// call through a binary generic client. Typed clients of the proxy get the
// backend's answers, exceptions and errors; the proxy decodes nothing.
func TestBinaryProxy(t *testing.T) {
	backend, h := startAllTypes(t)
	// With the IDL, the proxy knows which methods are oneway.
	fwd := newGenericClient(t, "AllTypes", generic.ThriftBinary(loadIDL(t)), backend.Addr().String())
	pbBackend := startServer(t, func(s *server.Server) error { return pbgen.RegisterDocs(s, docs{}) })
	pbFwd := newGenericClient(t, "skiff.generic.v1.Docs", generic.ProtobufBinary(nil), pbBackend.Addr().String())
	count := &counter{}
	forwardThrift, forwardPB := generic.Forward(fwd), generic.Forward(pbFwd)
	proxy := startServer(t, func(s *server.Server) error { return nil },
		server.WithMiddleware(count.middleware),
		server.WithUnknownMethodHandler(func(ctx context.Context, svc, method string, req []byte) ([]byte, error) {
			if svc == "Docs" || svc == "skiff.generic.v1.Docs" {
				return forwardPB(ctx, svc, method, req)
			}
			return forwardThrift(ctx, svc, method, req)
		}))
	for _, tp := range thriftTransports {
		t.Run(tp.Name(), func(t *testing.T) {
			cli, err := client.New(alltypes.AllTypesServiceInfo(), client.WithHostPorts(proxy.Addr().String()),
				client.WithTransport(tp), client.WithLogger(quiet), client.WithRPCTimeout(5*time.Second))
			if err != nil {
				t.Fatal(err)
			}
			defer cli.Close()
			at := alltypes.NewAllTypesClient(cli)
			ctx := context.Background()
			req := everything()
			got, err := at.Echo(ctx, req)
			if err != nil || !reflect.DeepEqual(got.Shape, req.Shape) || got.Id != req.Id || *got.Color != *req.Color {
				t.Fatalf("Echo via proxy: %+v %v", got, err)
			}
			_, err = at.Fail(ctx, req, 1)
			var nf *alltypes.NotFound
			if !errors.As(err, &nf) || nf.Code != 404 {
				t.Fatalf("Fail via proxy: %v", err)
			}
			if n, err := at.Add(ctx, 1, 2); err != nil || n != 3 {
				t.Fatalf("Add via proxy: %d %v", n, err)
			}
			if err := at.Notify(ctx, "via proxy"); err != nil {
				t.Fatal(err)
			}
			select {
			case n := <-h.notes:
				if n != "via proxy" {
					t.Fatalf("Notify via proxy: %q", n)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Notify via proxy did not arrive")
			}
		})
	}
	for _, tp := range protoTransports {
		t.Run(tp.name, func(t *testing.T) {
			cli, err := client.New(pbgen.DocsServiceInfo(), append([]client.Option{client.WithHostPorts(proxy.Addr().String()),
				client.WithLogger(quiet), client.WithRPCTimeout(5 * time.Second)}, tp.opts...)...)
			if err != nil {
				t.Fatal(err)
			}
			defer cli.Close()
			got, err := pbgen.NewDocsSkiffClient(cli).Echo(context.Background(), wantDoc(t))
			if err != nil || !proto.Equal(got, wantDoc(t)) {
				t.Fatalf("Echo via proxy: %v %v", got, err)
			}
		})
	}
	if count.n.Load() == 0 {
		t.Fatal("the proxy's middleware saw no call")
	}
}

// A proxy whose forwarding client has no IDL cannot know a method is
// oneway: it refuses the oneway call (the middleware sees the error)
// instead of waiting for a reply that never comes.
func TestForwardOnewayWithoutIDL(t *testing.T) {
	backend, h := startAllTypes(t)
	fwd := newGenericClient(t, "AllTypes", generic.ThriftBinary(nil), backend.Addr().String())
	errs := make(chan error, 1)
	proxy := startServer(t, func(*server.Server) error { return nil },
		server.WithMiddleware(func(next endpoint.Endpoint) endpoint.Endpoint {
			return func(ctx context.Context, req, resp any) error {
				err := next(ctx, req, resp)
				errs <- err
				return err
			}
		}),
		server.WithUnknownMethodHandler(generic.Forward(fwd)))
	cli, err := client.New(alltypes.AllTypesServiceInfo(), client.WithHostPorts(proxy.Addr().String()), client.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	if err := alltypes.NewAllTypesClient(cli).Notify(context.Background(), "lost"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errs:
		if status.CodeOf(err) != status.Unimplemented {
			t.Fatalf("the proxy's middleware saw %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the proxy did not finish the oneway call")
	}
	select {
	case n := <-h.notes:
		t.Fatalf("the backend got %q", n)
	default:
	}
}
