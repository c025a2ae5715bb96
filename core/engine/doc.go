// Package engine is the connection layer under Skiff's client and server:
// dialing, accepting, and the zero-copy buffers of each connection.
//
// [Default] is the Netpoll engine (epoll/kqueue event loop, zero-copy
// LinkBuffer) where Netpoll runs (Linux on amd64, arm64 and loong64; macOS
// and FreeBSD on amd64 and arm64), and [Std], built on the standard net
// package, everywhere else (Windows, other systems and architectures) and
// for listeners Netpoll cannot take (TLS). Both hand a server the same
// [Conn] and call the same [Handler]. [Netpoll] itself is defined only
// where Netpoll runs.
package engine
