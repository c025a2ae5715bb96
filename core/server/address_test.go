package server_test

import (
	"context"
	"os"
	"testing"

	"github.com/skiffrpc/skiff/core/internal/toycodec"
	"github.com/skiffrpc/skiff/core/server"
)

// WithAddress takes any address with a '/' as a unix socket path, as its
// documentation and client.WithHostPorts say; a relative path such as
// "run/skiff.sock" was taken for a TCP address.
func TestWithAddressUnixSocketPaths(t *testing.T) {
	t.Chdir(t.TempDir())
	if err := os.Mkdir("run", 0o700); err != nil {
		t.Fatal(err)
	}
	for _, addr := range []string{"run/skiff.sock", "./skiff.sock"} {
		t.Run(addr, func(t *testing.T) {
			svr := start(t, echo, server.WithAddress(addr))
			if got := svr.Addr(); got == nil || got.Network() != "unix" {
				t.Fatalf("Addr = %v, want a unix socket", got)
			}
			cli := newClient(t, addr)
			var out toycodec.Bytes
			if err := cli.Call(context.Background(), "Echo", &toycodec.Bytes{B: []byte("unix")}, &out); err != nil {
				t.Fatal(err)
			}
			if string(out.B) != "unix" {
				t.Fatalf("echo = %q", out.B)
			}
		})
	}
}
