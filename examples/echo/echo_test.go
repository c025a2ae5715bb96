package echo_test

import (
	"bytes"
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/apache/thrift/lib/go/thrift"
	"github.com/skiffrpc/skiff/core/leaktest"

	thriftcodec "github.com/skiffrpc/skiff/codec-thrift"
	"github.com/skiffrpc/skiff/core/codec"
	"github.com/skiffrpc/skiff/examples/echo"
	"github.com/skiffrpc/skiff/examples/echo/internal/apacheecho"
)

func TestMain(m *testing.M) { leaktest.VerifyTestMain(m) }

func ptr[T any](v T) *T { return &v }

// fastStruct is what every struct in the package implements.
type fastStruct interface {
	thriftcodec.FastCodec
	thrift.TStruct
}

// requests are EchoRequest values with at most one map entry, so that the
// encoding is deterministic.
func requests() []*echo.EchoRequest {
	return []*echo.EchoRequest{
		{},
		{Message: "hello ☺"},
		{Message: "x", Seq: ptr[int64](-1)},
		{Message: "x", Seq: ptr[int64](0)},
		{Message: "x", Extra: map[string]string{}},
		{Message: "x", Extra: map[string]string{"k": "v"}},
		{Message: "x", Extra: map[string]string{"": ""}},
		{Message: "x", Blob: []byte{0x00, 0x7f, 0x80, 0xff}},
		{Message: "hello #0 ☺", Seq: ptr[int64](1 << 40), Extra: map[string]string{"k": "v"}, Blob: []byte{1}},
		{Message: strings.Repeat("z", 70000), Blob: bytes.Repeat([]byte{0xab}, 300)},
	}
}

func toApacheRequest(p *echo.EchoRequest) *apacheecho.EchoRequest {
	if p == nil {
		return nil
	}
	return &apacheecho.EchoRequest{Message: p.Message, Seq: p.Seq, Extra: p.Extra, Blob: p.Blob}
}

func toApacheResponse(p *echo.EchoResponse) *apacheecho.EchoResponse {
	if p == nil {
		return nil
	}
	return &apacheecho.EchoResponse{Message: p.Message, Seq: p.Seq, Extra: p.Extra, Blob: p.Blob}
}

func toApacheError(p *echo.EchoError) *apacheecho.EchoError {
	if p == nil {
		return nil
	}
	return &apacheecho.EchoError{Code: p.Code, Reason: p.Reason}
}

func response(r *echo.EchoRequest) *echo.EchoResponse {
	return &echo.EchoResponse{Message: r.Message, Seq: r.Seq, Extra: r.Extra, Blob: r.Blob}
}

// pair is one value of ours and the same value as Apache's generated type,
// plus an empty value of each to decode into.
type pair struct {
	name        string
	ours        fastStruct
	apache      thrift.TStruct
	newOurs     func() fastStruct
	newApache   func() thrift.TStruct
	emptyBinary bool // Apache reads an empty binary back as nil (unset)
}

// writeOnly reports whether p encodes but does not decode, in Apache Thrift
// either: a nil Req is written as an empty EchoRequest, which lacks its
// required field.
func (p pair) writeOnly() bool {
	a, ok := p.ours.(*echo.EchoServiceEchoArgs)
	return ok && a.Req == nil
}

func pairs() []pair {
	var ps []pair
	newReq := func() fastStruct { return &echo.EchoRequest{} }
	newAReq := func() thrift.TStruct { return &apacheecho.EchoRequest{} }
	for _, r := range requests() {
		empty := r.Blob != nil && len(r.Blob) == 0
		ps = append(ps,
			pair{"EchoRequest", r, toApacheRequest(r), newReq, newAReq, empty},
			pair{"EchoResponse", response(r), toApacheResponse(response(r)),
				func() fastStruct { return &echo.EchoResponse{} }, func() thrift.TStruct { return &apacheecho.EchoResponse{} }, empty},
			pair{"EchoServiceEchoArgs", &echo.EchoServiceEchoArgs{Req: r}, &apacheecho.EchoServiceEchoArgs{Req: toApacheRequest(r)},
				func() fastStruct { return &echo.EchoServiceEchoArgs{} }, func() thrift.TStruct { return &apacheecho.EchoServiceEchoArgs{} }, empty},
			pair{"EchoServiceEchoResult", &echo.EchoServiceEchoResult{Success: response(r)},
				&apacheecho.EchoServiceEchoResult{Success: toApacheResponse(response(r))},
				func() fastStruct { return &echo.EchoServiceEchoResult{} }, func() thrift.TStruct { return &apacheecho.EchoServiceEchoResult{} }, empty},
			pair{"EchoServiceFailResult", &echo.EchoServiceFailResult{Success: response(r)},
				&apacheecho.EchoServiceFailResult{Success: toApacheResponse(response(r))},
				func() fastStruct { return &echo.EchoServiceFailResult{} }, func() thrift.TStruct { return &apacheecho.EchoServiceFailResult{} }, empty},
		)
	}
	for _, e := range []*echo.EchoError{{}, {Code: 7, Reason: "requested failure"}, {Code: -1, Reason: "☺"}} {
		ps = append(ps,
			pair{"EchoError", e, toApacheError(e),
				func() fastStruct { return &echo.EchoError{} }, func() thrift.TStruct { return &apacheecho.EchoError{} }, false},
			pair{"EchoServiceFailResult", &echo.EchoServiceFailResult{Err: e}, &apacheecho.EchoServiceFailResult{Err: toApacheError(e)},
				func() fastStruct { return &echo.EchoServiceFailResult{} }, func() thrift.TStruct { return &apacheecho.EchoServiceFailResult{} }, false},
		)
	}
	for _, code := range []int32{0, 7, -1 << 31} {
		ps = append(ps, pair{"EchoServiceFailArgs", &echo.EchoServiceFailArgs{Code: code}, &apacheecho.EchoServiceFailArgs{Code: code},
			func() fastStruct { return &echo.EchoServiceFailArgs{} }, func() thrift.TStruct { return &apacheecho.EchoServiceFailArgs{} }, false})
	}
	for _, m := range []string{"", "ping", strings.Repeat("☺", 1000)} {
		ps = append(ps, pair{"EchoServiceNotifyArgs", &echo.EchoServiceNotifyArgs{Message: m}, &apacheecho.EchoServiceNotifyArgs{Message: m},
			func() fastStruct { return &echo.EchoServiceNotifyArgs{} }, func() thrift.TStruct { return &apacheecho.EchoServiceNotifyArgs{} }, false})
	}
	ps = append(ps,
		pair{"EchoServiceEchoArgs", &echo.EchoServiceEchoArgs{}, &apacheecho.EchoServiceEchoArgs{},
			func() fastStruct { return &echo.EchoServiceEchoArgs{} }, func() thrift.TStruct { return &apacheecho.EchoServiceEchoArgs{} }, false},
		pair{"EchoServiceEchoResult", &echo.EchoServiceEchoResult{}, &apacheecho.EchoServiceEchoResult{},
			func() fastStruct { return &echo.EchoServiceEchoResult{} }, func() thrift.TStruct { return &apacheecho.EchoServiceEchoResult{} }, false},
		pair{"EchoServiceFailResult", &echo.EchoServiceFailResult{}, &apacheecho.EchoServiceFailResult{},
			func() fastStruct { return &echo.EchoServiceFailResult{} }, func() thrift.TStruct { return &apacheecho.EchoServiceFailResult{} }, false},
	)
	return ps
}

// apacheBytes encodes v with Apache Thrift's TBinaryProtocol.
func apacheBytes(t *testing.T, v thrift.TStruct) []byte {
	t.Helper()
	mem := thrift.NewTMemoryBuffer()
	if err := v.Write(context.Background(), thrift.NewTBinaryProtocolConf(mem, nil)); err != nil {
		t.Fatal(err)
	}
	return mem.Bytes()
}

// apacheRead decodes b into v with Apache Thrift's TBinaryProtocol.
func apacheRead(t *testing.T, b []byte, v thrift.TStruct) {
	t.Helper()
	mem := thrift.NewTMemoryBuffer()
	mem.Write(b)
	if err := v.Read(context.Background(), thrift.NewTBinaryProtocolConf(mem, nil)); err != nil {
		t.Fatal(err)
	}
	if mem.Len() != 0 {
		t.Fatalf("%d bytes left after Read", mem.Len())
	}
}

// TestApacheBytes: for every type, FastAppend, our TStruct Write and Apache
// Thrift's generated Write give the same bytes, and FastSize is exact.
func TestApacheBytes(t *testing.T) {
	for i, p := range pairs() {
		want := apacheBytes(t, p.apache)
		fast := p.ours.FastAppend(nil)
		if !bytes.Equal(fast, want) {
			t.Errorf("%d %s: FastAppend\n%x\nApache\n%x", i, p.name, fast, want)
		}
		if slow := apacheBytes(t, p.ours); !bytes.Equal(slow, want) {
			t.Errorf("%d %s: Write\n%x\nApache\n%x", i, p.name, slow, want)
		}
		if n := p.ours.FastSize(); n != len(want) {
			t.Errorf("%d %s: FastSize %d, encoded %d", i, p.name, n, len(want))
		}
	}
}

// TestApacheDecode: our FastRead and Read decode Apache Thrift's bytes, and
// Apache Thrift's generated Read decodes ours, to the same values.
func TestApacheDecode(t *testing.T) {
	for i, p := range pairs() {
		if p.writeOnly() {
			continue
		}
		b := apacheBytes(t, p.apache)
		fast := p.newOurs()
		n, err := fast.FastRead(b)
		if err != nil || n != len(b) {
			t.Fatalf("%d %s: FastRead = %d, %v (of %d bytes)", i, p.name, n, err, len(b))
		}
		slow := p.newOurs()
		apacheRead(t, b, slow)
		if !reflect.DeepEqual(fast, p.ours) || !reflect.DeepEqual(slow, p.ours) {
			t.Fatalf("%d %s: decoded\nfast %+v\nslow %+v\nwant %+v", i, p.name, fast, slow, p.ours)
		}
		theirs := p.newApache()
		apacheRead(t, p.ours.FastAppend(nil), theirs)
		if !p.emptyBinary && !reflect.DeepEqual(theirs, p.apache) {
			t.Fatalf("%d %s: Apache decoded %+v, want %+v", i, p.name, theirs, p.apache)
		}
	}
}

// TestManyMapEntries checks maps of several entries, whose order on the
// wire follows Go's map iteration: decoding gives the same map either way.
func TestManyMapEntries(t *testing.T) {
	extra := map[string]string{}
	for i := range 50 {
		extra[strings.Repeat("k", i)] = strings.Repeat("v", 50-i)
	}
	req := &echo.EchoRequest{Message: "m", Extra: extra}
	fast := req.FastAppend(nil)
	if len(fast) != req.FastSize() || len(fast) != len(apacheBytes(t, toApacheRequest(req))) {
		t.Fatalf("sizes differ: %d, FastSize %d", len(fast), req.FastSize())
	}
	for _, b := range [][]byte{fast, apacheBytes(t, toApacheRequest(req)), apacheBytes(t, req)} {
		got := &echo.EchoRequest{}
		if _, err := got.FastRead(b); err != nil || !reflect.DeepEqual(got, req) {
			t.Fatalf("FastRead = %+v, %v", got, err)
		}
	}
}

// TestFastAppendInPlace checks that FastAppend writes exactly FastSize bytes
// into a buffer with that much room, without reallocating.
func TestFastAppendInPlace(t *testing.T) {
	for i, p := range pairs() {
		n := p.ours.FastSize()
		buf := make([]byte, 3, 3+n)
		out := p.ours.FastAppend(buf)
		if len(out) != 3+n || &out[0] != &buf[0] {
			t.Fatalf("%d %s: FastAppend wrote %d bytes (FastSize %d) or reallocated", i, p.name, len(out)-3, n)
		}
	}
	var nilReq *echo.EchoRequest
	if nilReq.FastSize() != 1 || !bytes.Equal(nilReq.FastAppend(nil), []byte{0}) {
		t.Fatal("a nil struct must encode as an empty struct")
	}
}

func TestRequiredField(t *testing.T) {
	for _, v := range []fastStruct{&echo.EchoRequest{}, &echo.EchoResponse{}} {
		if _, err := v.FastRead([]byte{0}); err == nil {
			t.Errorf("%T: FastRead of a struct without message succeeded", v)
		}
		mem := thrift.NewTMemoryBuffer()
		mem.Write([]byte{0})
		if err := v.Read(context.Background(), thrift.NewTBinaryProtocolConf(mem, nil)); err == nil {
			t.Errorf("%T: Read of a struct without message succeeded", v)
		}
	}
}

// TestCodecRoundTrip sends every method's args and results through
// thriftcodec.Codec, on the fast path and the TStruct path.
func TestCodecRoundTrip(t *testing.T) {
	req := requests()[8]
	for _, tt := range []struct {
		method string
		typ    codec.MessageType
		v      fastStruct
		empty  func() fastStruct
	}{
		{"Echo", codec.Call, &echo.EchoServiceEchoArgs{Req: req}, func() fastStruct { return &echo.EchoServiceEchoArgs{} }},
		{"Echo", codec.Reply, &echo.EchoServiceEchoResult{Success: response(req)}, func() fastStruct { return &echo.EchoServiceEchoResult{} }},
		{"Fail", codec.Call, &echo.EchoServiceFailArgs{Code: 7}, func() fastStruct { return &echo.EchoServiceFailArgs{} }},
		{"Fail", codec.Reply, &echo.EchoServiceFailResult{Err: &echo.EchoError{Code: 7, Reason: "requested failure"}}, func() fastStruct { return &echo.EchoServiceFailResult{} }},
		{"Notify", codec.Oneway, &echo.EchoServiceNotifyArgs{Message: "ping"}, func() fastStruct { return &echo.EchoServiceNotifyArgs{} }},
	} {
		msg := &codec.Message{Type: tt.typ, Method: tt.method, SeqID: 5, Payload: tt.v}
		n := thriftcodec.Codec.Size(msg)
		b, err := thriftcodec.Codec.Append(nil, msg)
		if err != nil || n != len(b) {
			t.Fatalf("%s: Size %d, Append %d bytes, %v", tt.method, n, len(b), err)
		}
		// The TStruct path (Apache's TBinaryProtocol) gives the same bytes.
		slow, err := thriftcodec.Codec.Append(nil, &codec.Message{Type: tt.typ, Method: tt.method, SeqID: 5, Payload: struct{ thrift.TStruct }{tt.v}})
		if err != nil || !bytes.Equal(slow, b) {
			t.Fatalf("%s: TStruct path %x, %v\nfast path %x", tt.method, slow, err, b)
		}
		for _, path := range []string{"fast", "tstruct"} {
			var in codec.Message
			m, err := thriftcodec.Codec.DecodeEnvelope(b, &in)
			if err != nil {
				t.Fatal(err)
			}
			got := tt.empty()
			in.Payload = got
			if path == "tstruct" {
				in.Payload = struct{ thrift.TStruct }{got}
			}
			if err := thriftcodec.Codec.DecodePayload(b[m:], &in); err != nil {
				t.Fatalf("%s %s: %v", tt.method, path, err)
			}
			if in.Method != tt.method || in.Type != tt.typ || in.SeqID != 5 || !reflect.DeepEqual(got, tt.v) {
				t.Fatalf("%s %s: decoded %s %v %d %+v", tt.method, path, in.Method, in.Type, in.SeqID, got)
			}
		}
	}
}
