package thriftcodec_test

import (
	"errors"
	"io"
	"testing"

	"github.com/skiffrpc/skiff/core/transport"
)

// memReader is an in-memory transport.Reader over data. With chunk > 0 the
// bytes "arrive" chunk at a time: Len reports only what has arrived, and a
// Peek or Next of more makes more arrive, as a blocking read would. A read
// past the end of data fails with io.EOF, as a closed connection does.
//
// limit, when set, is the end of the message being read: a read that has to
// wait for bytes (more than Len) beyond it would block forever on a real
// connection, and is recorded in overread.
type memReader struct {
	data     []byte
	pos      int
	avail    int
	chunk    int
	limit    int
	overread bool
	maxPeek  int // the longest Peek
}

var _ transport.Reader = (*memReader)(nil)

func newMemReader(data []byte, chunk int) *memReader {
	r := &memReader{data: data, chunk: chunk}
	if chunk <= 0 {
		r.avail = len(data)
	} else {
		r.avail = min(chunk, len(data))
	}
	return r
}

func (r *memReader) fill(n int) error {
	if n < 0 {
		return errors.New("memReader: negative length")
	}
	if r.avail-r.pos < n && r.limit > 0 && r.pos+n > r.limit {
		r.overread = true
	}
	for r.avail-r.pos < n {
		if r.avail == len(r.data) {
			return io.EOF
		}
		r.avail = min(r.avail+r.chunk, len(r.data))
	}
	return nil
}

func (r *memReader) Next(n int) ([]byte, error) {
	if err := r.fill(n); err != nil {
		return nil, err
	}
	b := r.data[r.pos : r.pos+n : r.pos+n]
	r.pos += n
	return b, nil
}

func (r *memReader) Peek(n int) ([]byte, error) {
	r.maxPeek = max(r.maxPeek, n)
	if err := r.fill(n); err != nil {
		return nil, err
	}
	return r.data[r.pos : r.pos+n : r.pos+n], nil
}

func (r *memReader) Skip(n int) error {
	_, err := r.Next(n)
	return err
}

func (r *memReader) Release() error { return nil }

func (r *memReader) Len() int { return r.avail - r.pos }

// memWriter is an in-memory transport.Writer.
type memWriter struct {
	buf     []byte
	flushed []byte
}

var _ transport.Writer = (*memWriter)(nil)

func (w *memWriter) Malloc(n int) ([]byte, error) {
	w.buf = append(w.buf, make([]byte, n)...)
	return w.buf[len(w.buf)-n:], nil
}

func (w *memWriter) WriteBinary(b []byte) (int, error) {
	w.buf = append(w.buf, b...)
	return len(b), nil
}

func (w *memWriter) MallocLen() int { return len(w.buf) }

func (w *memWriter) Flush() error {
	w.flushed = append(w.flushed, w.buf...)
	w.buf = w.buf[:0]
	return nil
}

func TestMemReader(t *testing.T) {
	r := newMemReader([]byte("abcdef"), 2)
	if r.Len() != 2 {
		t.Fatalf("Len = %d", r.Len())
	}
	b, err := r.Peek(3)
	if err != nil || string(b) != "abc" {
		t.Fatalf("Peek = %q, %v", b, err)
	}
	if b, _ := r.Next(4); string(b) != "abcd" {
		t.Fatalf("Next = %q", b)
	}
	if _, err := r.Next(3); err != io.EOF {
		t.Fatalf("Next past the end: %v", err)
	}
}
