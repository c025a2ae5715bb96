package ttheader_test

import (
	"errors"
	"io"
)

// memReader is a conn.Reader over a byte slice.
type memReader struct{ b []byte }

func newMemReader(b []byte) *memReader { return &memReader{b: b} }

func (r *memReader) Next(n int) ([]byte, error) {
	if n < 0 || n > len(r.b) {
		return nil, io.ErrUnexpectedEOF
	}
	p := r.b[:n:n]
	r.b = r.b[n:]
	return p, nil
}

func (r *memReader) Peek(n int) ([]byte, error) {
	if n < 0 || n > len(r.b) {
		return nil, io.ErrUnexpectedEOF
	}
	return r.b[:n:n], nil
}

func (r *memReader) Skip(n int) error { _, err := r.Next(n); return err }
func (r *memReader) Release() error   { return nil }
func (r *memReader) Len() int         { return len(r.b) }

func errIsEOF(err error) bool { return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) }
