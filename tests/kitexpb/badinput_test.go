package kitexpb_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"

	protocodec "github.com/skiffrpc/skiff/codec-protobuf"
	"github.com/skiffrpc/skiff/core/codec"
	"github.com/skiffrpc/skiff/core/server"
	"github.com/skiffrpc/skiff/core/status"
	"github.com/skiffrpc/skiff/core/transport"
	pb "github.com/skiffrpc/skiff/tests/kitexpb/interoppb"
	kpb "github.com/skiffrpc/skiff/tests/kitexpb/kitex_gen/interoppb"
	ttheader "github.com/skiffrpc/skiff/transport-ttheader"
)

// pbMsg builds a Kitex Protobuf message: magic word, method name length
// (nameLen, or the name's length when negative), name, seq id, body.
func pbMsg(magic uint32, nameLen int, method string, seq uint32, body ...byte) []byte {
	if nameLen < 0 {
		nameLen = len(method)
	}
	b := binary.BigEndian.AppendUint32(nil, magic)
	b = binary.BigEndian.AppendUint32(b, uint32(nameLen))
	b = append(b, method...)
	b = binary.BigEndian.AppendUint32(b, seq)
	return append(b, body...)
}

// framed puts a u32 length before p.
func framed(p []byte) []byte { return append(binary.BigEndian.AppendUint32(nil, uint32(len(p))), p...) }

// ttFramed puts p in a TTHeader+Framed frame without key/values, as Kitex
// sends Kitex Protobuf.
func ttFramed(p []byte) []byte {
	b := []byte{0, 0, 0, 0, 0x10, 0x00, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0}
	b = append(b, framed(p)...)
	binary.BigEndian.PutUint32(b, uint32(len(b)-4))
	return b
}

// logRecords is a slog handler that keeps the server's log messages and
// the errors they carry.
type logRecords struct {
	mu   sync.Mutex
	errs []error
	msgs []string
}

func (l *logRecords) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecords) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logRecords) WithGroup(string) slog.Handler            { return l }

func (l *logRecords) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	l.msgs = append(l.msgs, r.Message)
	l.mu.Unlock()
	r.Attrs(func(a slog.Attr) bool {
		if err, ok := a.Value.Any().(error); ok && a.Key == "err" {
			l.mu.Lock()
			l.errs = append(l.errs, err)
			l.mu.Unlock()
		}
		return true
	})
	return nil
}

// waitProtocolError waits for a logged error that matches
// status.ErrProtocol and contains text, or (for a connection whose
// protocol is not recognised, which the server logs with its first bytes)
// a log message that contains text.
func (l *logRecords) waitProtocolError(t *testing.T, text string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		l.mu.Lock()
		for _, err := range l.errs {
			if errors.Is(err, status.ErrProtocol) && strings.Contains(err.Error(), text) {
				l.mu.Unlock()
				return
			}
		}
		for _, m := range l.msgs {
			if strings.Contains(m, text) {
				l.mu.Unlock()
				return
			}
		}
		l.mu.Unlock()
		time.Sleep(10 * time.Millisecond)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	t.Errorf("no protocol error containing %q logged; got %v", text, l.errs)
}

// Bad Kitex Protobuf input closes only its own connection with a typed
// (protocol) error; a Skiff client and a Kitex client keep being served.
// A body that is not protobuf gets a ProtocolError exception first.
func TestServerBadInput(t *testing.T) {
	logs := &logRecords{}
	addr := startSkiff(t, skiffImpl{}, server.WithLogger(slog.New(logs)))
	skiffCli := dialSkiff(t, addr, ttheader.TTHeaderFramed)
	kitexCli := dialKitex(t, addr)
	// Both healthy clients hold open connections while the bad input comes.
	if _, err := skiffCli.Ping(bounded(t), &pb.Empty{}); err != nil {
		t.Fatal(err)
	}
	if _, err := kitexCli.Ping(bounded(t), &kpb.Empty{}); err != nil {
		t.Fatal(err)
	}
	call := uint32(0x90010001)
	for _, tc := range []struct {
		name, logged string
		in           []byte
		exception    bool
	}{
		{"wrong magic in TTHeader+Framed", "no codec recognises", ttFramed(pbMsg(0x90020001, -1, "Echo", 1)), false},
		{"wrong magic in Framed", "unknown protocol", framed(pbMsg(0x91010001, -1, "Echo", 1)), false},
		{"method name length past the frame", "runs past the end", ttFramed(pbMsg(call, 300, "Echo", 1)), false},
		{"method name length huge", "exceeds 4096", ttFramed(pbMsg(call, 1<<31, "Echo", 1)), false},
		{"body not protobuf", "decoding", ttFramed(pbMsg(call, -1, "Echo", 1, 0x0a, 0x7f, 'x')), true},
		{"body with a bad wire type", "decoding", framed(pbMsg(call, -1, "Echo", 1, 0x0f, 0x01)), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := c.Write(tc.in); err != nil {
				t.Fatal(err)
			}
			_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
			reply, err := io.ReadAll(c)
			if err != nil {
				t.Fatalf("connection not closed: %v", err)
			}
			if tc.exception {
				typeID, msg := exceptionIn(t, reply)
				if typeID != status.TypeProtocolError || !strings.Contains(msg, "decode Echo arguments") {
					t.Errorf("exception type %d %q, want ProtocolError", typeID, msg)
				}
			} else if len(reply) != 0 {
				t.Errorf("unexpected reply %x", reply)
			}
			logs.waitProtocolError(t, tc.logged)

			ctx := bounded(t)
			if _, err := skiffCli.Ping(ctx, &pb.Empty{}); err != nil {
				t.Fatalf("healthy Skiff client: %v", err)
			}
			if _, err := kitexCli.Ping(ctx, &kpb.Empty{}); err != nil {
				t.Fatalf("healthy Kitex client: %v", err)
			}
		})
	}
}

// exceptionIn returns the ErrorProto of the Kitex Protobuf exception in
// reply (one TTHeader+Framed or Framed frame).
func exceptionIn(t *testing.T, reply []byte) (int32, string) {
	t.Helper()
	if len(reply) < 8 {
		t.Fatalf("reply %x", reply)
	}
	p := reply[4:]
	if p[0] == 0x10 { // TTHeader: skip the header and the inner length
		p = p[10+4*int(binary.BigEndian.Uint16(p[8:]))+4:]
	}
	var msg codec.Message
	n, err := protocodec.Codec.DecodeEnvelope(p, &msg)
	if err != nil || msg.Type != codec.Exception {
		t.Fatalf("reply %x: %v %v", reply, msg.Type, err)
	}
	if err := protocodec.Codec.DecodePayload(p[n:], &msg); err != nil {
		t.Fatal(err)
	}
	return msg.Err.TypeID(), msg.Err.Message()
}

// fakeServer answers every Framed request on a loopback port with
// reply(seq) and closes the connection.
func fakeServer(t *testing.T, reply func(seq uint32) []byte) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { _ = ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				var h [4]byte
				if _, err := io.ReadFull(c, h[:]); err != nil {
					return
				}
				req := make([]byte, binary.BigEndian.Uint32(h[:]))
				if _, err := io.ReadFull(c, req); err != nil || len(req) < 12 {
					return
				}
				nl := binary.BigEndian.Uint32(req[4:])
				seq := binary.BigEndian.Uint32(req[8+nl:])
				_, _ = c.Write(framed(reply(seq)))
			}()
		}
	}()
	return ln.Addr().String()
}

// A Skiff client that reads a bad Kitex Protobuf reply returns a protocol
// error.
func TestClientBadReplies(t *testing.T) {
	bad := protowire.AppendTag(nil, 1, protowire.BytesType) // EchoResponse.echo, no length
	for _, tc := range []struct {
		name  string
		reply func(seq uint32) []byte
	}{
		{"wrong magic", func(seq uint32) []byte { return pbMsg(0x80010002, -1, "Echo", seq) }},
		{"method name length past the frame", func(seq uint32) []byte { return pbMsg(0x90010002, 99, "Echo", seq) }},
		{"body not protobuf", func(seq uint32) []byte { return pbMsg(0x90010002, -1, "Echo", seq, bad...) }},
		{"exception not ErrorProto", func(seq uint32) []byte { return pbMsg(0x90010003, -1, "Echo", seq, 0x08) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := fakeServer(t, tc.reply)
			cli := dialSkiff(t, addr, transport.Framed)
			_, err := cli.Echo(bounded(t), &pb.EchoRequest{Message: "x"})
			if !errors.Is(err, status.ErrProtocol) {
				t.Errorf("got %T %v, want a protocol error", err, err)
			}
		})
	}
}

// A Skiff client writes Kitex Protobuf as Kitex does: TTHeader protocol id
// 0 (Kitex never writes 0x04 for Kitex Protobuf, for compatibility with
// old peers, and tells the payload by its 0x9001 magic), then the u32
// length of the message, then the message.
func TestClientWritesKitexLayout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan []byte, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- nil
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		var h [4]byte
		if _, err := io.ReadFull(c, h[:]); err != nil {
			got <- nil
			return
		}
		b := make([]byte, binary.BigEndian.Uint32(h[:]))
		_, _ = io.ReadFull(c, b)
		got <- append(h[:], b...)
	}()
	cli := dialSkiff(t, ln.Addr().String(), ttheader.TTHeaderFramed)
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	_, _ = cli.Ping(ctx, &pb.Empty{}) // no reply comes
	frame := <-got
	if len(frame) < 14 || frame[4] != 0x10 || frame[5] != 0x00 {
		t.Fatalf("not a TTHeader frame: %x", frame)
	}
	off := 14 + 4*int(binary.BigEndian.Uint16(frame[12:]))
	if frame[14] != 0 {
		t.Errorf("protocol id 0x%02x, want 0 as Kitex writes", frame[14])
	}
	if inner := binary.BigEndian.Uint32(frame[off:]); int(inner) != len(frame)-off-4 {
		t.Errorf("inner length %d, %d bytes follow", inner, len(frame)-off-4)
	}
	if want := []byte{0x90, 0x01, 0x00, 0x01, 0, 0, 0, 4, 'P', 'i', 'n', 'g'}; !bytes.HasPrefix(frame[off+4:], want) {
		t.Errorf("message %x, want a Kitex Protobuf CALL of Ping", frame[off+4:])
	}
}
