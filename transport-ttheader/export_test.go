package ttheader

import "github.com/skiffrpc/skiff/core/stream"

// Buffered returns the bytes a stream holds received and not yet read.
func Buffered(s any) int {
	var t *tstream
	switch s := s.(type) {
	case clientStream:
		t = s.tstream
	case serverStream:
		t = s.tstream
	default:
		panic("not a ttstream stream")
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, b := range t.rq {
		n += len(b)
	}
	return n
}

// ServerStreams returns the open streams of a server connection.
func ServerStreams(sc stream.ServerConn) int { return sc.(*tconn).Streams() }
