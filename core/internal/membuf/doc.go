// Package membuf is an in-memory transport.Reader and transport.Writer, for
// the server's Invoker (SDK mode) where bytes come from the caller instead
// of a connection.
package membuf
