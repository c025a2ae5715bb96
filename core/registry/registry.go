package registry

import "net"

// Info describes one server instance to a registry.
//
// An instance is identified by each of its service names together with its
// address (Addr's Network and String): registering an Info whose names and
// address are already registered replaces that registration (its Weight
// and Tags) instead of adding a second instance, and Deregister removes
// the registrations with those names and that address, whatever the other
// fields say. A Registry must not modify an Info nor keep its Services
// slice or Tags map after the call returns (copy what it keeps); the
// server does not modify them either after Start.
type Info struct {
	// ServiceName is the first of Services. A server fills it in, so a
	// registry that registers an instance under one name only may read
	// ServiceName alone (and then announces the first service only). An
	// Info filled in by hand may set ServiceName and leave Services empty:
	// ServiceName is then the instance's only service.
	ServiceName string
	// Services lists every service the instance serves, each once, by the
	// bare name clients resolve (service.Info.Name, such as
	// "EchoService"), in the order the server registered them. A Registry
	// registers the instance under each of them: read them with
	// [Info.ServiceNames], which also handles an Info that sets only
	// ServiceName.
	Services []string
	// Addr is the advertised address, the one clients dial: a
	// "host:port" for TCP (never an unspecified host such as 0.0.0.0 or
	// [::]) or a unix socket path. Registries read it through Network
	// and String; its dynamic type varies (a *net.TCPAddr, or the
	// verbatim address given to server.WithAdvertiseAddress).
	Addr net.Addr
	// Weight is the balancing weight clients see; 0 means
	// discovery.DefaultWeight. It must not be negative; a Registry may
	// reject a negative weight.
	Weight int
	// Tags are instance metadata clients read with
	// discovery.Instance.Tag; nil means none.
	Tags map[string]string
}

// ServiceNames returns the names the instance is registered under:
// Services, or ServiceName alone when Services is empty, or nil when both
// are empty. The result shares Services' backing array: do not modify it.
func (i *Info) ServiceNames() []string {
	if len(i.Services) > 0 {
		return i.Services
	}
	if i.ServiceName != "" {
		return []string{i.ServiceName}
	}
	return nil
}

// Registry registers server instances in a service registry, where a
// discovery.Resolver finds them. Implementations must be safe for
// concurrent use, including concurrent calls for distinct instances.
type Registry interface {
	// Register announces info under every name of info.ServiceNames. A
	// server calls it once, after its listener is open, with every
	// service it serves; registering the same instance again is not an
	// error and leaves one registration (see Info). A Registry returns an
	// error for a nil info, an info without service names or without Addr.
	Register(info *Info) error
	// Deregister withdraws info's registrations. A server calls it once
	// when it stops, with an Info equal to (not necessarily the same
	// pointer as) the one it registered, before it stops accepting
	// connections; the server calls it even when Register failed, since a
	// registration may have been partial.
	Deregister(info *Info) error
}
