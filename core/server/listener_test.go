package server_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/engine"
	"github.com/skiffrpc/skiff/core/internal/toycodec"
	"github.com/skiffrpc/skiff/core/server"
)

// selfSigned returns a certificate for "localhost" and 127.0.0.1 and a pool
// that trusts it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// tlsListener returns a crypto/tls listener on 127.0.0.1 and the pool that
// trusts its certificate; the test closes it.
func tlsListener(t *testing.T) (net.Listener, *x509.CertPool) {
	t.Helper()
	cert, pool := selfSigned(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tln := tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}})
	t.Cleanup(func() { _ = tln.Close() })
	return tln, pool
}

// wrappedListener is a listener type Netpoll cannot take a file descriptor
// from, although it accepts plain TCP connections.
type wrappedListener struct{ net.Listener }

// A listener the default Netpoll engine cannot serve makes Start fail with
// an error that says what to do, instead of starting a server that accepts
// connections and serves nothing.
func TestStartRejectsListenerNetpollCannotServe(t *testing.T) {
	if engine.Default.Name() != "netpoll" {
		t.Skipf("default engine is %s", engine.Default.Name())
	}
	tln, _ := tlsListener(t)
	plain, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	for _, ln := range []net.Listener{tln, wrappedListener{plain}} {
		svr := server.New(server.WithListener(ln), server.WithLogger(quiet))
		if err := svr.RegisterService(toycodec.Service(), toycodec.Handler(echo)); err != nil {
			t.Fatal(err)
		}
		err := svr.Start()
		if err == nil {
			_ = svr.Stop()
			t.Fatalf("Start with a %T on the netpoll engine succeeded", ln)
		}
		if !errors.Is(err, engine.ErrUnsupportedListener) {
			t.Errorf("Start error %v does not match engine.ErrUnsupportedListener", err)
		}
		if msg := err.Error(); !strings.Contains(msg, "server.WithEngine(engine.Std)") || !strings.Contains(msg, "WithListener") {
			t.Errorf("Start error %q does not point to server.WithEngine(engine.Std)", msg)
		}
		if a := svr.Addr(); a != nil {
			t.Errorf("Addr = %v after a failed Start", a)
		}
		if err := svr.Stop(); err != nil {
			t.Errorf("Stop after a failed Start: %v", err)
		}
	}
}

// tlsEngine is the std engine whose client connections speak TLS, so a
// framed client can call a server behind a TLS listener.
type tlsEngine struct {
	engine.Engine
	cfg *tls.Config
}

func (e tlsEngine) Dial(network, address string, timeout time.Duration) (engine.Conn, error) {
	d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: timeout}, Config: e.cfg}
	nc, err := d.Dial(network, address)
	if err != nil {
		return nil, err
	}
	return engine.NewStdConn(nc), nil
}

// The std engine serves a TLS listener.
func TestStdEngineServesTLSListener(t *testing.T) {
	tln, pool := tlsListener(t)
	svr := server.New(server.WithListener(tln), server.WithEngine(engine.Std), server.WithLogger(quiet))
	if err := svr.RegisterService(toycodec.Service(), toycodec.Handler(echo)); err != nil {
		t.Fatal(err)
	}
	if err := svr.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svr.Stop() })
	cli := newClient(t, svr.Addr().String(),
		client.WithEngine(tlsEngine{Engine: engine.Std, cfg: &tls.Config{RootCAs: pool, ServerName: "localhost"}}))
	var out toycodec.Bytes
	if err := cli.Call(context.Background(), "Echo", &toycodec.Bytes{B: []byte("over tls")}, &out); err != nil {
		t.Fatal(err)
	}
	if string(out.B) != "over tls" {
		t.Fatalf("echo = %q", out.B)
	}
	// A client without TLS gets no reply from the TLS listener.
	plain := newClient(t, svr.Addr().String(), client.WithEngine(engine.Std), client.WithRPCTimeout(time.Second))
	if err := plain.Call(context.Background(), "Echo", &toycodec.Bytes{B: []byte("x")}, &out); err == nil {
		t.Fatal("a plain call to a TLS listener succeeded")
	}
}
