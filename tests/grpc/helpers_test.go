package grpcinterop_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/interop"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
)

// serverName is the name in the test certificate.
const serverName = "skiff.test"

// testCert is a self-signed certificate for serverName and 127.0.0.1 that
// is its own CA.
type testCert struct {
	cert   tls.Certificate
	pool   *x509.CertPool
	caFile string // the certificate as PEM, for the interop client's --ca_file
}

var (
	certOnce sync.Once
	certVal  *testCert
	certErr  error
)

// getCert returns the test certificate, made once per process.
func getCert(t *testing.T) *testCert {
	t.Helper()
	certOnce.Do(func() { certVal, certErr = makeCert() })
	if certErr != nil {
		t.Fatal(certErr)
	}
	return certVal
}

func makeCert() (*testCert, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: serverName},
		DNSNames:              []string{serverName},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	caFile := filepath.Join(tmpDir, "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		return nil, err
	}
	return &testCert{
		cert:   tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf},
		pool:   pool,
		caFile: caFile,
	}, nil
}

// serverTLS returns the server side TLS config (ALPN h2).
func (c *testCert) serverTLS() *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{c.cert}, NextProtos: []string{"h2"}, MinVersion: tls.VersionTLS12}
}

// clientTLS returns a client TLS config that trusts the certificate.
func (c *testCert) clientTLS() *tls.Config {
	return &tls.Config{RootCAs: c.pool, ServerName: serverName, NextProtos: []string{"h2"}, MinVersion: tls.VersionTLS12}
}

// startGRPCGo runs grpc-go's interop TestService (interop.NewTestServer) on
// a free loopback port, with TLS when cert is not nil, and stops it at
// cleanup.
func startGRPCGo(t testing.TB, cert *testCert) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var opts []grpc.ServerOption
	if cert != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(cert.serverTLS())))
	}
	s := grpc.NewServer(opts...)
	testgrpc.RegisterTestServiceServer(s, interop.NewTestServer())
	done := make(chan struct{})
	go func() { defer close(done); _ = s.Serve(ln) }()
	t.Cleanup(func() {
		s.Stop()
		<-done
	})
	return ln.Addr().String()
}
