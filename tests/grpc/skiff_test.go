package grpcinterop_test

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"testing"
	"time"

	grpccodec "github.com/skiffrpc/skiff/codec-grpc"
	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/engine"
	"github.com/skiffrpc/skiff/core/server"
	"github.com/skiffrpc/skiff/core/service"
	grpcinterop "github.com/skiffrpc/skiff/tests/grpc"
	h2transport "github.com/skiffrpc/skiff/transport-http2"
)

// discard is the logger of the Skiff servers and clients in these tests.
var discard = slog.New(slog.DiscardHandler)

// startSkiffWith runs a Skiff server with the services on a free loopback
// port, over TLS (the std engine) when cert is not nil, and stops it at
// cleanup.
func startSkiffWith(t testing.TB, cert *testCert, register func(*server.Server) error, opts ...server.Option) string {
	t.Helper()
	var ln net.Listener
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	all := []server.Option{server.WithLogger(discard), server.WithExitWaitTime(2 * time.Second)}
	if cert != nil {
		ln = tls.NewListener(ln, cert.serverTLS())
		all = append(all, server.WithEngine(engine.Std))
	}
	all = append(all, server.WithListener(ln))
	svr := server.New(append(all, opts...)...)
	if err := register(svr); err != nil {
		t.Fatal(err)
	}
	if err := svr.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svr.Stop() })
	return ln.Addr().String()
}

// startSkiff runs a Skiff server of grpc.testing.TestService.
func startSkiff(t testing.TB, cert *testCert, opts ...server.Option) string {
	t.Helper()
	return startSkiffWith(t, cert, func(s *server.Server) error {
		return s.RegisterService(grpcinterop.TestServiceInfo(), grpcinterop.NewTestServer())
	}, opts...)
}

// dialSkiff returns a Skiff gRPC client of svc for addr, over TLS when
// cert is not nil, closed at cleanup.
func dialSkiff(t testing.TB, svc *service.Info, addr string, cert *testCert, opts ...client.Option) *client.Client {
	t.Helper()
	all := []client.Option{
		client.WithHostPorts(addr),
		client.WithStreamTransport(h2transport.New()),
		client.WithStreamCodec(grpccodec.Default),
		client.WithLogger(discard),
	}
	if cert != nil {
		all = append(all, client.WithTLSConfig(cert.clientTLS()))
	}
	cli, err := client.New(svc, append(all, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cli.Close() })
	return cli
}

// modes are the two connection kinds every interop case runs over.
var modes = []string{"plaintext", "tls"}

func modeCert(t *testing.T, mode string) *testCert {
	if mode == "tls" {
		return getCert(t)
	}
	return nil
}

// TestInteropClientSkiff: grpc-go's interop client runs the 14 core cases
// against a Skiff TestService server.
func TestInteropClientSkiff(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			cert := modeCert(t, mode)
			addr := startSkiff(t, cert)
			for _, c := range coreCases {
				t.Run(c, func(t *testing.T) { runInteropClient(t, addr, c, cert) })
			}
		})
	}
}

// runCases runs the Skiff client cases against addr.
func runCases(t *testing.T, addr string, cert *testCert, opts ...client.Option) {
	tc := grpcinterop.NewClient(dialSkiff(t, grpcinterop.TestServiceInfo(), addr, cert, opts...))
	unimpl := grpcinterop.NewClient(dialSkiff(t, grpcinterop.UnimplementedServiceInfo(), addr, cert, opts...))
	for _, c := range grpcinterop.Cases() {
		t.Run(c.Name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), caseTimeout)
			defer cancel()
			if err := c.Run(ctx, tc, unimpl); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestSkiffClientGRPCGo: a Skiff client runs the 14 core cases against
// grpc-go's interop server.
func TestSkiffClientGRPCGo(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			cert := modeCert(t, mode)
			runCases(t, startGRPCGo(t, cert), cert)
		})
	}
}

// TestSkiffClientSkiff: the Skiff client cases against the Skiff server.
func TestSkiffClientSkiff(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			cert := modeCert(t, mode)
			runCases(t, startSkiff(t, cert), cert)
		})
	}
}

// TestInteropClientSkiffSoak: grpc-go's interop client runs its two soak
// cases against Skiff: rpc_soak (10 large unary calls on one channel) and
// channel_soak (a new connection for each of 10 calls).
func TestInteropClientSkiffSoak(t *testing.T) {
	addr := startSkiff(t, nil)
	for _, c := range []string{"rpc_soak", "channel_soak"} {
		t.Run(c, func(t *testing.T) { runInteropClient(t, addr, c, nil) })
	}
}
