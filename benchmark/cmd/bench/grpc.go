//go:build !nogrpc

package main

import (
	"context"
	"net"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/skiffrpc/skiff/benchmark/grpcpb"
)

type grpcEcho struct {
	grpcpb.UnimplementedEchoServiceServer
}

func (grpcEcho) Echo(_ context.Context, req *grpcpb.EchoRequest) (*grpcpb.EchoResponse, error) {
	return &grpcpb.EchoResponse{Message: req.Message, Seq: req.Seq}, nil
}

func serveGRPC(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	s := grpc.NewServer()
	grpcpb.RegisterEchoServiceServer(s, grpcEcho{})
	go s.Serve(ln) //nolint:errcheck // runs until the process exits
	return nil
}

type grpcClient struct {
	cc  *grpc.ClientConn
	cli grpcpb.EchoServiceClient
}

// dialGRPC opens one ClientConn, grpc-go's normal usage: every caller
// shares its one HTTP/2 connection.
func dialGRPC(addr string, _ int) (client, error) {
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, err
	}
	return grpcClient{cc, grpcpb.NewEchoServiceClient(cc)}, nil
}

func (c grpcClient) call(body string, seq int64) (int, int64, error) {
	resp, err := c.cli.Echo(context.Background(), &grpcpb.EchoRequest{Message: body, Seq: seq})
	if err != nil {
		return 0, 0, err
	}
	return len(resp.Message), resp.Seq, nil
}

func (c grpcClient) close() { c.cc.Close() }

func init() {
	frameworks["grpc"] = framework{serve: serveGRPC, dial: dialGRPC}
}
