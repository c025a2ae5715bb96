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
// Two extension points serve modules beyond middleware: [WithConnHook]
// sees every connection before any byte of it is read and may refuse it (a
// connection limiter), and [WithUnknownMethodHandler] serves, from raw
// payloads (codec.Raw), the calls no registered service has a method for (a
// generic server, a proxy).
package server
