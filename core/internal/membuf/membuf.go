package membuf

import (
	"fmt"
	"io"
)

// Reader reads from a fixed byte slice. Next and Peek past the end return
// io.ErrUnexpectedEOF instead of blocking.
type Reader struct {
	buf []byte
	off int
}

// NewReader returns a reader over b; it does not copy b.
func NewReader(b []byte) *Reader { return &Reader{buf: b} }

// Next returns the next n bytes.
func (r *Reader) Next(n int) ([]byte, error) {
	b, err := r.Peek(n)
	if err == nil {
		r.off += n
	}
	return b, err
}

// Peek returns the next n bytes without consuming them.
func (r *Reader) Peek(n int) ([]byte, error) {
	if n < 0 || n > len(r.buf)-r.off {
		return nil, io.ErrUnexpectedEOF
	}
	return r.buf[r.off : r.off+n : r.off+n], nil
}

// Skip consumes n bytes.
func (r *Reader) Skip(n int) error {
	_, err := r.Next(n)
	return err
}

// Release is a no-op: the bytes belong to the caller.
func (r *Reader) Release() error { return nil }

// Len returns the unread length.
func (r *Reader) Len() int { return len(r.buf) - r.off }

// Writer collects written bytes.
type Writer struct {
	buf []byte
}

// Malloc reserves n bytes. Like a connection's writer, it does not clear
// them: the caller writes every byte it reserves.
func (w *Writer) Malloc(n int) ([]byte, error) {
	if n < 0 {
		return nil, fmt.Errorf("membuf: negative length %d", n)
	}
	l := len(w.buf)
	if cap(w.buf)-l < n {
		nb := make([]byte, l, max(2*cap(w.buf), l+n, 512))
		copy(nb, w.buf)
		w.buf = nb
	}
	w.buf = w.buf[:l+n]
	return w.buf[l : l+n : l+n], nil
}

// WriteBinary appends b.
func (w *Writer) WriteBinary(b []byte) (int, error) {
	w.buf = append(w.buf, b...)
	return len(b), nil
}

// MallocLen returns the number of bytes written.
func (w *Writer) MallocLen() int { return len(w.buf) }

// Flush is a no-op.
func (w *Writer) Flush() error { return nil }

// Bytes returns what was written.
func (w *Writer) Bytes() []byte { return w.buf }

// Truncate drops everything written after the first n bytes.
func (w *Writer) Truncate(n int) { w.buf = w.buf[:n] }

// MallocAck implements conn.MallocAcker: Truncate, checked.
func (w *Writer) MallocAck(n int) error {
	if n < 0 || n > len(w.buf) {
		return fmt.Errorf("membuf: MallocAck(%d) with %d bytes written", n, len(w.buf))
	}
	w.Truncate(n)
	return nil
}

// Swap returns the written bytes and continues writing into spare's
// storage, emptied.
func (w *Writer) Swap(spare []byte) []byte {
	b := w.buf
	w.buf = spare[:0]
	return b
}
