package thriftcodec

import (
	"errors"
	"testing"

	"github.com/skiffrpc/skiff/core/status"
	"github.com/skiffrpc/skiff/core/stream"
)

// The real-stack tests of TTStream (Skiff and Kitex peers over the
// ttstream transport) are in the tests module, tests/ttstream; these
// check the pieces that need no connection.

func TestTTStreamExceptionRoundTrip(t *testing.T) {
	in := status.New(status.NotFound, "no such thing")
	b := appendExceptionMessage(nil, "Bidi", in)
	got, err := readExceptionMessage(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.Code() != status.NotFound || got.Message() != "no such thing" || !got.IsRemote() {
		t.Fatalf("got %v (code %v)", got, got.Code())
	}
	if _, err := readExceptionMessage(b[:10]); !errors.Is(err, status.ErrProtocol) {
		t.Fatalf("short payload: %v", err)
	}
	call := append([]byte(nil), b...)
	call[3] = 1 // a CALL, not an EXCEPTION
	if _, err := readExceptionMessage(call); !errors.Is(err, status.ErrProtocol) {
		t.Fatalf("CALL payload: %v", err)
	}
}

func TestTTStreamStatusOfKitexCodes(t *testing.T) {
	for typ, want := range map[int32]status.Code{
		12006: status.Unavailable, 12007: status.Canceled, 12013: status.Canceled,
		6: status.Internal, 1: status.Unimplemented, 12001: status.Unknown,
	} {
		if got := ttStatus(status.Exception(typ, "x")).Code(); got != want {
			t.Errorf("type %d: code %v, want %v", typ, got, want)
		}
	}
}

func TestTTStreamDetectAndPath(t *testing.T) {
	if !TTStream.Detect(stream.Header{{Name: "content-type", Value: ContentTypeTTStream}}) {
		t.Error("Detect rejected the ttstream content type")
	}
	if TTStream.Detect(stream.Header{{Name: "content-type", Value: "application/grpc"}}) {
		t.Error("Detect took a gRPC stream")
	}
	for p, ok := range map[string]bool{"/S/M": true, "/a.b.S/M": true, "//M": true, "/S/": false, "S/M": false, "/": false} {
		if _, _, got := splitTTPath(p); got != ok {
			t.Errorf("splitTTPath(%q) ok = %v, want %v", p, got, ok)
		}
	}
	for k, reserved := range map[string]bool{":path": true, "isn": true, "RPC_TRANSIT_x": true, "biz-status": true, "x-user": false} {
		if reservedTTKey(k) != reserved {
			t.Errorf("reservedTTKey(%q) = %v", k, !reserved)
		}
	}
}
