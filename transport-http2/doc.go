// Package h2transport is Skiff's HTTP/2 stream transport: client and server
// HTTP/2 connections (h2c with prior knowledge, and TLS with ALPN "h2") on
// the core engine, exposed to the runtime and to stream codecs (gRPC)
// through core/stream's raw-stream SPI. Frames are read with
// golang.org/x/net/http2's Framer and header blocks are coded with its
// hpack package; net/http is not used.
//
// Importing the package registers the protocol with the default options
// (stream.Register), so a Skiff server sniffs the HTTP/2 client preface on
// its port. [New] returns a protocol with other options, for
// server.WithStreamProtocols or client.WithStreamTransport. [TLSConfig]
// prepares a *tls.Config for HTTP/2 (ALPN "h2", TLS 1.2 or later).
//
// What a connection does:
//
//   - Preface and SETTINGS exchange, stream states (RFC 9113 section 5.1),
//     HEADERS + CONTINUATION, trailers and trailers-only responses.
//   - Flow control: a stream window (initially 64 KiB) given back as the
//     application reads, so a slow reader holds at most one window per
//     stream; a connection window (initially 1 MiB) given back as frames
//     arrive, except for data still waiting unread in stream buffers, so the
//     connection window also bounds what one connection buffers. Both grow
//     with the bandwidth-delay product each connection measures with PINGs,
//     as in grpc-go, up to [MaxStreamWindow] (4 MiB) and [MaxConnWindow]
//     (16 MiB); [WithInitialWindowSize], [WithConnWindowSize] or
//     [WithDynamicWindows] fix them. Writers block while the peer's windows
//     are closed.
//   - SETTINGS_MAX_CONCURRENT_STREAMS (server default 1000, enforced with
//     REFUSED_STREAM; the client waits for a free slot), a header list size
//     limit (default 16 KiB; a block over it resets the stream with
//     FRAME_SIZE_ERROR, one far over it ends the connection with
//     PROTOCOL_ERROR, a single field longer than the limit with
//     COMPRESSION_ERROR).
//   - Keepalive PINGs on both sides and a server policy against ping floods
//     (GOAWAY ENHANCE_YOUR_CALM "too_many_pings"), a bound on stream resets
//     by the peer (rapid reset: GOAWAY ENHANCE_YOUR_CALM "too_many_resets")
//     and on answers queued for a peer that does not read them
//     ("too_many_control_frames"), RST_STREAM for cancellation and GOAWAY
//     for graceful shutdown. Malformed frames end the connection with the
//     GOAWAY code RFC 9113 gives.
//   - A server connection with no open stream for 10 minutes is closed
//     with GOAWAY ([WithMaxConnectionIdle]; grpc-go's MaxConnectionIdle,
//     which is off there by default).
//   - A memory budget across all server connections of a Protocol
//     (default 256 MiB, [WithStreamMemory]): open streams are charged
//     their state and the data buffered for them, and once the budget is
//     spent new streams are refused with REFUSED_STREAM, first on the
//     connections that hold the most ([Protocol.MemoryStats]).
//
// Writing: frames of all streams go into one connection buffer. A
// goroutine that sends data or ends a stream writes that buffer to the
// socket itself when no write is in progress, else leaves it to the write
// in progress, so frames of many streams share one system call; the frame
// reader never waits for the socket (its answers go through a writer
// goroutine). With more than two streams open, frames go through the
// writer goroutine, which yields once before writing while 16 or more
// streams are busy, so that one write carries every ready stream's frames;
// with fewer it writes at once. NewStream queues the request
// header block; it is sent with the stream's first Flush, CloseSend,
// Header or Read call (or any earlier write on the connection), so a
// request's header and data share one write. Handlers run on
// per-connection worker goroutines that are reused for later streams.
//
// Errors that streams return are *status.Error values: a reset by the peer
// maps its code as gRPC does (CANCEL to Canceled, ENHANCE_YOUR_CALM to
// ResourceExhausted, others to Internal); REFUSED_STREAM, and a GOAWAY that
// left a stream unprocessed, match status.ErrUnsent (code Unavailable: the
// server never saw the stream, so a retry anywhere is safe); a connection
// that closes under an open stream matches status.ErrConnLost (Unavailable);
// a client stream's context gives status.ErrTimeout or status.ErrCanceled;
// NewStream on a closed or going-away connection fails with
// status.ErrUnsent, and a failed handshake with status.ErrConnect.
package h2transport
