// Package engine is the connection layer under Skiff's client and server:
// dialing, accepting, and the zero-copy buffers of each connection.
//
// [Default] is the Netpoll engine (epoll/kqueue event loop, zero-copy
// LinkBuffer) where Netpoll runs, and [Std], built on the standard net
// package, everywhere else (Windows) and for listeners Netpoll cannot take
// (TLS). Both hand a server the same [Conn] and call the same [Handler].
package engine
