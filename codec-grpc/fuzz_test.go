package grpccodec_test

import (
	"bytes"
	"context"
	"io"
	"testing"
	"time"

	grpccodec "github.com/skiffrpc/skiff/codec-grpc"
	"github.com/skiffrpc/skiff/core/status"
	"github.com/skiffrpc/skiff/core/stream"
)

// FuzzFrameReader: any input yields messages within the bound and then an
// error, never a panic.
//
// The same bytes arriving in chunks of cut bytes through a transport that
// lends them (stream.Lender) give the same messages and errors.
func FuzzFrameReader(f *testing.F) {
	f.Add(grpccodec.AppendFrame(grpccodec.AppendFrame(nil, false, []byte("ab")), true, nil), uint16(10), uint8(3))
	f.Add([]byte{0, 0, 0, 1, 0}, uint16(0), uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, bound uint16, cut uint8) {
		plain := grpccodec.NewFrameReader(bytes.NewReader(data), int(bound))
		l := &lender{}
		for rest := data; len(rest) > 0; {
			n := min(len(rest), max(int(cut), 1))
			l.chunks = append(l.chunks, rest[:n])
			rest = rest[n:]
		}
		lent := grpccodec.NewFrameReader(l, int(bound))
		for {
			c1, p1, err1 := plain.Next()
			c2, p2, err2 := lent.Next()
			if c1 != c2 || !bytes.Equal(p1, p2) || (err1 == nil) != (err2 == nil) ||
				err1 != nil && (err1 == io.EOF) != (err2 == io.EOF) || status.CodeOf(err1) != status.CodeOf(err2) {
				t.Fatalf("plain: %v %q %v; lent in chunks of %d: %v %q %v", c1, p1, err1, cut, c2, p2, err2)
			}
			if err1 != nil {
				break
			}
		}
		fr := grpccodec.NewFrameReader(bytes.NewReader(data), int(bound))
		limit := int(bound)
		if limit == 0 {
			limit = grpccodec.DefaultMaxRecvMsgSize
		}
		total := 0
		for {
			_, p, err := fr.Next()
			if err != nil {
				if err == io.EOF && total != len(data) {
					t.Fatalf("EOF after %d of %d bytes", total, len(data))
				}
				return
			}
			if len(p) > limit {
				t.Fatalf("message of %d bytes over %d", len(p), limit)
			}
			total += grpccodec.FrameHeaderLen + len(p)
		}
	})
}

// FuzzParseTimeout: a parsed timeout re-encodes to a value that parses to
// at least as much.
func FuzzParseTimeout(f *testing.F) {
	for _, s := range []string{"1S", "99999999H", "0n", "12x", "1000000u"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := grpccodec.ParseTimeout(s)
		if err != nil {
			return
		}
		if d < 0 {
			t.Fatalf("%q parsed to %v", s, d)
		}
		back, err := grpccodec.ParseTimeout(grpccodec.EncodeTimeout(d))
		if err != nil || (d > 0 && back < d) {
			t.Fatalf("%q: %v re-encoded to %v, %v", s, d, back, err)
		}
	})
}

// FuzzStatusMessage: encoding round-trips and is printable ASCII;
// decoding anything does not panic.
func FuzzStatusMessage(f *testing.F) {
	for _, s := range []string{"", "ok", specialMessage, "%", "%zz%4", "%E2%98%BA"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e := grpccodec.EncodeStatusMessage(s)
		for i := 0; i < len(e); i++ {
			if e[i] < 0x20 || e[i] > 0x7e {
				t.Fatalf("%q encoded to %q", s, e)
			}
		}
		if got := grpccodec.DecodeStatusMessage(e); got != s {
			t.Fatalf("%q round-tripped to %q", s, got)
		}
		_ = grpccodec.DecodeStatusMessage(s)
	})
}

// FuzzServeStream: a request with any path, timeout, metadata and body is
// answered with a status (or reset), never a panic or a hang.
func FuzzServeStream(f *testing.F) {
	f.Add("/test.Echo/Echo", "1S", "AAH+/w", "gzip", grpccodec.AppendFrame(nil, false, []byte{10, 4, 'm', 'e', 't', 'a'}))
	f.Add("/test.Echo/Chat", "", "===", "", grpccodec.AppendFrame(nil, false, []byte{10, 1, 'x'}))
	f.Add("/test.Echo/Count", "10m", "", "", grpccodec.AppendFrame(nil, false, []byte{10, 1, '3'}))
	f.Add("/x", "bad", "a,b", "zip", []byte{1, 0, 0, 0, 3, 1, 2, 3})
	f.Fuzz(func(t *testing.T, path, timeout, bin, enc string, body []byte) {
		conn := serve(grpccodec.Default, echoDispatcher())
		defer conn.Close()
		h := stream.Header{{Name: ":path", Value: path}, {Name: "content-type", Value: "application/grpc"}, {Name: "x-echo-a-bin", Value: bin}}
		if timeout != "" {
			h = append(h, stream.Field{Name: "grpc-timeout", Value: timeout})
		}
		if enc != "" {
			h = append(h, stream.Field{Name: "grpc-encoding", Value: enc})
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		raw, err := conn.NewStream(ctx, h)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = raw.Write(body)
		_ = raw.CloseSend()
		if _, err := raw.Header(); err == nil {
			_, _ = io.Copy(io.Discard, raw)
		}
		raw.Reset(stream.CodeCancel)
	})
}
