package client_test

import (
	"strings"
	"testing"

	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/internal/toycodec"
)

// An invalid address given to WithHostPorts is an error from New, not a
// panic inside the option.
func TestWithHostPortsInvalidAddress(t *testing.T) {
	for _, addr := range []string{
		"localhost",       // no port
		"",                // empty
		"localhost:",      // empty port
		"localhost:99999", // port out of range
		"localhost:-1",
		"localhost:0",
		"localhost:no-such-service-name",
		"[::1",
	} {
		t.Run(addr, func(t *testing.T) {
			var (
				cli *client.Client
				err error
			)
			func() {
				defer func() {
					if p := recover(); p != nil {
						t.Fatalf("WithHostPorts(%q) panicked: %v", addr, p)
					}
				}()
				cli, err = client.New(toycodec.Service(), client.WithHostPorts("127.0.0.1:8888", addr))
			}()
			if err == nil {
				_ = cli.Close()
				t.Fatalf("New with WithHostPorts(%q) succeeded", addr)
			}
			if cli != nil {
				t.Errorf("New returned a client with error %v", err)
			}
			if !strings.Contains(err.Error(), "WithHostPorts") || !strings.Contains(err.Error(), `"`+addr+`"`) {
				t.Errorf("error %q does not name the option and the address %q", err, addr)
			}
		})
	}
}

// The first invalid option wins; later options do not hide it.
func TestNewFirstOptionErrorWins(t *testing.T) {
	_, err := client.New(toycodec.Service(),
		client.WithHostPorts("first"), client.WithHostPorts("second"), client.WithHostPorts("127.0.0.1:1"))
	if err == nil || !strings.Contains(err.Error(), `"first"`) || strings.Contains(err.Error(), "second") {
		t.Fatalf("err = %v, want the error about %q", err, "first")
	}
}

func TestWithHostPortsValidAddresses(t *testing.T) {
	for _, addr := range []string{
		"127.0.0.1:8888",
		"localhost:8888",
		"[::1]:8888",
		":8888",
		"/tmp/skiff.sock",
		"./skiff.sock",
		"run/skiff.sock",
	} {
		cli, err := client.New(toycodec.Service(), client.WithHostPorts(addr))
		if err != nil {
			t.Errorf("WithHostPorts(%q): %v", addr, err)
			continue
		}
		_ = cli.Close()
	}
}
