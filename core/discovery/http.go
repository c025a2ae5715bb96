package discovery

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strconv"
)

// HTTPResolver turns the URL a call is sent to (client.WithURL) into the
// address to dial, as Kitex's http.Resolver does for callopt.WithURL.
// Implementations must be safe for concurrent use.
type HTTPResolver interface {
	// ResolveURL returns the "host:port" address for rawURL, with host an
	// IP address.
	ResolveURL(ctx context.Context, rawURL string) (string, error)
}

type httpResolver struct{ network string }

// NewHTTPResolver returns the default HTTPResolver. It takes the URL's
// host and port; a URL without a port gets 80 for "http" and 443 for
// "https" (other schemes must give one). An IP host is used as it is; a
// host name is looked up with net.DefaultResolver and the first address
// of the network's family is used: network "tcp" takes any, "tcp4" IPv4
// only, "tcp6" IPv6 only (Kitex's WithIPv4 and WithIPv6). Any other
// network makes every ResolveURL fail.
func NewHTTPResolver(network string) HTTPResolver { return &httpResolver{network: network} }

func (r *httpResolver) ResolveURL(ctx context.Context, rawURL string) (string, error) {
	if r.network != "tcp" && r.network != "tcp4" && r.network != "tcp6" {
		return "", fmt.Errorf("discovery: HTTP resolver network %q is not tcp, tcp4 or tcp6", r.network)
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", fmt.Errorf("discovery: %w", err)
	}
	host, port := u.Hostname(), u.Port()
	if host == "" {
		return "", fmt.Errorf("discovery: URL %q has no host", rawURL)
	}
	if port == "" {
		switch u.Scheme {
		case "http":
			port = "80"
		case "https":
			port = "443"
		default:
			return "", fmt.Errorf("discovery: URL %q has no port and scheme %q has no default", rawURL, u.Scheme)
		}
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", fmt.Errorf("discovery: URL %q: port must be a number from 1 to 65535", rawURL)
	}
	if ip := net.ParseIP(host); ip != nil {
		if !r.family(ip) {
			return "", fmt.Errorf("discovery: URL %q: %s is not a %s address", rawURL, host, r.network)
		}
		return net.JoinHostPort(host, port), nil
	}
	addrs, err := net.DefaultResolver.LookupIPAddr(ctx, host)
	if err != nil {
		return "", fmt.Errorf("discovery: URL %q: %w", rawURL, err)
	}
	for _, a := range addrs {
		if r.family(a.IP) {
			return net.JoinHostPort(a.IP.String(), port), nil
		}
	}
	return "", fmt.Errorf("discovery: URL %q: %w", rawURL, &net.AddrError{Err: "no " + r.network + " address", Addr: host})
}

func (r *httpResolver) family(ip net.IP) bool {
	switch r.network {
	case "tcp4":
		return ip.To4() != nil
	case "tcp6":
		return ip.To4() == nil
	}
	return true
}
