package tlstest_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"log/slog"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	grpccodec "github.com/skiffrpc/skiff/codec-grpc"
	_ "github.com/skiffrpc/skiff/codec-protobuf" // the Kitex Protobuf codec
	thriftcodec "github.com/skiffrpc/skiff/codec-thrift"
	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/engine"
	"github.com/skiffrpc/skiff/core/server"
	"github.com/skiffrpc/skiff/core/status"
	"github.com/skiffrpc/skiff/core/stream"
	"github.com/skiffrpc/skiff/examples/echo"
	"github.com/skiffrpc/skiff/examples/greeter/greeterpb"
	h2transport "github.com/skiffrpc/skiff/transport-http2"
	ttheader "github.com/skiffrpc/skiff/transport-ttheader"
)

// pki is a CA with a server certificate for 127.0.0.1 and a client
// certificate.
type pki struct {
	pool           *x509.CertPool
	server, client tls.Certificate
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "skiff test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	leaf := func(serial int64, usage x509.ExtKeyUsage) tls.Certificate {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "skiff test"},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
			ExtKeyUsage: []x509.ExtKeyUsage{usage}}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	}
	p := &pki{pool: x509.NewCertPool(), server: leaf(2, x509.ExtKeyUsageServerAuth), client: leaf(3, x509.ExtKeyUsageClientAuth)}
	p.pool.AddCert(ca)
	return p
}

// logs collects a server's log lines.
type logs struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logs) Write(p []byte) (int, error) { l.mu.Lock(); defer l.mu.Unlock(); return l.buf.Write(p) }
func (l *logs) String() string              { l.mu.Lock(); defer l.mu.Unlock(); return l.buf.String() }

type echoImpl struct{}

func (echoImpl) Echo(_ context.Context, req *echo.EchoRequest) (*echo.EchoResponse, error) {
	return &echo.EchoResponse{Message: req.Message}, nil
}
func (echoImpl) Fail(context.Context, int32) (*echo.EchoResponse, error) { return nil, nil }
func (echoImpl) Notify(context.Context, string) error                    { return nil }

type greeterImpl struct{}

func (greeterImpl) SayHello(_ context.Context, req *greeterpb.HelloRequest) (*greeterpb.HelloReply, error) {
	return &greeterpb.HelloReply{Message: req.Name}, nil
}
func (greeterImpl) LotsOfHellos(*greeterpb.HelloRequest, stream.ServerStreamingServer[greeterpb.HelloReply]) error {
	return nil
}

// startServer serves the Thrift echo and the protobuf greeter on one
// 127.0.0.1 port with opts.
func startServer(t *testing.T, opts ...server.Option) (*server.Server, *logs) {
	t.Helper()
	l := &logs{}
	svr := server.New(append([]server.Option{server.WithAddress("127.0.0.1:0"),
		server.WithLogger(slog.New(slog.NewTextHandler(l, nil)))}, opts...)...)
	if err := svr.RegisterService(echo.ServiceInfo(), echoImpl{}); err != nil {
		t.Fatal(err)
	}
	if err := greeterpb.RegisterGreeter(svr, greeterImpl{}); err != nil {
		t.Fatal(err)
	}
	if err := svr.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svr.Stop() })
	return svr, l
}

// stack makes one call over one client protocol stack.
type stack struct {
	name string
	call func(t *testing.T, addr string, opts ...client.Option) error
}

func thrift(name string, base ...client.Option) stack {
	return stack{name, func(t *testing.T, addr string, opts ...client.Option) error {
		cli, err := client.New(echo.ServiceInfo(), append(append([]client.Option{client.WithHostPorts(addr),
			client.WithRPCTimeout(3 * time.Second), client.WithConnectTimeout(2 * time.Second)}, base...), opts...)...)
		if err != nil {
			return err
		}
		defer cli.Close()
		resp, err := echo.NewClient(cli).Echo(context.Background(), &echo.EchoRequest{Message: name})
		if err == nil && resp.Message != name {
			t.Errorf("%s: reply %q", name, resp.Message)
		}
		return err
	}}
}

func proto(name string, base ...client.Option) stack {
	return stack{name, func(t *testing.T, addr string, opts ...client.Option) error {
		cli, err := client.New(greeterpb.GreeterServiceInfo(), append(append([]client.Option{client.WithHostPorts(addr),
			client.WithRPCTimeout(3 * time.Second), client.WithConnectTimeout(2 * time.Second)}, base...), opts...)...)
		if err != nil {
			return err
		}
		defer cli.Close()
		resp, err := greeterpb.NewGreeterSkiffClient(cli).SayHello(context.Background(), &greeterpb.HelloRequest{Name: name})
		if err == nil && resp.Message != name {
			t.Errorf("%s: reply %q", name, resp.Message)
		}
		return err
	}}
}

func stacks() []stack {
	return []stack{
		thrift("thrift-framed"),
		thrift("thrift-buffered", client.WithTransport(thriftcodec.Buffered)),
		thrift("thrift-framed-mux", client.WithMultiplex(1)),
		thrift("ttheader", client.WithTransport(ttheader.TTHeader)),
		thrift("ttheader-framed", client.WithTransport(ttheader.TTHeaderFramed)),
		proto("kitex-protobuf", client.WithTransport(ttheader.TTHeaderFramed)),
		proto("grpc", client.WithStreamTransport(h2transport.New()), client.WithStreamCodec(grpccodec.Default)),
	}
}

// TestTLSEveryTransport: TLS and mTLS round trips on every transport, one
// port; under mTLS a client without a certificate is refused.
func TestTLSEveryTransport(t *testing.T) {
	p := newPKI(t)
	clientTLS := &tls.Config{RootCAs: p.pool}
	clientMTLS := &tls.Config{RootCAs: p.pool, Certificates: []tls.Certificate{p.client}}
	for _, mode := range []struct {
		name string
		srv  *tls.Config
		cli  *tls.Config
	}{
		{"tls", &tls.Config{Certificates: []tls.Certificate{p.server}}, clientTLS},
		{"mtls", &tls.Config{Certificates: []tls.Certificate{p.server}, ClientCAs: p.pool, ClientAuth: tls.RequireAndVerifyClientCert}, clientMTLS},
		{"tls12", &tls.Config{Certificates: []tls.Certificate{p.server}, MaxVersion: tls.VersionTLS12}, clientTLS},
	} {
		t.Run(mode.name, func(t *testing.T) {
			svr, logs := startServer(t, server.WithTLSConfig(mode.srv))
			addr := svr.Addr().String()
			for _, st := range stacks() {
				if err := st.call(t, addr, client.WithTLSConfig(mode.cli)); err != nil {
					t.Errorf("%s over %s: %v", st.name, mode.name, err)
				}
			}
			if mode.name != "mtls" {
				return
			}
			for _, st := range stacks() {
				err := st.call(t, addr, client.WithTLSConfig(clientTLS)) // no certificate
				if err == nil {
					t.Errorf("%s: a client without a certificate was served", st.name)
				} else if !strings.Contains(err.Error(), "certificate") {
					t.Errorf("%s: refusal does not name the certificate: %v", st.name, err)
				}
			}
			if !strings.Contains(logs.String(), "TLS handshake failed") {
				t.Errorf("the server did not log the refused handshakes:\n%s", logs)
			}
		})
	}
}

// TestTLSOptional: a WithTLSOptional server serves TLS and plaintext
// clients on one port.
func TestTLSOptional(t *testing.T) {
	p := newPKI(t)
	svr, _ := startServer(t, server.WithTLSConfig(&tls.Config{Certificates: []tls.Certificate{p.server}}), server.WithTLSOptional())
	addr := svr.Addr().String()
	for _, st := range stacks() {
		if err := st.call(t, addr, client.WithTLSConfig(&tls.Config{RootCAs: p.pool})); err != nil {
			t.Errorf("%s over TLS: %v", st.name, err)
		}
		if err := st.call(t, addr); err != nil {
			t.Errorf("%s in plaintext: %v", st.name, err)
		}
	}
}

// TestTLSMismatch: a TLS client to a plaintext port, and a plaintext
// client to a TLS-only port, fail on both sides with errors that say so,
// well within the connect and RPC timeouts.
func TestTLSMismatch(t *testing.T) {
	p := newPKI(t)
	plain, plainLogs := startServer(t)
	secure, secureLogs := startServer(t, server.WithTLSConfig(&tls.Config{Certificates: []tls.Certificate{p.server}}))
	for _, st := range stacks() {
		t0 := time.Now()
		err := st.call(t, plain.Addr().String(), client.WithTLSConfig(&tls.Config{RootCAs: p.pool}))
		if err == nil || !errors.Is(err, status.ErrConnect) || !strings.Contains(err.Error(), "does it serve TLS") {
			t.Errorf("%s: TLS client to a plaintext port: %v", st.name, err)
		}
		if el := time.Since(t0); el > 2*time.Second {
			t.Errorf("%s: TLS client to a plaintext port failed after %v", st.name, el)
		}
		t0 = time.Now()
		if err := st.call(t, secure.Addr().String()); err == nil {
			t.Errorf("%s: a plaintext client was served by a TLS-only port", st.name)
		}
		if el := time.Since(t0); el > 2*time.Second {
			t.Errorf("%s: plaintext client to a TLS port failed after %v", st.name, el)
		}
	}
	if !strings.Contains(plainLogs.String(), "TLS handshake on a plaintext port") {
		t.Errorf("the plaintext server did not say why it closed TLS connections:\n%s", plainLogs)
	}
	if !strings.Contains(secureLogs.String(), "plaintext connection refused on a TLS port") {
		t.Errorf("the TLS server did not say why it closed plaintext connections:\n%s", secureLogs)
	}
}

// TestTLSWrongEngine: TLS asked of the Netpoll engine is an error at
// construction, on both sides.
func TestTLSWrongEngine(t *testing.T) {
	p := newPKI(t)
	svr := server.New(server.WithAddress("127.0.0.1:0"), server.WithEngine(engine.Netpoll),
		server.WithTLSConfig(&tls.Config{Certificates: []tls.Certificate{p.server}}))
	if err := svr.RegisterService(echo.ServiceInfo(), echoImpl{}); err != nil {
		t.Fatal(err)
	}
	if err := svr.Start(); err == nil || !strings.Contains(err.Error(), "std engine") {
		_ = svr.Stop()
		t.Errorf("Start with TLS on Netpoll: %v", err)
	}
	_, err := client.New(echo.ServiceInfo(), client.WithHostPorts("127.0.0.1:1"), client.WithEngine(engine.Netpoll),
		client.WithTLSConfig(&tls.Config{RootCAs: p.pool}))
	if err == nil || !strings.Contains(err.Error(), "std engine") {
		t.Errorf("client.New with TLS on Netpoll: %v", err)
	}
	// The same for a stream transport (gRPC).
	_, err = client.New(greeterpb.GreeterServiceInfo(), client.WithHostPorts("127.0.0.1:1"), client.WithEngine(engine.Netpoll),
		client.WithStreamTransport(h2transport.New()), client.WithStreamCodec(grpccodec.Default),
		client.WithTLSConfig(&tls.Config{RootCAs: p.pool}))
	if err == nil || !strings.Contains(err.Error(), "std engine") {
		t.Errorf("gRPC client.New with TLS on Netpoll: %v", err)
	}
}
