package membuf

import (
	"bytes"
	"testing"
)

func TestWriterMallocKeepsBytesAcrossGrowth(t *testing.T) {
	var w Writer
	var want []byte
	for i := 0; i < 200; i++ {
		n := i % 37
		b, err := w.Malloc(n)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) != n || cap(b) != n {
			t.Fatalf("Malloc(%d) gave len %d cap %d", n, len(b), cap(b))
		}
		for j := range b {
			b[j] = byte(i + j)
			want = append(want, byte(i+j))
		}
		if w.MallocLen() != len(want) {
			t.Fatalf("MallocLen %d, want %d", w.MallocLen(), len(want))
		}
	}
	if !bytes.Equal(w.Bytes(), want) {
		t.Fatal("written bytes changed across growth")
	}
	w.Truncate(10)
	if _, err := w.WriteBinary([]byte("xyz")); err != nil {
		t.Fatal(err)
	}
	if got := w.Bytes(); !bytes.Equal(got, append(want[:10:10], "xyz"...)) {
		t.Fatalf("after Truncate and WriteBinary: %q", got)
	}
	if _, err := w.Malloc(-1); err == nil {
		t.Fatal("Malloc(-1) gave no error")
	}
}
