//go:build !nokitex

package main

import (
	"context"
	"errors"
	"net"
	"time"

	kclient "github.com/cloudwego/kitex/client"
	"github.com/cloudwego/kitex/pkg/connpool"
	"github.com/cloudwego/kitex/pkg/klog"
	"github.com/cloudwego/kitex/pkg/rpcinfo"
	"github.com/cloudwego/kitex/pkg/transmeta"
	kserver "github.com/cloudwego/kitex/server"
	"github.com/cloudwego/kitex/transport"

	kecho "github.com/skiffrpc/skiff/benchmark/kitex_gen/echo"
	kechosvc "github.com/skiffrpc/skiff/benchmark/kitex_gen/echo/echoservice"
	kpb "github.com/skiffrpc/skiff/benchmark/kitex_gen/echopb"
	kpbsvc "github.com/skiffrpc/skiff/benchmark/kitex_gen/echopb/echoservice"
)

var errNoResult = errors.New("reply without a result")

func init() { klog.SetLevel(klog.LevelWarn) }

// kitexThriftEcho implements the Kitex Thrift echo.EchoService.
type kitexThriftEcho struct{}

func (kitexThriftEcho) Echo(_ context.Context, req *kecho.EchoRequest) (*kecho.EchoResponse, error) {
	return &kecho.EchoResponse{Message: req.Message, Seq: req.Seq}, nil
}

func (kitexThriftEcho) Fail(_ context.Context, code int32) (*kecho.EchoResponse, error) {
	return nil, &kecho.EchoError{Code: code, Reason: "requested failure"}
}

func (kitexThriftEcho) Notify(context.Context, string) error { return nil }

// kitexPBEcho implements the Kitex Protobuf echopb.EchoService.
type kitexPBEcho struct{}

func (kitexPBEcho) Echo(_ context.Context, req *kpb.EchoRequest) (*kpb.EchoResponse, error) {
	return &kpb.EchoResponse{Message: req.Message, Seq: req.Seq}, nil
}

func kitexAddr(addr string) (net.Addr, error) { return net.ResolveTCPAddr("tcp", addr) }

// runKitex runs a Kitex server in the background. Kitex's Run blocks; a
// failure to listen comes back quickly, so wait a moment for it.
func runKitex(svr kserver.Server) error {
	errc := make(chan error, 1)
	go func() { errc <- svr.Run() }()
	select {
	case err := <-errc:
		if err == nil {
			err = errors.New("kitex server stopped")
		}
		return err
	case <-time.After(200 * time.Millisecond):
		return nil
	}
}

func serveKitexThrift(addr string) error {
	a, err := kitexAddr(addr)
	if err != nil {
		return err
	}
	return runKitex(kechosvc.NewServer(&kitexThriftEcho{}, kserver.WithServiceAddr(a)))
}

// serveKitexThriftMeta is serveKitexThrift with Kitex's TTHeader metadata
// handler, so the server reads the caller's int and string keys (caller,
// method, timeout, metainfo) and writes its own back: metadata on, as
// Skiff has it by default.
func serveKitexThriftMeta(addr string) error {
	a, err := kitexAddr(addr)
	if err != nil {
		return err
	}
	return runKitex(kechosvc.NewServer(&kitexThriftEcho{}, kserver.WithServiceAddr(a),
		kserver.WithMetaHandler(transmeta.ServerTTHeaderHandler)))
}

func serveKitexPB(addr string) error {
	a, err := kitexAddr(addr)
	if err != nil {
		return err
	}
	return runKitex(kpbsvc.NewServer(&kitexPBEcho{}, kserver.WithServiceAddr(a)))
}

// kitexPool is Kitex's long-connection pool sized for conc callers.
func kitexPool(conc int) kclient.Option {
	return kclient.WithLongConnection(connpool.IdleConfig{
		MaxIdlePerAddress: conc, MaxIdleGlobal: conc, MaxIdleTimeout: time.Minute,
	})
}

type kitexThriftClient struct{ cli kechosvc.Client }

func dialKitexThrift(addr string, conc int, tp transport.Protocol, opts ...kclient.Option) (client, error) {
	cli, err := kechosvc.NewClient("EchoService", append([]kclient.Option{kclient.WithHostPorts(addr),
		kclient.WithTransportProtocol(tp), kitexPool(conc)}, opts...)...)
	if err != nil {
		return nil, err
	}
	return kitexThriftClient{cli}, nil
}

func dialKitexFramed(addr string, conc int) (client, error) {
	return dialKitexThrift(addr, conc, transport.Framed)
}

// dialKitexTTHeader sends TTHeader+Framed with metadata on: Kitex's
// TTHeader meta handler writes the caller and callee service and method,
// the message type and the RPC timeout into the header (Kitex leaves it
// off unless asked), and the caller's name comes from its basic info.
func dialKitexTTHeader(addr string, conc int) (client, error) {
	return dialKitexTTHeaderWith(addr, conc)
}

// dialKitexTTHeaderWith is dialKitexTTHeader with more options.
func dialKitexTTHeaderWith(addr string, conc int, opts ...kclient.Option) (client, error) {
	return dialKitexThrift(addr, conc, transport.TTHeaderFramed, append([]kclient.Option{
		kclient.WithMetaHandler(transmeta.ClientTTHeaderHandler),
		kclient.WithClientBasicInfo(&rpcinfo.EndpointBasicInfo{ServiceName: "bench"})}, opts...)...)
}

func (c kitexThriftClient) call(body string, seq int64) (int, int64, error) {
	resp, err := c.cli.Echo(context.Background(), &kecho.EchoRequest{Message: body, Seq: &seq})
	if err != nil {
		return 0, 0, err
	}
	return len(resp.Message), resp.GetSeq(), nil
}

func (kitexThriftClient) close() {}

type kitexPBClient struct{ cli kpbsvc.Client }

func dialKitexPB(addr string, conc int) (client, error) {
	// Kitex Protobuf always goes as TTHeader+Framed.
	cli, err := kpbsvc.NewClient("EchoService", kclient.WithHostPorts(addr), kitexPool(conc))
	if err != nil {
		return nil, err
	}
	return kitexPBClient{cli}, nil
}

func dialKitexGRPC(addr string, _ int) (client, error) {
	// Kitex gRPC keeps its own pool of HTTP/2 connections (GOMAXPROCS*3/2).
	cli, err := kpbsvc.NewClient("EchoService", kclient.WithHostPorts(addr),
		kclient.WithTransportProtocol(transport.GRPC))
	if err != nil {
		return nil, err
	}
	return kitexPBClient{cli}, nil
}

func (c kitexPBClient) call(body string, seq int64) (int, int64, error) {
	resp, err := c.cli.Echo(context.Background(), &kpb.EchoRequest{Message: body, Seq: seq})
	if err != nil {
		return 0, 0, err
	}
	return len(resp.Message), resp.Seq, nil
}

func (kitexPBClient) close() {}

func init() {
	frameworks["kitex-framed"] = framework{serve: serveKitexThrift, dial: dialKitexFramed}
	frameworks["kitex-ttheader"] = framework{serve: serveKitexThriftMeta, dial: dialKitexTTHeader}
	frameworks["kitex-pb"] = framework{serve: serveKitexPB, dial: dialKitexPB}
	frameworks["kitex-grpc"] = framework{serve: serveKitexPB, dial: dialKitexGRPC}
}
