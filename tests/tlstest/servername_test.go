package tlstest_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	grpccodec "github.com/skiffrpc/skiff/codec-grpc"
	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/server"
	"github.com/skiffrpc/skiff/examples/echo"
	"github.com/skiffrpc/skiff/examples/greeter/greeterpb"
	h2transport "github.com/skiffrpc/skiff/transport-http2"
)

// fixedResolver resolves every URL to one address.
type fixedResolver string

func (r fixedResolver) ResolveURL(context.Context, string) (string, error) { return string(r), nil }

// TestTLSServerNameFromURL: a call made with WithURL verifies the server's
// certificate against the URL's host name, as an HTTPS client does, while
// a call to the bare address verifies against the IP (which this
// certificate does not name).
func TestTLSServerNameFromURL(t *testing.T) {
	const name = "echo.skiff.test"
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(9), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		DNSNames: []string{name}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	roots := x509.NewCertPool()
	roots.AddCert(leaf)
	svr, _ := startServer(t, server.WithTLSConfig(&tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}))
	addr := svr.Addr().String()
	_, port, _ := net.SplitHostPort(addr)
	url := "https://" + name + ":" + port + "/echo"
	opts := []client.Option{client.WithHostPorts(addr), client.WithTLSConfig(&tls.Config{RootCAs: roots}),
		client.WithHTTPResolver(fixedResolver(addr)), client.WithRPCTimeout(3 * time.Second)}

	ctx := context.Background()
	t.Run("framed", func(t *testing.T) {
		cli, err := client.New(echo.ServiceInfo(), opts...)
		if err != nil {
			t.Fatal(err)
		}
		defer cli.Close()
		ec := echo.NewClient(cli)
		if _, err := ec.Echo(ctx, &echo.EchoRequest{Message: "by name"}, client.WithURL(url)); err != nil {
			t.Fatalf("WithURL %s: %v", url, err)
		}
		// A fresh client, so no connection made by name is reused.
		cli2, err := client.New(echo.ServiceInfo(), opts...)
		if err != nil {
			t.Fatal(err)
		}
		defer cli2.Close()
		_, err = echo.NewClient(cli2).Echo(ctx, &echo.EchoRequest{Message: "by IP"})
		if err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Fatalf("a call to the bare IP verified a certificate naming only %s: %v", name, err)
		}
	})
	t.Run("grpc", func(t *testing.T) {
		cli, err := client.New(greeterpb.GreeterServiceInfo(), append(opts,
			client.WithStreamTransport(h2transport.New()), client.WithStreamCodec(grpccodec.Default))...)
		if err != nil {
			t.Fatal(err)
		}
		defer cli.Close()
		if _, err := greeterpb.NewGreeterSkiffClient(cli).SayHello(ctx, &greeterpb.HelloRequest{Name: "x"}, client.WithURL(url)); err != nil {
			t.Fatalf("WithURL %s over gRPC: %v", url, err)
		}
	})
}
