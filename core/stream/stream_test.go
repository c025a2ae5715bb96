package stream_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"testing"

	"github.com/skiffrpc/skiff/core/stream"
)

func TestHeader(t *testing.T) {
	var h stream.Header
	h.Add("a", "1")
	h.Add("b", "2")
	h.Add("a", "3")
	if got := h.Get("a"); got != "1" {
		t.Errorf("Get(a) = %q", got)
	}
	if got := h.Values("a"); !reflect.DeepEqual(got, []string{"1", "3"}) {
		t.Errorf("Values(a) = %q", got)
	}
	h.Set("a", "4")
	if want := (stream.Header{{"b", "2"}, {"a", "4"}}); !reflect.DeepEqual(h, want) {
		t.Errorf("after Set: %v", h)
	}
	h.Del("b")
	if h.Get("b") != "" || len(h) != 1 {
		t.Errorf("after Del: %v", h)
	}
}

// msgs is a ServerStream and ClientStream over in-memory queues.
type msgs struct {
	in, out []string
	closed  bool
}

func (m *msgs) Context() context.Context { return context.Background() }
func (m *msgs) SendMsg(v any) error {
	m.out = append(m.out, *v.(*string))
	return nil
}
func (m *msgs) RecvMsg(v any) error {
	if len(m.in) == 0 {
		return io.EOF
	}
	*v.(*string), m.in = m.in[0], m.in[1:]
	return nil
}
func (m *msgs) SetHeader(stream.Header) error  { return nil }
func (m *msgs) SendHeader(stream.Header) error { return nil }
func (m *msgs) SetTrailer(stream.Header)       {}
func (m *msgs) CloseSend() error               { m.closed = true; return nil }
func (m *msgs) Header() (stream.Header, error) { return nil, nil }
func (m *msgs) Trailer() stream.Header         { return nil }

func TestGenericStreams(t *testing.T) {
	m := &msgs{in: []string{"x", "y"}}
	var bidi stream.BidiStreamingServer[string, string] = &stream.GenericServerStream[string, string]{ServerStream: m}
	for {
		r, err := bidi.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		up := *r + "!"
		if err := bidi.Send(&up); err != nil {
			t.Fatal(err)
		}
	}
	if !reflect.DeepEqual(m.out, []string{"x!", "y!"}) {
		t.Fatalf("sent %q", m.out)
	}

	c := &msgs{in: []string{"done"}}
	var cs stream.ClientStreamingClient[string, string] = &stream.GenericClientStream[string, string]{ClientStream: c}
	a := "a"
	if err := cs.Send(&a); err != nil {
		t.Fatal(err)
	}
	r, err := cs.CloseAndRecv()
	if err != nil || *r != "done" || !c.closed || !reflect.DeepEqual(c.out, []string{"a"}) {
		t.Fatalf("CloseAndRecv = %v, %v; closed %v, sent %q", r, err, c.closed, c.out)
	}
}

func ExampleHeader() {
	h := stream.Header{{Name: "content-type", Value: "application/grpc"}}
	h.Add("x-user", "1")
	h.Add("x-user", "2")
	fmt.Println(h.Get("content-type"), h.Values("x-user"))
	// Output: application/grpc [1 2]
}
