package consul

import (
	"context"
	"log/slog"
	"time"

	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/registry"
	"github.com/skiffrpc/skiff/core/server"
	"github.com/skiffrpc/skiff/examples/echo"
	consul "github.com/skiffrpc/skiff/registry-consul"
)

// Handler is an echo service that answers every Echo with its server's
// name, so a client can see which server it reached.
type Handler struct{ Name string }

// Echo returns the server's name as the message.
func (h Handler) Echo(_ context.Context, req *echo.EchoRequest) (*echo.EchoResponse, error) {
	return &echo.EchoResponse{Message: h.Name, Seq: req.Seq}, nil
}

// Fail always fails with the requested code.
func (h Handler) Fail(_ context.Context, code int32) (*echo.EchoResponse, error) {
	return nil, &echo.EchoError{Code: code, Reason: "requested failure"}
}

// Notify does nothing.
func (h Handler) Notify(context.Context, string) error { return nil }

// Server is an echo server registered in Consul.
type Server struct {
	*server.Server
	reg *consul.Registry
}

// StartServer starts an echo server named name on a free 127.0.0.1 port
// and registers it with the Consul agent at agentAddr (such as
// "127.0.0.1:8500") as "EchoService".
func StartServer(agentAddr, name string, logger *slog.Logger) (*Server, error) {
	reg, err := consul.NewRegistry(consul.WithAddress(agentAddr), consul.WithProtocol("thrift-framed"), consul.WithLogger(logger))
	if err != nil {
		return nil, err
	}
	svr := server.New(server.WithAddress("127.0.0.1:0"), server.WithLogger(logger),
		server.WithExitWaitTime(2*time.Second),
		server.WithRegistry(reg, &registry.Info{Tags: map[string]string{"name": name}}))
	if err := svr.RegisterService(echo.ServiceInfo(), Handler{Name: name}); err != nil {
		return nil, err
	}
	if err := svr.Start(); err != nil {
		return nil, err
	}
	if err := svr.RegisterErr(); err != nil {
		_ = svr.Stop()
		_ = reg.Close()
		return nil, err
	}
	return &Server{Server: svr, reg: reg}, nil
}

// Stop deregisters the server from Consul, then stops it gracefully.
func (s *Server) Stop() error {
	err := s.Server.Stop()
	_ = s.reg.Close()
	return err
}

// Client is an echo client that finds its servers in Consul.
type Client struct {
	*echo.Client
	cli *client.Client
	res *consul.Resolver
}

// NewClient returns an echo client that resolves EchoService through the
// Consul agent at agentAddr and follows its instances as they change.
func NewClient(agentAddr string, logger *slog.Logger) (*Client, error) {
	res, err := consul.NewResolver(consul.WithAddress(agentAddr), consul.WithLogger(logger))
	if err != nil {
		return nil, err
	}
	cli, err := client.New(echo.ServiceInfo(), client.WithResolver(res), client.WithLogger(logger),
		client.WithRPCTimeout(time.Second))
	if err != nil {
		_ = res.Close()
		return nil, err
	}
	return &Client{Client: echo.NewClient(cli), cli: cli, res: res}, nil
}

// Close closes the client and stops its watch of Consul.
func (c *Client) Close() error {
	err := c.cli.Close()
	_ = c.res.Close()
	return err
}
