package ttheader

// DefaultStreamWindow is the flow-control window of a ttstream stream in
// each direction between Skiff peers: 1 MiB.
const DefaultStreamWindow = 1 << 20

// streamChunk is the largest data frame that RawStream Write and Flush
// send; WriteMsg sends a message as one frame whatever its size.
const streamChunk = 64 << 10

// StreamOption configures a [StreamProtocol].
type StreamOption interface{ apply(*streamOptions) }

type streamOptions struct {
	window   int
	maxFrame int
}

type streamOptionFunc func(*streamOptions)

func (f streamOptionFunc) apply(o *streamOptions) { f(o) }

// WithStreamWindow sets the receive window of each stream in bytes
// (default [DefaultStreamWindow]); 0 turns flow control off, as in Kitex.
// Flow control only runs between two peers that both have it on: a
// client announces its window (int key [KeyFlowWindow]) on the meta frame
// it sends on stream 0 when it connects and on each header frame, and a
// server that has it on answers on stream 0 with its own window. Kitex
// peers ignore both, so toward Kitex it stays off.
func WithStreamWindow(n int) StreamOption {
	return streamOptionFunc(func(o *streamOptions) {
		if n >= 0 {
			o.window = n
		}
	})
}

// WithStreamMaxFrameSize bounds the LENGTH of a received frame (default
// 16 MiB, transport.DefaultMaxFrameSize). A larger frame is a protocol
// error that closes the connection.
func WithStreamMaxFrameSize(n int) StreamOption {
	return streamOptionFunc(func(o *streamOptions) {
		if n > 0 {
			o.maxFrame = n
		}
	})
}
