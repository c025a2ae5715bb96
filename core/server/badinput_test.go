package server_test

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"

	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/internal/toycodec"
	"github.com/skiffrpc/skiff/core/server"
)

// expectClosed reads from c until the server closes it, failing if it does
// not within two seconds. It returns what the server wrote first.
func expectClosed(t *testing.T, c net.Conn) []byte {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("connection not closed by the server: %v", err)
	}
	return b
}

func TestBadInputClosesOnlyThatConnection(t *testing.T) {
	svr := start(t, echo, server.WithMaxFrameSize(1024))
	addr := svr.Addr().String()
	good := newClient(t, addr)
	goodCall := func() {
		t.Helper()
		var got toycodec.Bytes
		if err := good.Call(context.Background(), "Echo", &toycodec.Bytes{B: []byte("ok")}, &got); err != nil || string(got.B) != "ok" {
			t.Fatalf("healthy client after bad input: %q %v", got.B, err)
		}
	}
	goodCall()
	toy := func(typ byte, method string, seq uint32, body string) []byte {
		b := []byte{0xAB, typ}
		b = binary.BigEndian.AppendUint16(b, uint16(len(method)))
		b = append(b, method...)
		b = binary.BigEndian.AppendUint32(b, seq)
		return append(b, body...)
	}
	framed := func(p []byte) []byte { return append(binary.BigEndian.AppendUint32(nil, uint32(len(p))), p...) }
	cases := map[string][]byte{
		"garbage":              []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
		"frame over limit":     append(binary.BigEndian.AppendUint32([]byte{}, 1<<30), 0xAB, 1, 0, 4, 'E', 'c'),
		"truncated envelope":   framed([]byte{0xAB, 1, 0, 200, 'E'}),
		"unknown msg type":     framed(toy(9, "Echo", 1, "x")),
		"reply sent to server": framed(toy(2, "Echo", 1, "x")),
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			// The frame over the limit announces 1 GiB and sends a few
			// bytes of it: the server must refuse on the header alone.
			if _, err := c.Write(in); err != nil {
				t.Fatal(err)
			}
			expectClosed(t, c)
			goodCall()
		})
	}
	// A truncated frame: the header promises more than arrives; the read
	// timeout ends it, and others are served meanwhile.
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write(framed(toy(1, "Echo", 1, "abcdef"))[:10]); err != nil {
		t.Fatal(err)
	}
	goodCall()
}

func TestUnknownMethodKeepsConnection(t *testing.T) {
	svr := start(t, echo)
	cli := newClient(t, svr.Addr().String(), client.WithLongConnection(client.PoolConfig{MaxIdlePerAddress: 1}))
	for i := 0; i < 3; i++ {
		if err := cli.Call(context.Background(), "Nope", &toycodec.Bytes{}, &toycodec.Bytes{}); err == nil {
			t.Fatal("unknown method succeeded")
		}
		var got toycodec.Bytes
		if err := cli.Call(context.Background(), "Echo", &toycodec.Bytes{B: []byte("y")}, &got); err != nil {
			t.Fatal(err)
		}
	}
}
