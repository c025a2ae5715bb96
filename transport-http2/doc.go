// Package h2transport is Skiff's HTTP/2 stream transport: client and server
// HTTP/2 connections (h2c and TLS with ALPN "h2") on the core engine, exposed
// to the runtime and to stream codecs (gRPC) through core/stream's raw-stream
// SPI. Frames are read with golang.org/x/net/http2's Framer and header blocks
// are coded with its hpack package; net/http is not used.
//
// Importing the package registers the protocol with the default options
// (stream.Register), so a Skiff server sniffs the HTTP/2 client preface on
// its port. [New] returns a protocol with other options, for
// server.WithStreamProtocols or client.WithStreamTransport.
//
// What a connection does:
//
//   - Preface and SETTINGS exchange, stream states (RFC 9113 section 5.1),
//     HEADERS + CONTINUATION, trailers and trailers-only responses.
//   - Flow control: a stream window (default 64 KiB, [WithInitialWindowSize])
//     given back as the application reads, so a slow reader holds at most one
//     window per stream; a connection window (default 1 MiB) given back as
//     frames arrive. Writers block while the peer's windows are closed.
//   - SETTINGS_MAX_CONCURRENT_STREAMS (server default 1000, enforced with
//     REFUSED_STREAM; the client waits for a free slot), a header list size
//     limit (default 16 KiB; a block over it resets the stream with
//     FRAME_SIZE_ERROR, one far over it ends the connection).
//   - Keepalive PINGs on both sides and a server policy against ping floods
//     (GOAWAY ENHANCE_YOUR_CALM "too_many_pings"), a bound on stream resets
//     by the peer (rapid reset: GOAWAY ENHANCE_YOUR_CALM), RST_STREAM for
//     cancellation and GOAWAY for graceful shutdown.
//   - Writes of all streams go into one connection buffer that a writer
//     goroutine flushes, so frames of many streams share a system call.
package h2transport
