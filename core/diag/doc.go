// Package diag is Skiff's diagnosis registry: clients, servers and
// governance modules register probes that describe their state, and record
// events in a bounded ring; a Registry is also a net/http handler that
// dumps both as JSON, to mount as one mounts net/http/pprof:
//
//	reg := diag.NewRegistry(0)
//	svr := server.New(server.WithDiagnosis(reg))
//	cli, err := client.New(svc, client.WithDiagnosis(reg))
//	http.Handle("/debug/skiff", reg)
//
// A client registers "client/<service>" (options, connection pools per
// address, the discovery cache, the balancer) and a server "server/<addr>"
// (options, services and methods, open connections). A module with state
// worth showing (a breaker, a limiter) registers its own probe with
// Register, given the Registry by its user, and records its transitions
// with Record.
//
// [PprofLabels] is middleware that labels each call's goroutine with its
// service and method for CPU profiles.
package diag
