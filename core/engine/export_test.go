package engine

// StdReadBufferCap returns the capacity of a Std connection's read buffer;
// only the goroutine reading c may call it.
func StdReadBufferCap(c Conn) int { return cap(c.(*stdConn).r.buf) }
