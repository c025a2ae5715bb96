package grpccodec_test

import (
	"bytes"
	"errors"
	"io"
	"math"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	grpccodec "github.com/skiffrpc/skiff/codec-grpc"
	"github.com/skiffrpc/skiff/core/status"
	"github.com/skiffrpc/skiff/core/stream"
)

func TestEncodeTimeout(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{0, "0n"}, {-time.Second, "0n"}, {1, "1n"}, {99_999_999, "99999999n"},
		{100_000_000, "100000u"}, {100_000_001, "100001u"}, // rounded up
		{time.Second, "1000000u"}, {100 * time.Second, "100000m"},
		{99_999_999 * time.Millisecond, "99999999m"}, {100_000 * time.Second, "100000S"},
		{30 * 24 * time.Hour, "2592000S"}, {5000 * time.Hour, "18000000S"},
		{math.MaxInt64, "2562048H"},
	} {
		if got := grpccodec.EncodeTimeout(tc.d); got != tc.want {
			t.Errorf("EncodeTimeout(%v) = %q, want %q", tc.d, got, tc.want)
		}
		if tc.d > 0 {
			back, err := grpccodec.ParseTimeout(tc.want)
			if err != nil || back < tc.d {
				t.Errorf("ParseTimeout(%q) = %v, %v: less than %v", tc.want, back, err, tc.d)
			}
		}
	}
}

func TestParseTimeout(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"1H": time.Hour, "2M": 2 * time.Minute, "3S": 3 * time.Second, "4m": 4 * time.Millisecond,
		"5u": 5 * time.Microsecond, "6n": 6, "00000007S": 7 * time.Second, "99999999H": math.MaxInt64, "0n": 0,
	} {
		got, err := grpccodec.ParseTimeout(in)
		if err != nil || got != want {
			t.Errorf("ParseTimeout(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "1", "S", "123456789S", "1x", "-1S", "1.5S", " 1S", "1s"} {
		if _, err := grpccodec.ParseTimeout(in); status.CodeOf(err) != status.Internal {
			t.Errorf("ParseTimeout(%q): %v", in, err)
		}
	}
}

func TestStatusMessageEncoding(t *testing.T) {
	for in, want := range map[string]string{
		"":                 "",
		"plain text":       "plain text",
		"100%":             "100%25",
		"a\tb\n":           "a%09b%0A",
		"é":                "%C3%A9",
		"~\x7f":            "~%7F",
		specialMessage[:6]: "%09%0Atest",
	} {
		if got := grpccodec.EncodeStatusMessage(in); got != want {
			t.Errorf("Encode(%q) = %q, want %q", in, got, want)
		}
		if back := grpccodec.DecodeStatusMessage(want); back != in {
			t.Errorf("Decode(%q) = %q, want %q", want, back, in)
		}
	}
	// Decoding is tolerant.
	for in, want := range map[string]string{
		"%": "%", "%4": "%4", "%zz": "%zz", "%e2%98%ba": "☺", "a%2": "a%2", "%%41": "%A",
	} {
		if got := grpccodec.DecodeStatusMessage(in); got != want {
			t.Errorf("Decode(%q) = %q, want %q", in, got, want)
		}
	}
	if allocs := testing.AllocsPerRun(100, func() { _ = grpccodec.EncodeStatusMessage("no encoding needed") }); allocs != 0 {
		t.Errorf("%v allocations for a plain message", allocs)
	}
}

func TestFrameReader(t *testing.T) {
	var wire []byte
	msgs := [][]byte{[]byte("one"), {}, bytes.Repeat([]byte("x"), 10000), []byte("four")}
	for i, m := range msgs {
		wire = grpccodec.AppendFrame(wire, i == 3, m)
	}
	for name, r := range map[string]io.Reader{
		"whole":    bytes.NewReader(wire),
		"one byte": iotest.OneByteReader(bytes.NewReader(wire)),
		"half":     iotest.HalfReader(bytes.NewReader(wire)),
		"eof data": iotest.DataErrReader(bytes.NewReader(wire)),
	} {
		fr := grpccodec.NewFrameReader(r, 0)
		for i, want := range msgs {
			comp, got, err := fr.Next()
			if err != nil || !bytes.Equal(got, want) || comp != (i == 3) {
				t.Fatalf("%s: message %d: %v %d bytes, %v", name, i, comp, len(got), err)
			}
		}
		if _, _, err := fr.Next(); err != io.EOF {
			t.Fatalf("%s: end: %v", name, err)
		}
	}
	// Truncated inside the prefix and inside the payload.
	for _, n := range []int{3, len(wire) - 1} {
		fr := grpccodec.NewFrameReader(bytes.NewReader(wire[:n]), 0)
		var err error
		for err == nil {
			_, _, err = fr.Next()
		}
		if status.CodeOf(err) != status.Internal || !errors.Is(err, status.ErrProtocol) {
			t.Errorf("truncated at %d: %v", n, err)
		}
	}
	// Too long, by the prefix alone: nothing is allocated for it.
	big := []byte{0, 0xff, 0xff, 0xff, 0xff}
	fr := grpccodec.NewFrameReader(bytes.NewReader(big), 1<<20)
	if _, _, err := fr.Next(); status.CodeOf(err) != status.ResourceExhausted {
		t.Errorf("over max: %v", err)
	}
	// A bad flag.
	fr = grpccodec.NewFrameReader(bytes.NewReader([]byte{2, 0, 0, 0, 0}), 0)
	if _, _, err := fr.Next(); status.CodeOf(err) != status.Internal {
		t.Errorf("bad flag: %v", err)
	}
	// A reader error is returned as it is.
	boom := errors.New("boom")
	fr = grpccodec.NewFrameReader(iotest.ErrReader(boom), 0)
	if _, _, err := fr.Next(); err != boom {
		t.Errorf("reader error: %v", err)
	}
}

func TestMD(t *testing.T) {
	md := grpccodec.Pairs("K", "1", "k", "2", "odd")
	if got := md.Get("k"); len(got) != 2 || got[1] != "2" || len(md) != 1 {
		t.Fatalf("Pairs: %v", md)
	}
	md.Append("New", "a")
	md.Set("k", "3")
	c := md.Copy()
	c.Append("k", "4")
	if len(md.Get("k")) != 1 || len(c.Get("K")) != 2 || md.Get("new")[0] != "a" {
		t.Fatalf("Copy/Set/Append: %v %v", md, c)
	}
	j := grpccodec.Join(md, c)
	if len(j.Get("k")) != 3 {
		t.Fatalf("Join: %v", j)
	}
	h := grpccodec.FromHeader(stream.Header{{Name: "A", Value: "1"}, {Name: "a", Value: "2"}})
	if len(h.Get("a")) != 2 || len(grpccodec.FromHeader(h.Header()).Get("a")) != 2 {
		t.Fatalf("FromHeader/Header: %v", h)
	}
	if _, ok := grpccodec.FromIncomingContext(t.Context()); ok {
		t.Fatal("incoming metadata outside a call")
	}
	in := grpccodec.NewIncomingContext(t.Context(), grpccodec.Pairs("x", "y"))
	if md, ok := grpccodec.FromIncomingContext(in); !ok || md.Get("x")[0] != "y" {
		t.Fatal("NewIncomingContext")
	}
	if err := grpccodec.SetHeader(t.Context(), md); status.CodeOf(err) != status.Internal {
		t.Fatal("SetHeader outside a call")
	}
}

func TestCodeFromHTTPStatus(t *testing.T) {
	if grpccodec.CodeFromHTTPStatus(404) != status.Unimplemented || grpccodec.CodeFromHTTPStatus(418) != status.Unknown {
		t.Fatal()
	}
	if !strings.HasPrefix(grpccodec.DefaultUserAgent, "grpc-go-compatible skiff/") {
		t.Fatal(grpccodec.DefaultUserAgent)
	}
}
