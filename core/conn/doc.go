// Package conn is the bottom of Skiff's layering: the connection, reader
// and writer interfaces that engines implement (core/engine) and that
// transports (core/transport, core/stream and the transport modules) read
// and write through. It imports nothing of Skiff's, so a transport never
// depends on an engine, nor an engine on a transport.
package conn
