package grpcinterop_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	testpb "google.golang.org/grpc/interop/grpc_testing"

	thriftcodec "github.com/skiffrpc/skiff/codec-thrift"
	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/server"
	"github.com/skiffrpc/skiff/core/transport"
	"github.com/skiffrpc/skiff/examples/echo"
	grpcinterop "github.com/skiffrpc/skiff/tests/grpc"
	ttheader "github.com/skiffrpc/skiff/transport-ttheader"
)

// echoHandler implements the Thrift echo.EchoService.
type echoHandler struct{}

func (echoHandler) Echo(_ context.Context, req *echo.EchoRequest) (*echo.EchoResponse, error) {
	return &echo.EchoResponse{Message: req.Message, Seq: req.Seq}, nil
}
func (echoHandler) Fail(context.Context, int32) (*echo.EchoResponse, error) { return nil, nil }
func (echoHandler) Notify(context.Context, string) error                    { return nil }

// TestOnePortAllProtocols: one Skiff server port serves Thrift Framed,
// Thrift Buffered, TTHeader and gRPC (grpc-go's client) at once; the
// HTTP/2 preface is sniffed like the other transports.
func TestOnePortAllProtocols(t *testing.T) {
	addr := startSkiffWith(t, nil, func(s *server.Server) error {
		if err := s.RegisterService(echo.ServiceInfo(), echoHandler{}); err != nil {
			return err
		}
		return s.RegisterService(grpcinterop.TestServiceInfo(), grpcinterop.NewTestServer())
	})
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	gc := testpb.NewTestServiceClient(cc)

	var wg sync.WaitGroup
	for _, tp := range []transport.Protocol{transport.Framed, thriftcodec.Buffered, ttheader.TTHeaderFramed} {
		cli, err := client.New(echo.ServiceInfo(), client.WithHostPorts(addr), client.WithTransport(tp), client.WithRPCTimeout(5*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		defer cli.Close()
		stub := echo.NewClient(cli)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				msg := fmt.Sprintf("%s-%d", tp.Name(), i)
				resp, err := stub.Echo(context.Background(), &echo.EchoRequest{Message: msg})
				if err != nil || resp.Message != msg {
					t.Errorf("%s echo: %v, %v", tp.Name(), resp, err)
					return
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for i := range 50 {
			resp, err := gc.UnaryCall(ctx, &testpb.SimpleRequest{ResponseSize: int32(i + 1)})
			if err != nil || len(resp.GetPayload().GetBody()) != i+1 {
				t.Errorf("grpc UnaryCall: %v, %v", resp, err)
				return
			}
		}
	}()
	wg.Wait()
}
