package main

// A bidi framework measures a bidirectional stream of 1 KB messages: each
// caller owns one stream, and one call is one request sent and its answer
// received on it.
type bidiStream interface {
	roundTrip(body string, seq int64) (int, int64, error)
	closeSend()
}

// bidiClient hands each caller a stream of its own.
type bidiClient struct {
	streams chan bidiStream
	closeFn func()
}

// newBidiClient opens conc streams with open.
func newBidiClient(conc int, open func() (bidiStream, error), closeFn func()) (client, error) {
	b := &bidiClient{streams: make(chan bidiStream, conc), closeFn: closeFn}
	for range conc {
		s, err := open()
		if err != nil {
			b.close()
			return nil, err
		}
		b.streams <- s
	}
	return b, nil
}

func (b *bidiClient) call(body string, seq int64) (int, int64, error) {
	s := <-b.streams
	defer func() { b.streams <- s }()
	return s.roundTrip(body, seq)
}

func (b *bidiClient) close() {
	for {
		select {
		case s := <-b.streams:
			s.closeSend()
		default:
			if b.closeFn != nil {
				b.closeFn()
			}
			return
		}
	}
}
