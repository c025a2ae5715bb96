package h2transport_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/skiffrpc/skiff/core/engine"
	"github.com/skiffrpc/skiff/core/stream"
	h2transport "github.com/skiffrpc/skiff/transport-http2"
)

// selfSigned makes a certificate for 127.0.0.1 and a pool that trusts it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "skiff test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

func TestTLS(t *testing.T) {
	cert, pool := selfSigned(t)
	var proto string
	srv := startServer(t, func(s stream.RawServerStream) { echoHandler(s) },
		serverConfig{tls: h2transport.TLSConfig(&tls.Config{Certificates: []tls.Certificate{cert}})})
	clientCfg := h2transport.TLSConfig(&tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})

	t.Run("SkiffClient", func(t *testing.T) {
		d := tls.Dialer{Config: clientCfg}
		nc, err := d.DialContext(context.Background(), "tcp", srv.addr)
		if err != nil {
			t.Fatal(err)
		}
		proto = nc.(*tls.Conn).ConnectionState().NegotiatedProtocol
		if proto != "h2" {
			t.Fatalf("ALPN negotiated %q, want h2", proto)
		}
		cc, err := h2transport.New().NewClientConn(engine.NewStdConn(nc), stream.ClientConnParams{Authority: srv.addr})
		if err != nil {
			t.Fatal(err)
		}
		defer cc.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		body := bytes.Repeat([]byte("tls"), 100000)
		out, _, tr, err := call(ctx, cc, "/tls", body)
		if err != nil || !bytes.Equal(out, body) || tr.Get("x-status") != "ok" {
			t.Fatalf("echo over TLS: %d bytes, %v, %v", len(out), tr, err)
		}
	})
	t.Run("XNetClient", func(t *testing.T) {
		tr := &http2.Transport{TLSClientConfig: clientCfg}
		defer tr.CloseIdleConnections()
		hc := &http.Client{Transport: tr, Timeout: 5 * time.Second}
		resp, err := hc.Post("https://"+srv.addr+"/tls", "application/test", bytes.NewReader([]byte("hello")))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		got, _ := io.ReadAll(resp.Body)
		if string(got) != "hello" || resp.TLS == nil || resp.TLS.NegotiatedProtocol != "h2" {
			t.Fatalf("got %q over %v", got, resp.TLS)
		}
	})
}

// TestTLSConfig checks the ALPN helper.
func TestTLSConfig(t *testing.T) {
	c := h2transport.TLSConfig(&tls.Config{NextProtos: []string{"http/1.1", "h2"}, MinVersion: tls.VersionTLS10})
	if len(c.NextProtos) != 2 || c.NextProtos[0] != "h2" || c.NextProtos[1] != "http/1.1" || c.MinVersion != tls.VersionTLS12 {
		t.Fatalf("TLSConfig: %v %x", c.NextProtos, c.MinVersion)
	}
	if h2transport.TLSConfig(nil).NextProtos[0] != "h2" {
		t.Fatal("TLSConfig(nil)")
	}
}

// TestPlaintextClientToTLSServer: an h2c client that reaches a TLS port
// fails its handshake with an error that names the likely cause, not a
// bare EOF.
func TestPlaintextClientToTLSServer(t *testing.T) {
	cert, _ := selfSigned(t)
	srv := startServer(t, func(s stream.RawServerStream) { echoHandler(s) },
		serverConfig{tls: h2transport.TLSConfig(&tls.Config{Certificates: []tls.Certificate{cert}})})
	nc, err := net.DialTimeout("tcp", srv.addr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	cc, err := h2transport.New().NewClientConn(engine.NewStdConn(nc), stream.ClientConnParams{Authority: srv.addr})
	if err == nil {
		_ = cc.Close()
		t.Fatal("a plaintext handshake with a TLS server succeeded")
	}
	if !strings.Contains(err.Error(), "TLS") {
		t.Errorf("handshake error %q does not name TLS", err)
	}
}
