package server

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// advertisedAddr is an address given to WithAdvertiseAddress, kept
// verbatim.
type advertisedAddr string

func (a advertisedAddr) Network() string { return "tcp" }
func (a advertisedAddr) String() string  { return string(a) }

// checkAdvertiseAddress validates a WithAdvertiseAddress value: a
// "host:port" whose host is not empty and not an unspecified IP (nobody
// can dial 0.0.0.0 or [::]) and whose port is a number from 1 to 65535.
func checkAdvertiseAddress(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("server: WithAdvertiseAddress(%q): want host:port: %w", addr, err)
	}
	if host == "" || strings.ContainsAny(host, "/ ") {
		return fmt.Errorf("server: WithAdvertiseAddress(%q): want a host name or IP address", addr)
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		return fmt.Errorf("server: WithAdvertiseAddress(%q): an unspecified address cannot be dialed", addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("server: WithAdvertiseAddress(%q): the port must be a number from 1 to 65535", addr)
	}
	return nil
}

// advertiseAddr returns the address the server registers: explicit
// verbatim when set; otherwise listen, with an unspecified TCP host
// (0.0.0.0, [::] or empty) replaced by localIP(). A TCP address's
// network is "tcp"; a unix socket address is returned as it is.
func advertiseAddr(explicit string, listen net.Addr, localIP func() net.IP) net.Addr {
	if explicit != "" {
		return advertisedAddr(explicit)
	}
	if a, ok := listen.(*net.TCPAddr); ok {
		if a.IP == nil || a.IP.IsUnspecified() {
			return &net.TCPAddr{IP: localIP(), Port: a.Port}
		}
		return a
	}
	if listen == nil || !strings.HasPrefix(listen.Network(), "tcp") {
		return listen
	}
	host, port, err := net.SplitHostPort(listen.String())
	if err != nil {
		return listen
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = localIP().String()
	}
	// Network "tcp" whatever the listener's ("tcp4", "tcp6"): it is what
	// clients dial (discovery.Instance.Network).
	return advertisedAddr(net.JoinHostPort(host, port))
}

// localIPv4 returns this machine's first non-loopback, non-link-local
// IPv4 address on an up interface, or 127.0.0.1 when there is none.
func localIPv4() net.IP {
	ifs, err := net.Interfaces()
	if err != nil {
		return net.IPv4(127, 0, 0, 1).To4()
	}
	return pickIPv4(ifs, (*net.Interface).Addrs)
}

// pickIPv4 is localIPv4 over the interfaces ifs, in order, whose
// addresses addrs lists.
func pickIPv4(ifs []net.Interface, addrs func(*net.Interface) ([]net.Addr, error)) net.IP {
	for i := range ifs {
		if ifs[i].Flags&net.FlagUp == 0 || ifs[i].Flags&net.FlagLoopback != 0 {
			continue
		}
		as, err := addrs(&ifs[i])
		if err != nil {
			continue
		}
		for _, a := range as {
			var ip net.IP
			switch v := a.(type) {
			case *net.IPNet:
				ip = v.IP
			case *net.IPAddr:
				ip = v.IP
			}
			ip4 := ip.To4()
			if ip4 == nil || ip4.IsLoopback() || ip4.IsUnspecified() || ip4.IsLinkLocalUnicast() {
				continue
			}
			return ip4
		}
	}
	return net.IPv4(127, 0, 0, 1).To4()
}
