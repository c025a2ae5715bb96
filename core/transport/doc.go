// Package transport defines transport protocols: the framing and metadata
// around codec messages on a connection (Framed, Buffered, TTHeader, HTTP/2),
// the zero-copy [Reader] and [Writer] they work on, and a registry by name
// that servers use to sniff the protocol of each new connection.
//
// [Framed] (a big-endian u32 length before each message) lives here because
// every message codec can use it; protocols tied to a codec live in that
// codec's module.
package transport
