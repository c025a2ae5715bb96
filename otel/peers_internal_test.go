package skiffotel

import (
	"net"
	"testing"

	"go.opentelemetry.io/otel/attribute"
)

// TestPeerAttrs: the cached peer address reads as net.IP.String would
// print it (IPv4 in either length, IPv6), and repeated calls neither
// allocate nor grow the cache.
func TestPeerAttrs(t *testing.T) {
	in := &instr{}
	for _, tc := range []struct {
		addr net.Addr
		want string
	}{
		{&net.TCPAddr{IP: net.IPv4(127, 0, 0, 11), Port: 7}, "127.0.0.11"},       // 16-byte form
		{&net.TCPAddr{IP: net.IPv4(127, 0, 0, 12).To4(), Port: 7}, "127.0.0.12"}, // 4-byte form
		{&net.TCPAddr{IP: net.ParseIP("2001:db8::1"), Port: 7}, "2001:db8::1"},
		{&net.UnixAddr{Name: "/tmp/s.sock", Net: "unix"}, "/tmp/s.sock"},
	} {
		attrs := in.peerAttrs(nil, tc.addr)
		if len(attrs) == 0 || attrs[0] != attribute.String("network.peer.address", tc.want) {
			t.Errorf("%v: %v, want network.peer.address %q", tc.addr, attrs, tc.want)
		}
		if a, ok := tc.addr.(*net.TCPAddr); ok && (len(attrs) != 2 || attrs[1].Value.AsInt64() != int64(a.Port)) {
			t.Errorf("%v: %v, want network.peer.port %d", tc.addr, attrs, a.Port)
		}
	}
	if got := in.dialedPeerAttrs(nil, "127.0.0.11:9"); len(got) != 2 || got[0].Value.AsString() != "127.0.0.11" || got[1].Value.AsInt64() != 9 {
		t.Errorf("dialed 127.0.0.11:9: %v", got)
	}
	if n := in.peers.n.Load(); n != 3 {
		t.Errorf("%d cached addresses, want 3", n)
	}
	a := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 11), Port: 7}
	buf := make([]attribute.KeyValue, 0, 2)
	if allocs := testing.AllocsPerRun(100, func() { in.peerAttrs(buf[:0], a) }); allocs != 0 {
		t.Errorf("%v allocations per cached peer address", allocs)
	}
	if n := in.peers.n.Load(); n != 3 {
		t.Errorf("%d cached addresses after repeats, want 3", n)
	}
}
