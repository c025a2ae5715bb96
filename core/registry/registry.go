package registry

import "net"

// Info is what a server registers.
type Info struct {
	// ServiceName is the name clients resolve.
	ServiceName string
	// Addr is the address clients dial.
	Addr net.Addr
	// Weight is the balancing weight; 0 means discovery.DefaultWeight.
	Weight int
	// Tags are instance metadata.
	Tags map[string]string
}

// Registry registers server instances. Implementations must be safe for
// concurrent use.
type Registry interface {
	// Register announces info; the server calls it after it starts listening.
	Register(info *Info) error
	// Deregister withdraws info; the server calls it first when it stops.
	Deregister(info *Info) error
}
