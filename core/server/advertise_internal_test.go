package server

import (
	"errors"
	"net"
	"testing"
)

func ipNet(s string) *net.IPNet {
	ip, n, err := net.ParseCIDR(s)
	if err != nil {
		panic(err)
	}
	n.IP = ip
	return n
}

func TestPickIPv4(t *testing.T) {
	up := net.FlagUp | net.FlagBroadcast
	tests := []struct {
		name  string
		ifs   []net.Interface
		addrs map[int][]net.Addr
		fail  map[int]bool
		want  string
	}{
		{name: "no interfaces", want: "127.0.0.1"},
		{
			name: "first non-loopback IPv4 of an up interface",
			ifs: []net.Interface{
				{Index: 1, Name: "lo", Flags: net.FlagUp | net.FlagLoopback},
				{Index: 2, Name: "down0", Flags: net.FlagBroadcast},
				{Index: 3, Name: "eth0", Flags: up},
				{Index: 4, Name: "eth1", Flags: up},
			},
			addrs: map[int][]net.Addr{
				1: {ipNet("127.0.0.1/8"), ipNet("::1/128")},
				2: {ipNet("10.9.9.9/8")},
				3: {ipNet("fe80::1/64"), ipNet("169.254.3.4/16"), ipNet("2001:db8::7/64"), &net.IPAddr{IP: net.ParseIP("192.168.1.20")}, ipNet("192.168.1.21/24")},
				4: {ipNet("10.0.0.5/8")},
			},
			want: "192.168.1.20",
		},
		{
			name: "an interface whose addresses fail is skipped",
			ifs:  []net.Interface{{Index: 1, Name: "bad0", Flags: up}, {Index: 2, Name: "eth0", Flags: up}},
			addrs: map[int][]net.Addr{
				1: {ipNet("10.1.1.1/8")},
				2: {ipNet("10.2.2.2/8")},
			},
			fail: map[int]bool{1: true},
			want: "10.2.2.2",
		},
		{
			name:  "IPv6 and link-local only: loopback fallback",
			ifs:   []net.Interface{{Index: 1, Name: "eth0", Flags: up}},
			addrs: map[int][]net.Addr{1: {ipNet("2001:db8::1/64"), ipNet("169.254.0.9/16")}},
			want:  "127.0.0.1",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := pickIPv4(tt.ifs, func(i *net.Interface) ([]net.Addr, error) {
				if tt.fail[i.Index] {
					return nil, errors.New("no addresses")
				}
				return tt.addrs[i.Index], nil
			})
			if got.String() != tt.want || got.To4() == nil {
				t.Errorf("pickIPv4 = %v, want %s", got, tt.want)
			}
		})
	}
}

func TestLocalIPv4(t *testing.T) {
	ip := localIPv4()
	if ip.To4() == nil || ip.IsUnspecified() || (ip.IsLoopback() && !ip.Equal(net.IPv4(127, 0, 0, 1))) {
		t.Fatalf("localIPv4 = %v, want a usable IPv4 address or 127.0.0.1", ip)
	}
}

// otherAddr is a listen address of a type the server does not know.
type otherAddr struct{ network, s string }

func (a otherAddr) Network() string { return a.network }
func (a otherAddr) String() string  { return a.s }

func TestAdvertiseAddr(t *testing.T) {
	local := func() net.IP { return net.IPv4(10, 1, 2, 3) }
	tests := []struct {
		explicit string
		listen   net.Addr
		want     string
	}{
		{"", &net.TCPAddr{IP: net.IPv6unspecified, Port: 8888}, "10.1.2.3:8888"},
		{"", &net.TCPAddr{IP: net.IPv4zero, Port: 8888}, "10.1.2.3:8888"},
		{"", &net.TCPAddr{Port: 8888}, "10.1.2.3:8888"},
		{"", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8888}, "127.0.0.1:8888"},
		{"", &net.TCPAddr{IP: net.ParseIP("2001:db8::5"), Port: 8888}, "[2001:db8::5]:8888"},
		{"", &net.UnixAddr{Net: "unix", Name: "/run/skiff.sock"}, "/run/skiff.sock"},
		{"", otherAddr{"tcp", "[::]:7000"}, "10.1.2.3:7000"},
		{"", otherAddr{"tcp4", ":7000"}, "10.1.2.3:7000"},
		{"", otherAddr{"tcp", "192.168.0.1:7000"}, "192.168.0.1:7000"},
		{"svc.example:9000", &net.TCPAddr{IP: net.IPv6unspecified, Port: 8888}, "svc.example:9000"},
		{"[fd00::1]:9000", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8888}, "[fd00::1]:9000"},
	}
	for _, tt := range tests {
		got := advertiseAddr(tt.explicit, tt.listen, local)
		if got.String() != tt.want {
			t.Errorf("advertiseAddr(%q, %v) = %v, want %s", tt.explicit, tt.listen, got, tt.want)
		}
		want := "tcp"
		if tt.listen.Network() == "unix" && tt.explicit == "" {
			want = "unix"
		}
		if got.Network() != want {
			t.Errorf("advertiseAddr(%q, %v).Network() = %q, want %q", tt.explicit, tt.listen, got.Network(), want)
		}
	}
}

func TestCheckAdvertiseAddress(t *testing.T) {
	for _, ok := range []string{"127.0.0.1:8888", "svc.example:1", "[fd00::1]:65535", "localhost:9000"} {
		if err := checkAdvertiseAddress(ok); err != nil {
			t.Errorf("checkAdvertiseAddress(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"nohost", ":8888", "0.0.0.0:8888", "[::]:8888", "host:0", "host:65536",
		"host:http", "host:", "a/b:1", "[fd00::1]", "1.2.3.4:8888:9"} {
		if err := checkAdvertiseAddress(bad); err == nil {
			t.Errorf("checkAdvertiseAddress(%q) accepted it", bad)
		}
	}
}
