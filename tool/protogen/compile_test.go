package protogen_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// corpusTest runs inside the module generated from the corpus: it drives
// the generated handlers of every streaming kind through the service
// descriptor with an in-memory stream (no transport), and checks the
// descriptor, and drives the generated client through a fake invoker.
const corpusTest = `package shop_test

import (
	"context"
	"errors"
	"io"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/codec"
	"github.com/skiffrpc/skiff/core/service"
	"github.com/skiffrpc/skiff/core/status"
	"github.com/skiffrpc/skiff/core/stream"

	"example.com/gen/shop"
)

type impl struct{}

func (impl) Get(_ context.Context, req *shop.OrderRequest) (*shop.Order, error) {
	if req.Id < 0 {
		return nil, errors.New("negative id")
	}
	return &shop.Order{Id: req.Id, CustomerName: req.Filter}, nil
}

func (impl) List(req *shop.OrderRequest, srv stream.ServerStreamingServer[shop.Order]) error {
	for i := int64(0); i < 3; i++ {
		if err := srv.Send(&shop.Order{Id: req.Id + i}); err != nil {
			return err
		}
	}
	return nil
}

func (impl) Upload(srv stream.ClientStreamingServer[shop.Order, shop.Empty]) error {
	n := 0
	for {
		_, err := srv.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		n++
	}
	if n != 2 {
		return errors.New("want 2 orders")
	}
	return srv.SendAndClose(&shop.Empty{})
}

func (impl) Chat(srv stream.BidiStreamingServer[shop.OrderRequest, shop.Order]) error {
	for {
		req, err := srv.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := srv.Send(&shop.Order{Id: req.Id * 10}); err != nil {
			return err
		}
	}
}

func (impl) Ping(context.Context, *emptypb.Empty) (*emptypb.Empty, error) { return &emptypb.Empty{}, nil }

// memStream is an in-memory stream.ServerStream.
type memStream struct {
	in   []proto.Message
	sent []proto.Message
}

func (s *memStream) Context() context.Context { return context.Background() }
func (s *memStream) SendMsg(m any) error {
	s.sent = append(s.sent, proto.Clone(m.(proto.Message)))
	return nil
}
func (s *memStream) RecvMsg(m any) error {
	if len(s.in) == 0 {
		return io.EOF
	}
	proto.Merge(m.(proto.Message), s.in[0])
	s.in = s.in[1:]
	return nil
}
func (s *memStream) SetHeader(stream.Header) error  { return nil }
func (s *memStream) SendHeader(stream.Header) error { return nil }
func (s *memStream) SetTrailer(stream.Header)       {}

func ids(ms []proto.Message) []int64 {
	var out []int64
	for _, m := range ms {
		out = append(out, m.(*shop.Order).Id)
	}
	return out
}

func TestDescriptor(t *testing.T) {
	info := shop.ShopServiceServiceInfo()
	if info.Name != "ShopService" || info.Package != "skiff.test.shop" || info.FullName() != "skiff.test.shop.ShopService" || info.Codec != "protobuf" {
		t.Errorf("info = %+v", info)
	}
	modes := map[string]service.StreamingMode{"Get": service.StreamingNone, "List": service.StreamingServer,
		"Upload": service.StreamingClient, "Chat": service.StreamingBidi, "Ping": service.StreamingNone}
	if len(info.Methods) != len(modes) {
		t.Errorf("%d methods, want %d", len(info.Methods), len(modes))
	}
	for name, mode := range modes {
		m := info.Method(name)
		if m == nil || m.Name != name || m.StreamingMode != mode || m.Handler == nil || m.NewArgs == nil || m.NewResult == nil {
			t.Errorf("method %s = %+v, want mode %v", name, m, mode)
		}
	}
	var _ shop.ShopService = impl{}
	if _, ok := info.HandlerType.(*shop.ShopService); !ok {
		t.Errorf("HandlerType = %T", info.HandlerType)
	}
}

func TestUnaryHandler(t *testing.T) {
	m := shop.ShopServiceServiceInfo().Method("Get")
	args, result := m.NewArgs(), m.NewResult()
	// The codec decodes into Unwrap(), which allocates the request.
	codec.Unwrap(args).(*shop.OrderRequest).Id = 7
	codec.Unwrap(args).(*shop.OrderRequest).Filter = "f"
	if err := m.Handler(context.Background(), impl{}, args, result); err != nil {
		t.Fatal(err)
	}
	if got := result.(*shop.ShopServiceGetResult).Success; got.GetId() != 7 || got.GetCustomerName() != "f" {
		t.Errorf("result = %v", got)
	}
	args.(service.Recycler).Recycle()
	result.(service.Recycler).Recycle()

	args, result = m.NewArgs(), m.NewResult()
	codec.Unwrap(args).(*shop.OrderRequest).Id = -1
	if err := m.Handler(context.Background(), impl{}, args, result); err == nil || err.Error() != "negative id" {
		t.Errorf("error = %v, want the handler's", err)
	}
	// A request with no body: the handler still gets a message.
	if err := m.Handler(context.Background(), impl{}, new(shop.ShopServiceGetArgs), new(shop.ShopServiceGetResult)); err != nil {
		t.Errorf("empty request: %v", err)
	}
}

func TestStreamingHandlers(t *testing.T) {
	info := shop.ShopServiceServiceInfo()
	ctx := context.Background()

	list := &memStream{in: []proto.Message{&shop.OrderRequest{Id: 5}}}
	if err := info.Method("List").Handler(ctx, impl{}, list, nil); err != nil {
		t.Fatal(err)
	}
	if got := ids(list.sent); len(got) != 3 || got[0] != 5 || got[2] != 7 {
		t.Errorf("List sent %v", got)
	}

	up := &memStream{in: []proto.Message{&shop.Order{Id: 1}, &shop.Order{Id: 2}}}
	if err := info.Method("Upload").Handler(ctx, impl{}, up, nil); err != nil {
		t.Fatal(err)
	}
	if len(up.sent) != 1 {
		t.Errorf("Upload sent %d messages, want 1", len(up.sent))
	}

	chat := &memStream{in: []proto.Message{&shop.OrderRequest{Id: 1}, &shop.OrderRequest{Id: 2}}}
	if err := info.Method("Chat").Handler(ctx, impl{}, chat, nil); err != nil {
		t.Fatal(err)
	}
	if got := ids(chat.sent); len(got) != 2 || got[0] != 10 || got[1] != 20 {
		t.Errorf("Chat sent %v", got)
	}

	// Server streaming with no request: the handler fails with io.EOF.
	if err := info.Method("List").Handler(ctx, impl{}, &memStream{}, nil); err != io.EOF {
		t.Errorf("List without a request: %v", err)
	}
	// A streaming method called as a ping-pong call (Kitex Protobuf).
	err := info.Method("Chat").Handler(ctx, impl{}, new(shop.ShopServiceChatArgs), new(shop.ShopServiceChatResult))
	if status.CodeOf(err) != status.Unimplemented {
		t.Errorf("Chat without a stream: %v, want unimplemented", err)
	}
}

// fakeInvoker answers calls and opens in-memory client streams.
type fakeInvoker struct {
	method string
	cs     *memClientStream
}

func (f *fakeInvoker) Call(_ context.Context, method string, args, result any, _ ...client.CallOption) error {
	f.method = method
	if method == "Ping" {
		return status.New(status.Unavailable, "down")
	}
	req := args.(codec.Wrapper).Unwrap().(*shop.OrderRequest)
	codec.Unwrap(result).(*shop.Order).Id = req.Id + 1
	return nil
}

func (f *fakeInvoker) NewStream(ctx context.Context, method string, _ ...client.CallOption) (stream.ClientStream, error) {
	f.method = method
	return f.cs, nil
}

// memClientStream is an in-memory stream.ClientStream.
type memClientStream struct {
	sent   []proto.Message
	in     []proto.Message
	closed bool
}

func (s *memClientStream) Context() context.Context { return context.Background() }
func (s *memClientStream) SendMsg(m any) error {
	s.sent = append(s.sent, proto.Clone(m.(proto.Message)))
	return nil
}
func (s *memClientStream) RecvMsg(m any) error {
	if len(s.in) == 0 {
		return io.EOF
	}
	proto.Merge(m.(proto.Message), s.in[0])
	s.in = s.in[1:]
	return nil
}
func (s *memClientStream) CloseSend() error               { s.closed = true; return nil }
func (s *memClientStream) Header() (stream.Header, error) { return nil, nil }
func (s *memClientStream) Trailer() stream.Header         { return nil }

func TestClient(t *testing.T) {
	ctx := context.Background()
	inv := &fakeInvoker{}
	c := shop.NewShopServiceClientWithInvoker(inv)
	res, err := c.Get(ctx, &shop.OrderRequest{Id: 41})
	if err != nil || res.GetId() != 42 || inv.method != "Get" {
		t.Errorf("Get = %v, %v (method %q)", res, err, inv.method)
	}
	if _, err := c.Ping(ctx, &emptypb.Empty{}); status.CodeOf(err) != status.Unavailable {
		t.Errorf("Ping error = %v", err)
	}

	inv.cs = &memClientStream{in: []proto.Message{&shop.Order{Id: 1}, &shop.Order{Id: 2}}}
	list, err := c.List(ctx, &shop.OrderRequest{Id: 9})
	if err != nil || inv.method != "List" || !inv.cs.closed || len(inv.cs.sent) != 1 || inv.cs.sent[0].(*shop.OrderRequest).Id != 9 {
		t.Fatalf("List: %v, stream %+v", err, inv.cs)
	}
	var got []int64
	for {
		o, err := list.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, o.Id)
	}
	if len(got) != 2 || got[1] != 2 {
		t.Errorf("List received %v", got)
	}

	inv.cs = &memClientStream{in: []proto.Message{&shop.Empty{}}}
	up, err := c.Upload(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := up.Send(&shop.Order{Id: 3}); err != nil {
		t.Fatal(err)
	}
	if _, err := up.CloseAndRecv(); err != nil || !inv.cs.closed || len(inv.cs.sent) != 1 || inv.method != "Upload" {
		t.Errorf("Upload: %v, stream %+v", err, inv.cs)
	}

	inv.cs = &memClientStream{in: []proto.Message{&shop.Order{Id: 30}}}
	chat, err := c.Chat(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := chat.Send(&shop.OrderRequest{Id: 3}); err != nil {
		t.Fatal(err)
	}
	if o, err := chat.Recv(); err != nil || o.Id != 30 || inv.cs.closed || inv.method != "Chat" {
		t.Errorf("Chat: %v, %v, stream %+v", o, err, inv.cs)
	}
}

// The real client satisfies the invoker.
var _ shop.ShopServiceInvoker = (*client.Client)(nil)
`

// TestCorpusCompiles builds the code generated for the whole corpus
// (messages and service code, every streaming kind) in a module with a
// replace line to this checkout's core, vets it, and runs a test inside it
// that drives the generated handlers through the descriptor with an
// in-memory stream.
func TestCorpusCompiles(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a module in a subprocess")
	}
	root := repoRoot(t)
	dir := t.TempDir()
	writeFiles(t, dir, generateCorpus(t))
	mod := "module " + corpusModule + "\n\ngo 1.26.0\n\nrequire (\n\tgithub.com/skiffrpc/skiff/core v0.0.0\n\tgoogle.golang.org/protobuf v1.36.12\n)\n\n" +
		"replace github.com/skiffrpc/skiff/core => " + filepath.ToSlash(filepath.Join(root, "core")) + "\n"
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(mod), 0o644); err != nil {
		t.Fatal(err)
	}
	seedGoSum(t, dir, root)
	if err := os.WriteFile(filepath.Join(dir, "shop", "shop_test.go"), []byte(corpusTest), 0o644); err != nil {
		t.Fatal(err)
	}
	goCmd(t, dir, "mod", "tidy")
	goCmd(t, dir, "vet", "./...")
	out := goCmd(t, dir, "test", "-count=1", "-v", "./shop")
	for _, name := range []string{"TestDescriptor", "TestUnaryHandler", "TestStreamingHandlers", "TestClient"} {
		if !strings.Contains(out, "--- PASS: "+name) {
			t.Errorf("%s did not pass in the generated module:\n%s", name, out)
		}
	}
}
