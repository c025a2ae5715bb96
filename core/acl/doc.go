// Package acl is access control for clients and servers, as Kitex's
// WithACLRules: rules look at each call before it goes further and may
// reject it. A rejected call ends with a *status.Error of code
// PermissionDenied, which every protocol carries to the caller (gRPC's
// status, the code field Skiff adds to a Thrift or Kitex Protobuf
// exception); on a server the handler is never invoked, on a client
// nothing is sent.
//
// Install the rules as middleware, first so that nothing runs before them:
//
//	svr := server.New(server.WithMiddleware(acl.Middleware(denyUnknownCallers)))
//	cli, err := client.New(svc, client.WithMiddleware(acl.Middleware(onlyDuringBusinessHours)))
//
// A rule reads what it needs from the context: callinfo.From(ctx) gives
// the service and method, the peer's address (Info.RemoteAddr, on a
// server), the request metadata (Info.Request, carried by TTHeader and
// gRPC alike: the place for a token) and the caller's name (Info.Caller,
// which TTHeader carries and gRPC does not).
package acl
