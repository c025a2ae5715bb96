//go:build !noskiff

package main

import (
	"context"
	"time"

	"github.com/skiffrpc/skiff/benchmark/grpcpb"
	se "github.com/skiffrpc/skiff/benchmark/skiffstream/streamecho"
	skiffclient "github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/engine"
	skiffserver "github.com/skiffrpc/skiff/core/server"
	"github.com/skiffrpc/skiff/core/transport"
	"github.com/skiffrpc/skiff/examples/echo"
	ttheader "github.com/skiffrpc/skiff/transport-ttheader"
)

// skiffEcho implements echo.EchoService.
type skiffEcho struct{}

func (skiffEcho) Echo(_ context.Context, req *echo.EchoRequest) (*echo.EchoResponse, error) {
	if req.Seq != nil {
		slowDown(*req.Seq)
	}
	return &echo.EchoResponse{Message: req.Message, Seq: req.Seq}, nil
}

func (skiffEcho) Fail(_ context.Context, code int32) (*echo.EchoResponse, error) {
	return nil, &echo.EchoError{Code: code, Reason: "requested failure"}
}

func (skiffEcho) Notify(context.Context, string) error { return nil }

func serveSkiff(addr string) error {
	return serveSkiffOn(addr, engine.Default)
}

func serveSkiffStd(addr string) error {
	return serveSkiffOn(addr, engine.Std)
}

func serveSkiffOn(addr string, e engine.Engine) error {
	return serveSkiffWith(addr, skiffserver.WithEngine(e))
}

// serveSkiffWith starts the benchmark's Skiff server with opts.
func serveSkiffWith(addr string, opts ...skiffserver.Option) error {
	svr := skiffserver.New(append([]skiffserver.Option{skiffserver.WithAddress(addr)}, opts...)...)
	if err := svr.RegisterService(echo.ServiceInfo(), skiffEcho{}); err != nil {
		return err
	}
	// The same port serves echo.proto over Kitex Protobuf and gRPC.
	if err := grpcpb.RegisterEchoService(svr, skiffPBEcho{}); err != nil {
		return err
	}
	// And idl/stream.thrift's streams over ttstream.
	if err := svr.RegisterService(se.StreamServiceServiceInfo(), skiffStreamEcho{}); err != nil {
		return err
	}
	return svr.Start()
}

type skiffClient struct {
	cli  *skiffclient.Client
	stub *echo.Client
}

func dialSkiffFramed(addr string, conc int) (client, error) {
	return dialSkiff(addr, conc, engine.Default)
}

func dialSkiffFramedStd(addr string, conc int) (client, error) {
	return dialSkiff(addr, conc, engine.Std)
}

// dialSkiffMux pipelines all callers over Skiff's default multiplexed
// connections (WithMultiplex(0): 2 per address) with batched flushes.
func dialSkiffMux(addr string, _ int) (client, error) {
	return newSkiffClient(addr, skiffclient.WithMultiplex(0))
}

// dialSkiffMuxStd is dialSkiffMux on the std engine: the reader of each
// connection blocks in the Go runtime's own poller.
func dialSkiffMuxStd(addr string, _ int) (client, error) {
	return newSkiffClient(addr, skiffclient.WithMultiplex(0), skiffclient.WithEngine(engine.Std))
}

// dialSkiffTTHeader is skiff-framed over TTHeader+Framed with metadata on
// (Skiff's default under TTHeader: caller, callee, method, message type,
// timeout), the caller named "bench". The server sniffs TTHeader because
// this binary imports the ttheader package.
func dialSkiffTTHeader(addr string, conc int) (client, error) {
	return dialSkiffTTHeaderWith(addr, conc)
}

// dialSkiffTTHeaderWith is dialSkiffTTHeader with more options.
func dialSkiffTTHeaderWith(addr string, conc int, opts ...skiffclient.Option) (client, error) {
	return newSkiffClient(addr, append([]skiffclient.Option{skiffclient.WithTransport(ttheader.TTHeaderFramed),
		skiffclient.WithCaller("bench"),
		skiffclient.WithLongConnection(skiffclient.PoolConfig{
			MaxIdlePerAddress: conc, MaxIdleGlobal: conc, MaxIdleTimeout: time.Minute,
		})}, opts...)...)
}

// dialSkiffTTHeaderMux is dialSkiffTTHeader over Skiff's default
// multiplexed connections (WithMultiplex(0)).
// dialSkiffTTHeaderAuto is a TTHeader client with Skiff's defaults: it
// offers out-of-order replies and multiplexes once the server takes them.
func dialSkiffTTHeaderAuto(addr string, _ int) (client, error) {
	return newSkiffClient(addr, skiffclient.WithTransport(ttheader.TTHeaderFramed),
		skiffclient.WithCaller("bench"))
}

func dialSkiffTTHeaderMux(addr string, _ int) (client, error) {
	return newSkiffClient(addr, skiffclient.WithTransport(ttheader.TTHeaderFramed),
		skiffclient.WithCaller("bench"), skiffclient.WithMultiplex(0))
}

func dialSkiff(addr string, conc int, e engine.Engine) (client, error) {
	return newSkiffClient(addr, skiffclient.WithEngine(e),
		skiffclient.WithLongConnection(skiffclient.PoolConfig{
			MaxIdlePerAddress: conc, MaxIdleGlobal: conc, MaxIdleTimeout: time.Minute,
		}))
}

func newSkiffClient(addr string, opts ...skiffclient.Option) (client, error) {
	cli, err := skiffclient.New(echo.ServiceInfo(), append([]skiffclient.Option{
		skiffclient.WithHostPorts(addr),
		skiffclient.WithTransport(transport.Framed),
	}, opts...)...)
	if err != nil {
		return nil, err
	}
	return skiffClient{cli: cli, stub: echo.NewClient(cli)}, nil
}

func (c skiffClient) call(body string, seq int64) (int, int64, error) {
	resp, err := c.stub.Echo(context.Background(), &echo.EchoRequest{Message: body, Seq: &seq})
	if err != nil {
		return 0, 0, err
	}
	return len(resp.Message), resp.GetSeq(), nil
}

func (c skiffClient) close() { c.cli.Close() }

func init() {
	frameworks["skiff-framed"] = framework{serve: serveSkiff, dial: dialSkiffFramed}
	frameworks["skiff-framed-std"] = framework{serve: serveSkiffStd, dial: dialSkiffFramedStd}
	frameworks["skiff-mux"] = framework{serve: serveSkiff, dial: dialSkiffMux}
	frameworks["skiff-mux-std"] = framework{serve: serveSkiff, dial: dialSkiffMuxStd}
	frameworks["skiff-ttheader"] = framework{serve: serveSkiff, dial: dialSkiffTTHeader}
	frameworks["skiff-ttheader-mux"] = framework{serve: serveSkiff, dial: dialSkiffTTHeaderMux}
	frameworks["skiff-pb"] = framework{serve: serveSkiff, dial: dialSkiffPB}
	frameworks["skiff-grpc"] = framework{serve: serveSkiff, dial: dialSkiffGRPC}
	frameworks["skiff-grpc-std"] = framework{serve: serveSkiffStd, dial: dialSkiffGRPCStd}
	frameworks["skiff-grpc-stdcli"] = framework{serve: serveSkiff, dial: dialSkiffGRPCStdClient}
	frameworks["skiff-grpc-bidi"] = framework{serve: serveSkiff, dial: dialSkiffGRPCBidi}
	frameworks["skiff-grpc-bidi-std"] = framework{serve: serveSkiffStd, dial: dialSkiffGRPCBidiStd}
	frameworks["skiff-ttheader-auto"] = framework{serve: serveSkiff, dial: dialSkiffTTHeaderAuto}
	frameworks["skiff-ttheader-std"] = framework{serve: serveSkiffStd, dial: dialSkiffTTHeaderStd}
	frameworks["skiff-ttheader-tls"] = framework{serve: serveSkiffTLS, dial: dialSkiffTTHeaderTLS}
}
