package discovery_test

import (
	"context"
	"strings"
	"testing"

	"github.com/skiffrpc/skiff/core/discovery"
)

func TestHTTPResolver(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		network, url, want, err string
	}{
		{"tcp", "http://127.0.0.1:8080/path?q=1", "127.0.0.1:8080", ""},
		{"tcp", "http://127.0.0.1/echo", "127.0.0.1:80", ""},
		{"tcp", "https://127.0.0.1", "127.0.0.1:443", ""},
		{"tcp", "http://[::1]:9000/", "[::1]:9000", ""},
		{"tcp4", "http://localhost:7000/", "127.0.0.1:7000", ""},
		{"tcp4", "http://[::1]:9000/", "", "is not a tcp4 address"},
		{"tcp6", "http://127.0.0.1:9000/", "", "is not a tcp6 address"},
		{"tcp", "thrift://127.0.0.1/", "", `scheme "thrift" has no default`},
		{"tcp", "http://127.0.0.1:0/", "", "port must be a number from 1 to 65535"},
		{"tcp", "/just/a/path", "", "has no host"},
		{"tcp", "http://%zz", "", "invalid URL escape"},
		{"udp", "http://127.0.0.1/", "", `network "udp"`},
	}
	for _, c := range cases {
		got, err := discovery.NewHTTPResolver(c.network).ResolveURL(ctx, c.url)
		switch {
		case c.err == "" && (err != nil || got != c.want):
			t.Errorf("%s %s: %q, %v; want %q", c.network, c.url, got, err, c.want)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%s %s: %q, %v; want an error saying %q", c.network, c.url, got, err, c.err)
		}
	}
}
