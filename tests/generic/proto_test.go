package generictest_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	grpccodec "github.com/skiffrpc/skiff/codec-grpc"
	_ "github.com/skiffrpc/skiff/codec-protobuf" // Kitex Protobuf
	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/server"
	"github.com/skiffrpc/skiff/core/status"
	"github.com/skiffrpc/skiff/core/stream"
	"github.com/skiffrpc/skiff/generic"
	"github.com/skiffrpc/skiff/tests/generic/pbgen"
	h2transport "github.com/skiffrpc/skiff/transport-http2"
	ttheader "github.com/skiffrpc/skiff/transport-ttheader"
)

// docs is the typed Docs server.
type docs struct{}

func (docs) Echo(_ context.Context, req *pbgen.Doc) (*pbgen.Doc, error) { return req, nil }

func (docs) Ping(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}

func (docs) Split(req *pbgen.Doc, srv stream.ServerStreamingServer[pbgen.Item]) error {
	for _, it := range req.List {
		if err := srv.Send(it); err != nil {
			return err
		}
	}
	return nil
}

func (docs) Sum(srv stream.ClientStreamingServer[pbgen.Item, pbgen.Item]) error {
	sum := &pbgen.Item{Name: "sum"}
	for {
		it, err := srv.Recv()
		if errors.Is(err, io.EOF) {
			return srv.SendAndClose(sum)
		}
		if err != nil {
			return err
		}
		sum.Count += it.Count
	}
}

func (docs) Chat(srv stream.BidiStreamingServer[pbgen.Item, pbgen.Item]) error {
	for {
		it, err := srv.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := srv.Send(&pbgen.Item{Name: it.Name, Count: 2 * it.Count}); err != nil {
			return err
		}
	}
}

func loadProto(t testing.TB) *generic.ProtoIDL {
	t.Helper()
	idl, err := generic.LoadProtoFiles([]string{"idl"}, "wkt.proto")
	if err != nil {
		t.Fatal(err)
	}
	return idl
}

// protoTransports are the client options of Kitex Protobuf (TTHeader +
// Framed) and gRPC.
var protoTransports = []struct {
	name string
	opts []client.Option
}{
	{"kitexpb", []client.Option{client.WithTransport(ttheader.TTHeaderFramed)}},
	{"grpc", []client.Option{client.WithStreamTransport(h2transport.New()), client.WithStreamCodec(grpccodec.Default)}},
}

const docJSON = `{
  "id": "d1", "big": "9223372036854775807", "ubig": 18446744073709551615, "blob": "AAEC/w==",
  "mood": "MOOD_GRUMPY", "ratio": 0.25, "item": {"name": "chosen", "count": 3},
  "items": {"a": {"name": "A", "count": "1"}}, "names": {"-5": "minus five"}, "flags": {"true": 1},
  "list": [{"name": "l1"}, {"name": "l2", "count": 2}],
  "at": "2024-05-06T07:08:09.123Z", "took": "1.5s",
  "meta": {"k": [1, "two", null, {"x": true}]}, "anyValue": 3.5,
  "maybeBig": "12", "maybeText": "", "mask": "id,items.name",
  "extra": {"@type": "type.googleapis.com/skiff.generic.v1.Item", "name": "packed", "count": "9"},
  "values": [1, "a"], "opt": 0
}`

// The typed value of docJSON.
func wantDoc(t testing.TB) *pbgen.Doc {
	packed, err := anypb.New(&pbgen.Item{Name: "packed", Count: 9})
	if err != nil {
		t.Fatal(err)
	}
	meta, _ := structpb.NewStruct(map[string]any{"k": []any{1, "two", nil, map[string]any{"x": true}}})
	values, _ := structpb.NewList([]any{1, "a"})
	opt := int32(0)
	return &pbgen.Doc{
		Id: "d1", Big: 9223372036854775807, Ubig: 18446744073709551615, Blob: []byte{0, 1, 2, 255},
		Mood: pbgen.Mood_MOOD_GRUMPY, Ratio: 0.25, Choice: &pbgen.Doc_Item{Item: &pbgen.Item{Name: "chosen", Count: 3}},
		Items: map[string]*pbgen.Item{"a": {Name: "A", Count: 1}}, Names: map[int64]string{-5: "minus five"},
		Flags: map[bool]int32{true: 1}, List: []*pbgen.Item{{Name: "l1"}, {Name: "l2", Count: 2}},
		At: timestamppb.New(time.Date(2024, 5, 6, 7, 8, 9, 123e6, time.UTC)), Took: durationpb.New(1500 * time.Millisecond),
		Meta: meta, AnyValue: structpb.NewNumberValue(3.5), MaybeBig: wrapperspb.Int64(12), MaybeText: wrapperspb.String(""),
		Mask: &fieldmaskpb.FieldMask{Paths: []string{"id", "items.name"}}, Extra: packed, Values: values, Opt: &opt,
	}
}

// Protobuf JSON in, JSON out, through a typed Skiff server, over Kitex
// Protobuf and gRPC: the server gets exactly the typed message the JSON
// stands for, and the answer is that message as protojson writes it.
func TestProtobufJSONRoundTrip(t *testing.T) {
	rec := &docRecorder{}
	svr := startServer(t, func(s *server.Server) error { return pbgen.RegisterDocs(s, rec) })
	g := generic.ProtobufJSON(loadProto(t))
	want := wantDoc(t)
	wantJSON, err := protojson.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	for _, tp := range protoTransports {
		t.Run(tp.name, func(t *testing.T) {
			cli := newGenericClient(t, "skiff.generic.v1.Docs", g, svr.Addr().String(), tp.opts...)
			ctx := context.Background()
			got, err := cli.Call(ctx, "Echo", docJSON)
			if err != nil {
				t.Fatal(err)
			}
			if last, _ := rec.seen(); !proto.Equal(last, want) {
				t.Fatalf("the server got %v\nwant %v", last, want)
			}
			if a, b := normalize(t, got.(string)), normalize(t, string(wantJSON)); a != b {
				t.Fatalf("Echo:\n got %s\nwant %s", a, b)
			}
			// Oneofs: another member.
			got, err = cli.Call(ctx, "Echo", `{"text": "t"}`)
			if err != nil || normalize(t, got.(string)) != `{"text":"t"}` {
				t.Fatalf("Echo(text): %v %v", got, err)
			}
			got, err = cli.Call(ctx, "Ping", `{}`)
			if err != nil || got != "{}" {
				t.Fatalf("Ping: %q %v", got, err)
			}
			// Bad input: an error naming the message and field, nothing
			// sent.
			_, before := rec.seen()
			for _, bad := range []string{`{"nope": 1}`, `{"big": "x"}`, `{"blob": "!!"}`, `{"opt": 2147483648}`, `{"id": 5}`} {
				_, err := cli.Call(ctx, "Echo", bad)
				var ge *generic.Error
				if !errors.As(err, &ge) || ge.Path != "skiff.generic.v1.Doc" {
					t.Fatalf("Echo(%s): %v", bad, err)
				}
			}
			if _, after := rec.seen(); after != before {
				t.Fatal("a bad request reached the server")
			}
		})
	}
}

type docRecorder struct {
	docs
	mu    sync.Mutex
	last  *pbgen.Doc
	calls int
}

func (r *docRecorder) Echo(ctx context.Context, req *pbgen.Doc) (*pbgen.Doc, error) {
	r.mu.Lock()
	r.last, r.calls = req, r.calls+1
	r.mu.Unlock()
	return req, nil
}

func (r *docRecorder) seen() (*pbgen.Doc, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last, r.calls
}

// Protobuf JSON streams over gRPC: server, client and bidi streaming,
// against the typed server.
func TestProtobufJSONStreams(t *testing.T) {
	svr := startServer(t, func(s *server.Server) error { return pbgen.RegisterDocs(s, docs{}) })
	g := generic.ProtobufJSON(loadProto(t))
	cli := newGenericClient(t, "skiff.generic.v1.Docs", g, svr.Addr().String(), protoTransports[1].opts...)
	testJSONStreams(t, cli)
}

func testJSONStreams(t *testing.T, cli *generic.Client) {
	ctx := context.Background()

	split, err := cli.NewStream(ctx, "Split")
	if err != nil {
		t.Fatal(err)
	}
	if err := split.Send(`{"list": [{"name": "a", "count": 1}, {"name": "b"}]}`); err != nil {
		t.Fatal(err)
	}
	if err := split.CloseSend(); err != nil {
		t.Fatal(err)
	}
	var got []string
	for {
		m, err := split.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, normalize(t, m))
	}
	if len(got) != 2 || got[0] != `{"count":"1","name":"a"}` || got[1] != `{"name":"b"}` {
		t.Fatalf("Split: %q", got)
	}

	sum, err := cli.NewStream(ctx, "Sum")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"1", "2", "39"} {
		if err := sum.Send(`{"count": ` + c + `}`); err != nil {
			t.Fatal(err)
		}
	}
	_ = sum.CloseSend()
	m, err := sum.Recv()
	if err != nil || normalize(t, m) != `{"count":"42","name":"sum"}` {
		t.Fatalf("Sum: %s %v", m, err)
	}

	chat, err := cli.NewStream(ctx, "Chat")
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range []string{"1", "5"} {
		if err := chat.Send(`{"name": "c", "count": ` + c + `}`); err != nil {
			t.Fatal(err)
		}
		m, err := chat.Recv()
		want := []string{`{"count":"2","name":"c"}`, `{"count":"10","name":"c"}`}[i]
		if err != nil || normalize(t, m) != want {
			t.Fatalf("Chat %d: %s %v", i, m, err)
		}
	}
	// A message that does not fit is refused before it is sent.
	if err := chat.Send(`{"count": "x"}`); err == nil {
		t.Fatal("Chat sent a bad message")
	}
	_ = chat.CloseSend()
	if _, err := chat.Recv(); !errors.Is(err, io.EOF) {
		t.Fatalf("Chat end: %v", err)
	}
}

// A protobuf JSON generic server, called by the typed client over Kitex
// Protobuf and gRPC (unary and streaming).
func TestProtobufJSONServer(t *testing.T) {
	g := generic.ProtobufJSON(loadProto(t))
	handler := func(_ context.Context, method string, req any) (any, error) {
		switch method {
		case "Echo":
			return req, nil
		case "Ping":
			return `{}`, nil
		}
		return nil, status.Errorf(status.Unimplemented, "no %s", method)
	}
	// The streaming methods, as the typed server does them, on JSON.
	type item struct {
		Name  string `json:"name,omitempty"`
		Count int64  `json:"count,string,omitempty"`
	}
	streams := func(method string, s *generic.ServerStream) error {
		switch method {
		case "Split":
			m, err := s.Recv()
			if err != nil {
				return err
			}
			var doc struct{ List []json.RawMessage }
			if err := json.Unmarshal([]byte(m), &doc); err != nil {
				return err
			}
			for _, it := range doc.List {
				if err := s.Send(string(it)); err != nil {
					return err
				}
			}
			return nil
		case "Sum":
			sum := item{Name: "sum"}
			for {
				m, err := s.Recv()
				if errors.Is(err, io.EOF) {
					b, _ := json.Marshal(sum)
					return s.Send(b)
				}
				if err != nil {
					return err
				}
				var it item
				if err := json.Unmarshal([]byte(m), &it); err != nil {
					return err
				}
				sum.Count += it.Count
			}
		}
		for { // Chat
			m, err := s.Recv()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return err
			}
			var it item
			if err := json.Unmarshal([]byte(m), &it); err != nil {
				return err
			}
			it.Count *= 2
			b, _ := json.Marshal(it)
			if err := s.Send(b); err != nil {
				return err
			}
		}
	}
	svr := startServer(t, func(s *server.Server) error {
		return generic.RegisterService(s, "skiff.generic.v1.Docs", g, handler, generic.WithStreamHandler(streams))
	})
	want := wantDoc(t)
	for _, tp := range protoTransports {
		t.Run(tp.name, func(t *testing.T) {
			cli, err := client.New(pbgen.DocsServiceInfo(), append([]client.Option{client.WithHostPorts(svr.Addr().String()),
				client.WithLogger(quiet), client.WithRPCTimeout(5 * time.Second)}, tp.opts...)...)
			if err != nil {
				t.Fatal(err)
			}
			defer cli.Close()
			d := pbgen.NewDocsSkiffClient(cli)
			got, err := d.Echo(context.Background(), want)
			if err != nil || !proto.Equal(got, want) {
				t.Fatalf("Echo: %v %v", got, err)
			}
			if _, err := d.Ping(context.Background(), &emptypb.Empty{}); err != nil {
				t.Fatal(err)
			}
			if tp.name != "grpc" {
				return
			}
			chat, err := d.Chat(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if err := chat.Send(&pbgen.Item{Name: "x", Count: 7}); err != nil {
				t.Fatal(err)
			}
			it, err := chat.Recv()
			if err != nil || it.Name != "x" || it.Count != 14 {
				t.Fatalf("Chat: %v %v", it, err)
			}
			_ = chat.CloseSend()
			if _, err := chat.Recv(); !errors.Is(err, io.EOF) {
				t.Fatalf("Chat end: %v", err)
			}
			// The generic client on the generic server: the three kinds
			// of stream.
			testJSONStreams(t, newGenericClient(t, "skiff.generic.v1.Docs", g, svr.Addr().String(), tp.opts...))
		})
	}
}

// A malformed .proto gives file:line:col.
func TestMalformedProto(t *testing.T) {
	_, err := generic.ParseProto(map[string]string{"bad.proto": "syntax = \"proto3\";\nmessage A {\n  int32 x = ;\n}\n"}, "bad.proto")
	if err == nil || !strings.Contains(err.Error(), "bad.proto:3:13") {
		t.Fatalf("got %v", err)
	}
}
