//go:build !noskiff

package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"

	skiffclient "github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/engine"
	skiffserver "github.com/skiffrpc/skiff/core/server"
)

// benchCert and benchKey are a self-signed P-256 certificate for 127.0.0.1,
// ::1 and localhost, made for this benchmark only (loopback, never a real
// service), so that server and client processes share it.
const benchCert = `-----BEGIN CERTIFICATE-----
MIIBqjCCAVCgAwIBAgIBATAKBggqhkjOPQQDAjAaMRgwFgYDVQQDEw9za2lmZi1i
ZW5jaG1hcmswHhcNMjYwMTAxMDAwMDAwWhcNNDYwMTAxMDAwMDAwWjAaMRgwFgYD
VQQDEw9za2lmZi1iZW5jaG1hcmswWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAAQT
/2j60K06N+zPqaxm4RePPXRoGWzW46ID4itu3VbYqc7W+wdXxsTpmH7u89qzPsap
qjKrQ0yBiDVyV+dEf/hAo4GGMIGDMA4GA1UdDwEB/wQEAwIChDATBgNVHSUEDDAK
BggrBgEFBQcDATAPBgNVHRMBAf8EBTADAQH/MB0GA1UdDgQWBBS9mBilkdOLWd52
gQ0+1RgnNyjQnTAsBgNVHREEJTAjgglsb2NhbGhvc3SHBH8AAAGHEAAAAAAAAAAA
AAAAAAAAAAEwCgYIKoZIzj0EAwIDSAAwRQIhAMZgNpjGHk8Zdwdn2XH0GVV7ocVd
9EG4pVXp3i96Y/nAAiBZWaj8JjtdJBx5o4gh/lv2vf0X/4ngGck+IbB5goWLWg==
-----END CERTIFICATE-----
`

const benchKey = `-----BEGIN EC PRIVATE KEY-----
MHcCAQEEII5lgapBm3PXEk3YSCxq6RFqJMPoueB5tqrHmUxEmbRKoAoGCCqGSM49
AwEHoUQDQgAEE/9o+tCtOjfsz6msZuEXjz10aBls1uOiA+Irbt1W2KnO1vsHV8bE
6Zh+7vPasz7Gqaoyq0NMgYg1clfnRH/4QA==
-----END EC PRIVATE KEY-----
`

// serveSkiffTLS serves like serveSkiff, over TLS (server.WithTLSConfig,
// which runs on the std engine).
func serveSkiffTLS(addr string) error {
	pair, err := tls.X509KeyPair([]byte(benchCert), []byte(benchKey))
	if err != nil {
		return err
	}
	return serveSkiffWith(addr, skiffserver.WithTLSConfig(&tls.Config{Certificates: []tls.Certificate{pair}}))
}

// benchClientTLS is a client TLS configuration trusting benchCert.
func benchClientTLS() (*tls.Config, error) {
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM([]byte(benchCert)) {
		return nil, errors.New("bench: bad certificate")
	}
	return &tls.Config{RootCAs: roots}, nil
}

// dialSkiffTTHeaderTLS is dialSkiffTTHeader (pooled) over TLS.
func dialSkiffTTHeaderTLS(addr string, conc int) (client, error) {
	cfg, err := benchClientTLS()
	if err != nil {
		return nil, err
	}
	return dialSkiffTTHeaderWith(addr, conc, skiffclient.WithTLSConfig(cfg))
}

// dialSkiffTTHeaderStd is dialSkiffTTHeader (pooled) on the std engine,
// plaintext: the TLS variant's baseline.
func dialSkiffTTHeaderStd(addr string, conc int) (client, error) {
	return dialSkiffTTHeaderWith(addr, conc, skiffclient.WithEngine(engine.Std))
}
