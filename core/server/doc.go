// Package server is Skiff's RPC server: it accepts connections on the
// engine (Netpoll by default), sniffs each connection's transport protocol
// (Framed, Buffered, TTHeader, ... whichever are registered) and message
// codec, routes each request to a registered service method, runs the
// middleware chain and the handler, and writes the reply.
//
// A server serves any number of services ([Server.RegisterService]); methods
// are routed by the service name when the protocol carries one, else by
// method name. A handler panic becomes an exception reply. [Server.Stop]
// shuts down gracefully: it stops accepting, lets in-flight calls finish
// within the exit wait time, then closes. [Invoker] runs the same chain on
// request bytes without a listener (SDK mode).
//
// Deadlines. When the request carries the caller's time budget (TTHeader's
// timeout, gRPC's grpc-timeout), the handler's context ends when it runs
// out, counted from when the request arrived (codec.Message.Received), not
// from when the server got round to it. A request whose budget ran out
// while it waited (buffered behind a slow in-order call, or behind a
// connection at its WithConnConcurrency bound) is dropped before its
// handler runs: the caller gets a timeout error and the server's diagnosis
// probe counts it (expired_calls; a debug log line too). A handler should
// watch ctx.Done() in long work: Go cannot stop a goroutine, so one that
// ignores its context runs to completion after its caller gave up, as in
// grpc-go and Kitex.
//
// Two extension points serve modules beyond middleware: [WithConnHook]
// sees every connection before any byte of it is read and may refuse it (a
// connection limiter), and [WithUnknownMethodHandler] serves, from raw
// payloads (codec.Raw), the calls no registered service has a method for (a
// generic server, a proxy).
package server
