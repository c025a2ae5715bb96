package e2e_test

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	thriftcodec "github.com/skiffrpc/skiff/codec-thrift"
	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/server"
	"github.com/skiffrpc/skiff/core/status"
	"github.com/skiffrpc/skiff/core/transport"
	"github.com/skiffrpc/skiff/examples/echo"
)

// thriftMsg is a strict Thrift Binary message header with an optional body.
func thriftMsg(typ byte, method string, seq int32, body ...byte) []byte {
	b := []byte{0x80, 0x01, 0x00, typ}
	b = binary.BigEndian.AppendUint32(b, uint32(len(method)))
	b = append(b, method...)
	b = binary.BigEndian.AppendUint32(b, uint32(seq))
	return append(b, body...)
}

func framed(p []byte) []byte { return append(binary.BigEndian.AppendUint32(nil, uint32(len(p))), p...) }

// readUntilClosed returns what the server wrote before closing c, and fails
// if it does not close it within 2 s.
func readUntilClosed(t *testing.T, c net.Conn) []byte {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("the server did not close the connection: %v", err)
	}
	return b
}

// Each kind of bad input gets that connection closed (after an exception
// reply where one makes sense) while a healthy client keeps being served.
func TestServerBadInput(t *testing.T) {
	const limit = 64 << 10
	svr := startServer(t, &handler{}, server.WithMaxFrameSize(limit))
	addr := svr.Addr().String()
	_, healthy := newClient(t, addr)
	emptyArgs := []byte{0x00}
	cases := []struct {
		name string
		in   []byte
		// wantException is the TApplicationException type the server must
		// answer with before closing, or -1 for none.
		wantException int32
	}{
		{"frame over limit, body never sent", append(binary.BigEndian.AppendUint32(nil, limit+1), 0x80, 0x01, 0x00, 0x01), -1},
		{"frame over default 16 MiB", append(binary.BigEndian.AppendUint32(nil, 1<<30), 0x80, 0x01, 0x00, 0x01), -1},
		{"garbage", []byte("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 not thrift at all"), -1},
		{"non-strict thrift", framed(append([]byte{0, 0, 0, 4}, "Echo\x01\x00\x00\x00\x01\x00"...)), -1},
		{"method name past the frame", framed([]byte{0x80, 0x01, 0x00, 0x01, 0x7f, 0xff, 0xff, 0xff, 'E'}), -1},
		{"truncated args struct", framed(thriftMsg(1, "Echo", 5, 0x0c, 0x00, 0x01, 0x0b, 0x00, 0x01, 0x00, 0x00, 0x10)), status.TypeProtocolError},
		{"unknown message type", framed(thriftMsg(9, "Echo", 5, emptyArgs...)), -1},
		{"reply sent to a server", framed(thriftMsg(2, "Echo", 5, emptyArgs...)), status.TypeInvalidMessageType},
		{"buffered garbage struct", thriftMsg(1, "Echo", 5, 0x0c, 0x00, 0x01, 0x99, 0x00, 0x01), -1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, addr)
			if _, err := c.Write(tc.in); err != nil {
				t.Fatal(err)
			}
			out := readUntilClosed(t, c)
			if tc.wantException >= 0 {
				if len(out) < 4 {
					t.Fatalf("no exception reply before close")
				}
				if got := exceptionType(t, out[4:]); got != tc.wantException {
					t.Fatalf("exception type %d, want %d", got, tc.wantException)
				}
			}
			checkEcho(t, healthy, 1)
		})
	}
}

// exceptionType decodes a Thrift EXCEPTION message and returns the
// TApplicationException type.
func exceptionType(t *testing.T, b []byte) int32 {
	t.Helper()
	var m = newMsg()
	n, err := thriftcodec.Codec.DecodeEnvelope(b, m)
	if err != nil {
		t.Fatal(err)
	}
	if err := thriftcodec.Codec.DecodePayload(b[n:], m); err != nil {
		t.Fatal(err)
	}
	if m.Err == nil {
		t.Fatalf("reply of type %v is not an exception", m.Type)
	}
	return m.Err.TypeID()
}

// fakeThriftServer answers each framed request with reply(request).
func fakeThriftServer(t *testing.T, reply func(req []byte) []byte) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { ln.Close(); <-done })
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		var hdr [4]byte
		if _, err := io.ReadFull(c, hdr[:]); err != nil {
			return
		}
		req := make([]byte, binary.BigEndian.Uint32(hdr[:]))
		if _, err := io.ReadFull(c, req); err != nil {
			return
		}
		_, _ = c.Write(reply(req))
		_, _ = io.Copy(io.Discard, c)
	}()
	return ln.Addr().String()
}

// The client rejects bad replies with typed errors and drops the connection.
func TestClientBadReplies(t *testing.T) {
	okResult := []byte{0x0c, 0x00, 0x00, 0x0b, 0x00, 0x01, 0, 0, 0, 1, 'x', 0x00, 0x00}
	cases := map[string]func(req []byte) []byte{
		"wrong sequence id":    func([]byte) []byte { return framed(thriftMsg(2, "Echo", 999, okResult...)) },
		"wrong method name":    func(req []byte) []byte { return framed(thriftMsg(2, "Ecko", seqOf(req), okResult...)) },
		"unknown message type": func(req []byte) []byte { return framed(thriftMsg(7, "Echo", seqOf(req), okResult...)) },
		"truncated reply":      func(req []byte) []byte { return framed(thriftMsg(2, "Echo", seqOf(req), okResult[:5]...)) },
		"garbage":              func([]byte) []byte { return []byte("\x00\x00\x00\x08garbage!") },
		"reply over the limit": func([]byte) []byte { return binary.BigEndian.AppendUint32(nil, 1<<31-1) },
	}
	for name, reply := range cases {
		t.Run(name, func(t *testing.T) {
			addr := fakeThriftServer(t, reply)
			_, stub := newClient(t, addr, client.WithTransport(transport.Framed), client.WithRPCTimeout(2*time.Second))
			_, err := stub.Echo(context.Background(), &echo.EchoRequest{Message: "x"})
			if !errors.Is(err, status.ErrProtocol) {
				t.Fatalf("want a protocol error, got %v", err)
			}
		})
	}
}

func seqOf(req []byte) int32 {
	n := binary.BigEndian.Uint32(req[4:])
	return int32(binary.BigEndian.Uint32(req[8+n:]))
}
