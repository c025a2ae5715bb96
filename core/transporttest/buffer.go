package transporttest

import (
	"fmt"
	"io"

	"github.com/skiffrpc/skiff/core/conn"
	"github.com/skiffrpc/skiff/core/transport"
)

// poison is the byte that fills memory whose contents must not be relied
// on: released read buffers, stale Malloc slices, fresh Malloc slices.
const poison = 0xA5

// Buffer is an in-memory [transport.Reader] and [transport.Writer] over one
// byte queue: what Flush sends becomes readable. The zero value is not
// usable; call [NewBuffer]. A Buffer is not safe for concurrent use.
//
// A Buffer is stricter than a connection so that misuse shows in tests:
//   - Next, Peek and Skip never block; asking for more bytes than are
//     buffered returns io.ErrUnexpectedEOF and consumes nothing.
//   - Release overwrites every byte earlier Next and Peek slices point to
//     (the unread bytes move to new memory).
//   - Malloc returns memory filled with 0xA5, not zeros; the next Malloc,
//     WriteBinary or Flush copies it into the pending bytes and overwrites
//     it, so writes through a stale Malloc slice are lost.
type Buffer struct {
	data    []byte // readable bytes are data[off:]
	off     int
	pending []byte // written and not yet flushed, Malloc slices sealed
	open    []byte // the last Malloc slice, not yet sealed
	flushes int
}

var (
	_ transport.Reader = (*Buffer)(nil)
	_ transport.Writer = (*Buffer)(nil)
	_ conn.MallocAcker = (*Buffer)(nil)
	_ io.Writer        = (*Buffer)(nil)
)

// NewBuffer returns an empty Buffer.
func NewBuffer() *Buffer { return &Buffer{} }

// Next returns the next n bytes and advances past them, or
// io.ErrUnexpectedEOF if fewer are buffered.
func (b *Buffer) Next(n int) ([]byte, error) {
	p, err := b.Peek(n)
	if err == nil {
		b.off += n
	}
	return p, err
}

// Peek returns the next n bytes without advancing, or io.ErrUnexpectedEOF
// if fewer are buffered.
func (b *Buffer) Peek(n int) ([]byte, error) {
	if n < 0 {
		return nil, fmt.Errorf("transporttest: negative length %d", n)
	}
	if n > b.Len() {
		return nil, io.ErrUnexpectedEOF
	}
	return b.data[b.off : b.off+n : b.off+n], nil
}

// Skip advances past n bytes, or returns io.ErrUnexpectedEOF if fewer are
// buffered.
func (b *Buffer) Skip(n int) error {
	_, err := b.Next(n)
	return err
}

// Release drops the consumed bytes and overwrites the memory that earlier
// Next and Peek slices point to.
func (b *Buffer) Release() error {
	rest := append([]byte(nil), b.data[b.off:]...)
	fill(b.data)
	b.data, b.off = rest, 0
	return nil
}

// Len returns the number of readable bytes.
func (b *Buffer) Len() int { return len(b.data) - b.off }

// Malloc reserves n bytes at the end of the pending bytes and returns them,
// filled with 0xA5. The slice is valid until the next Malloc, WriteBinary
// or Flush.
func (b *Buffer) Malloc(n int) ([]byte, error) {
	if n < 0 {
		return nil, fmt.Errorf("transporttest: negative length %d", n)
	}
	b.seal()
	b.open = make([]byte, n)
	fill(b.open)
	return b.open, nil
}

// WriteBinary appends a copy of p to the pending bytes.
func (b *Buffer) WriteBinary(p []byte) (int, error) {
	b.seal()
	b.pending = append(b.pending, p...)
	return len(p), nil
}

// MallocLen returns the number of bytes written since the last Flush.
func (b *Buffer) MallocLen() int { return len(b.pending) + len(b.open) }

// MallocAck keeps the first n pending bytes and drops the rest (what a
// [conn.MallocAcker] does); a dropped Malloc slice is poisoned with 0xA5,
// so that a caller still writing into it shows up.
func (b *Buffer) MallocAck(n int) error {
	if n < 0 || n > b.MallocLen() {
		return fmt.Errorf("transporttest: MallocAck(%d) with %d bytes pending", n, b.MallocLen())
	}
	b.seal()
	b.pending = b.pending[:n]
	return nil
}

// Flush makes the pending bytes readable.
func (b *Buffer) Flush() error {
	b.seal()
	b.data = append(b.data, b.pending...)
	b.pending = b.pending[:0]
	b.flushes++
	return nil
}

// Flushes returns how many times Flush was called.
func (b *Buffer) Flushes() int { return b.flushes }

// Write appends p to the readable bytes directly, as if written and
// flushed; it is how a test feeds raw bytes to a reader. It does not count
// as a Flush.
func (b *Buffer) Write(p []byte) (int, error) {
	b.data = append(b.data, p...)
	return len(p), nil
}

// Bytes returns a copy of the readable bytes without consuming them.
func (b *Buffer) Bytes() []byte { return append([]byte(nil), b.data[b.off:]...) }

// Reset empties the Buffer: readable and pending bytes, and the flush count.
func (b *Buffer) Reset() {
	b.seal()
	fill(b.data)
	*b = Buffer{}
}

// seal moves the open Malloc slice into the pending bytes and overwrites it.
func (b *Buffer) seal() {
	if b.open != nil {
		b.pending = append(b.pending, b.open...)
		fill(b.open)
		b.open = nil
	}
}

func fill(p []byte) {
	for i := range p {
		p[i] = poison
	}
}
