package h2transport

// RecvWindows returns the receive windows of the connection of a raw
// stream of this package (client or server): the window of its new
// streams, the connection window, and the DATA bytes its streams buffer
// unread.
func RecvWindows(s any) (streamWin, connWin, unread int64) {
	var c *conn
	switch s := s.(type) {
	case *serverStream:
		c = s.c
	case *clientStream:
		c = s.c
	default:
		panic("not a stream of h2transport")
	}
	c.fmu.Lock()
	defer c.fmu.Unlock()
	return c.streamWin.Load(), c.connWin, c.unread
}

// BDPPing is the payload of the PINGs that measure the bandwidth-delay
// product.
var BDPPing = bdpPing

// Handlers returns how many stream handlers of a server connection of this
// package (what NewServerConn returned) have been dispatched and not yet
// returned.
func Handlers(sc any) int {
	c := sc.(*serverConn).c
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.handlers
}
