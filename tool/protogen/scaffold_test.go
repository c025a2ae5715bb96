package protogen_test

import (
	"context"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/skiffrpc/skiff/tool/protogen"
)

// repoRoot is the Skiff checkout this package is in.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "core", "go.mod")); err != nil {
		t.Fatalf("no Skiff checkout at %s: %v", root, err)
	}
	return root
}

// writeFiles writes files under dir.
func writeFiles(t *testing.T, dir string, files []protogen.File) {
	t.Helper()
	for _, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, f.Content, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// seedGoSum writes dir/go.sum from the go.sum files of the repo's
// modules, so that the temporary module resolves offline from the module
// cache.
func seedGoSum(t *testing.T, dir, root string) {
	t.Helper()
	seen := map[string]bool{}
	var b strings.Builder
	for _, m := range []string{"core", "codec-protobuf", "transport-ttheader", "codec-grpc", "transport-http2", "tool"} {
		data, err := os.ReadFile(filepath.Join(root, m, "go.sum"))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(data), "\n") {
			if line != "" && !seen[line] {
				seen[line] = true
				b.WriteString(line + "\n")
			}
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "go.sum"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// goCmd runs the go command in dir, bounded in time.
func goCmd(t *testing.T, dir string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go %s in %s: %v\n%s", strings.Join(args, " "), dir, err, out)
	}
	return string(out)
}

// e2eTest runs in the scaffolded module: a server with the scaffolded
// main package's handler, the real Kitex Protobuf codec and TTHeader, and
// the generated client.
const e2eTest = `package echosvc

import (
	"context"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/server"
	"github.com/skiffrpc/skiff/core/status"
	"github.com/skiffrpc/skiff/core/stream"
	"github.com/skiffrpc/skiff/core/transport"
	_ "github.com/skiffrpc/skiff/codec-grpc"
	_ "github.com/skiffrpc/skiff/codec-protobuf"
	h2transport "github.com/skiffrpc/skiff/transport-http2"
	_ "github.com/skiffrpc/skiff/transport-ttheader"

	"example.com/echosvc/gen/echo"
	"example.com/echosvc/gen/types"
)

// testHandler fills in the scaffolded stubs.
type testHandler struct{ Handler }

func (testHandler) Echo(_ context.Context, req *echo.EchoRequest) (*echo.EchoResponse, error) {
	return &echo.EchoResponse{Message: req.Message, Inner: req.Inner, ByName: req.ByName, Tags: req.Tags, At: req.At}, nil
}

func (testHandler) Fail(context.Context, *types.Nothing) (*types.Nothing, error) {
	return nil, errors.New("fail on purpose")
}

func (testHandler) Watch(req *echo.EchoRequest, srv stream.ServerStreamingServer[echo.EchoResponse]) error {
	for i := 0; i < 3; i++ {
		if err := srv.Send(&echo.EchoResponse{Message: req.Message, Tags: []string{strconv.Itoa(i)}}); err != nil {
			return err
		}
	}
	return nil
}

func (testHandler) Collect(srv stream.ClientStreamingServer[echo.EchoRequest, echo.EchoResponse]) error {
	var msgs []string
	for {
		req, err := srv.Recv()
		if err == io.EOF {
			return srv.SendAndClose(&echo.EchoResponse{Message: strings.Join(msgs, "+")})
		}
		if err != nil {
			return err
		}
		msgs = append(msgs, req.Message)
	}
}

func (testHandler) Chat(srv stream.BidiStreamingServer[echo.EchoRequest, echo.EchoResponse]) error {
	for {
		req, err := srv.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := srv.Send(&echo.EchoResponse{Message: "re: " + req.Message}); err != nil {
			return err
		}
	}
}

// TestGRPC calls the same server over gRPC: a unary call and a method of
// each streaming kind through the generated client.
func TestGRPC(t *testing.T) {
	svr := server.New(server.WithAddress("127.0.0.1:0"), server.WithExitWaitTime(time.Second))
	if err := echo.RegisterEcho(svr, &testHandler{}); err != nil {
		t.Fatal(err)
	}
	if err := svr.Start(); err != nil {
		t.Fatal(err)
	}
	defer svr.Stop()
	cli, err := client.New(echo.EchoServiceInfo(), client.WithHostPorts(svr.Addr().String()),
		client.WithStreamTransport(h2transport.New()), client.WithRPCTimeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	c := echo.NewEchoClient(cli)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := c.Echo(ctx, &echo.EchoRequest{Message: "over grpc"})
	if err != nil || res.Message != "over grpc" {
		t.Fatalf("Echo over gRPC = %v, %v", res, err)
	}
	st, err := c.Watch(ctx, &echo.EchoRequest{Message: "w"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for {
		r, err := st.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, r.Message+r.Tags[0])
	}
	if strings.Join(got, ",") != "w0,w1,w2" {
		t.Errorf("Watch received %v", got)
	}

	up, err := c.Collect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"a", "b", "c"} {
		if err := up.Send(&echo.EchoRequest{Message: m}); err != nil {
			t.Fatal(err)
		}
	}
	if res, err := up.CloseAndRecv(); err != nil || res.Message != "a+b+c" {
		t.Errorf("Collect = %v, %v", res, err)
	}

	chat, err := c.Chat(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"x", "y"} {
		if err := chat.Send(&echo.EchoRequest{Message: m}); err != nil {
			t.Fatal(err)
		}
		if res, err := chat.Recv(); err != nil || res.Message != "re: "+m {
			t.Fatalf("Chat = %v, %v", res, err)
		}
	}
	if err := chat.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if _, err := chat.Recv(); err != io.EOF {
		t.Errorf("Chat after CloseSend: %v, want io.EOF", err)
	}

	// A streaming method over Kitex Protobuf is refused with a status.
	kcli, err := client.New(echo.EchoServiceInfo(), client.WithHostPorts(svr.Addr().String()),
		client.WithTransport(transport.Lookup("ttheader-framed")), client.WithRPCTimeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer kcli.Close()
	if _, err := echo.NewEchoClient(kcli).Watch(ctx, &echo.EchoRequest{}); err == nil {
		t.Error("Watch without a stream transport: no error")
	}
	// Called as a ping-pong Kitex Protobuf call, the handler refuses.
	err = kcli.Call(ctx, "Watch", &echo.EchoWatchArgs{Req: &echo.EchoRequest{}}, &echo.EchoWatchResult{})
	if err == nil || !strings.Contains(err.Error(), "streaming transport") {
		t.Errorf("Watch as a Kitex Protobuf call: %v", err)
	}
}

// BenchmarkEcho1KB is a unary call with a 1 KB message through the
// generated client and server code over Kitex Protobuf in TTHeader+Framed
// (not run by the outer test).
func BenchmarkEcho1KB(b *testing.B) {
	svr := server.New(server.WithAddress("127.0.0.1:0"), server.WithExitWaitTime(time.Second))
	if err := echo.RegisterEcho(svr, &testHandler{}); err != nil {
		b.Fatal(err)
	}
	if err := svr.Start(); err != nil {
		b.Fatal(err)
	}
	defer svr.Stop()
	cli, err := client.New(echo.EchoServiceInfo(), client.WithHostPorts(svr.Addr().String()),
		client.WithTransport(transport.Lookup("ttheader-framed")), client.WithRPCTimeout(5*time.Second))
	if err != nil {
		b.Fatal(err)
	}
	defer cli.Close()
	c := echo.NewEchoClient(cli)
	req := &echo.EchoRequest{Message: strings.Repeat("x", 1024)}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := c.Echo(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}

func TestEcho(t *testing.T) {
	svr := server.New(server.WithAddress("127.0.0.1:0"), server.WithExitWaitTime(time.Second))
	if err := echo.RegisterEcho(svr, &testHandler{}); err != nil {
		t.Fatal(err)
	}
	if err := svr.Start(); err != nil {
		t.Fatal(err)
	}
	defer svr.Stop()
	for _, tp := range []string{"ttheader-framed", "ttheader", "framed"} {
		cli, err := client.New(echo.EchoServiceInfo(), client.WithHostPorts(svr.Addr().String()),
			client.WithTransport(transport.Lookup(tp)), client.WithRPCTimeout(5*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		c := echo.NewEchoClient(cli)
		req := &echo.EchoRequest{
			Message: "hello ☺",
			Inner:   &types.Inner{Text: "in", Nums: []int64{-1, 0, 1 << 40}},
			ByName:  map[string]*types.Inner{"a": {Text: "A"}, "b": {Nums: []int64{2}}},
			Tags:    []string{"x", "y"},
			At:      timestamppb.New(time.Unix(1700000000, 5)),
		}
		res, err := c.Echo(context.Background(), req)
		if err != nil {
			t.Fatalf("%s: Echo: %v", tp, err)
		}
		want := &echo.EchoResponse{Message: req.Message, Inner: req.Inner, ByName: req.ByName, Tags: req.Tags, At: req.At}
		if !proto.Equal(res, want) {
			t.Errorf("%s: Echo = %v, want %v", tp, res, want)
		}
		// An empty request and response.
		if _, err := c.Echo(context.Background(), &echo.EchoRequest{}); err != nil {
			t.Errorf("%s: empty Echo: %v", tp, err)
		}
		_, err = c.Fail(context.Background(), &types.Nothing{})
		var se *status.Error
		if !errors.As(err, &se) || !strings.Contains(se.Message(), "fail on purpose") {
			t.Errorf("%s: Fail = %v, want the handler's error as an exception", tp, err)
		}
		cli.Close()
	}
}
`

// TestScaffoldRuns scaffolds a module for testdata/run/echo.proto with
// replace lines to this checkout, then builds and vets it (server, client
// example, generated code) and runs a test inside it: unary calls with
// nested messages, maps, repeated fields, a well-known type, an empty
// message and an error reply, through the generated client and server
// code, over Kitex Protobuf in TTHeader, TTHeader+Framed and Framed.
func TestScaffoldRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a module in a subprocess")
	}
	root := repoRoot(t)
	files, err := protogen.Scaffold(protogen.ScaffoldOptions{IDL: "testdata/run/echo.proto", Module: "example.com/echosvc", SkiffReplace: root})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeFiles(t, dir, files)
	seedGoSum(t, dir, root)
	if err := os.WriteFile(filepath.Join(dir, "e2e_test.go"), []byte(e2eTest), 0o644); err != nil {
		t.Fatal(err)
	}
	goCmd(t, dir, "mod", "tidy")
	goCmd(t, dir, "vet", "./...")
	goCmd(t, dir, "build", "./...")
	out := goCmd(t, dir, "test", "-count=1", "-v", "-run", "TestEcho|TestGRPC", ".")
	for _, name := range []string{"TestEcho", "TestGRPC"} {
		if !strings.Contains(out, "--- PASS: "+name) {
			t.Errorf("%s did not pass in the scaffolded module:\n%s", name, out)
		}
	}
	t.Log(out)
}

// TestScaffoldImports scaffolds a service whose file has a go_package
// outside the module and imports files of other packages: all of them are
// generated under gen/, the well-known types are not.
func TestScaffoldImports(t *testing.T) {
	files, err := protogen.Scaffold(protogen.ScaffoldOptions{IDL: "testdata/corpus/shop/service.proto",
		ImportPaths: []string{"testdata/corpus"}, Module: "example.com/shopsvc"})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, f := range files {
		got[f.Path] = string(f.Content)
	}
	for _, p := range []string{"gen/common/common.pb.go", "gen/shop/shop.pb.go", "gen/shop/service.pb.go",
		"gen/shop/service_skiff.pb.go", "cmd/server/main.go", "handler.go", "cmd/client/main.go", "go.mod", "idl/shop/service.proto", "idl/common/common.proto"} {
		if _, ok := got[p]; !ok {
			t.Errorf("%s not scaffolded", p)
		}
	}
	if len(got) != 15 {
		t.Errorf("%d files, want 15: %v", len(got), slices.Sorted(maps.Keys(got)))
	}
	for _, want := range []string{`"example.com/shopsvc/gen/shop"`, `"google.golang.org/protobuf/types/known/emptypb"`,
		"func (h *Handler) Chat(srv stream.BidiStreamingServer[shop.OrderRequest, shop.Order]) error {"} {
		if !strings.Contains(got["handler.go"], want) {
			t.Errorf("handler.go lacks %s:\n%s", want, got["handler.go"])
		}
	}
	// The service streams: the server serves gRPC too.
	if !strings.Contains(got["cmd/server/main.go"], `_ "github.com/skiffrpc/skiff/codec-grpc"`) || !strings.Contains(got["go.mod"], "transport-http2") {
		t.Errorf("no gRPC in a streaming service's server:\n%s\n%s", got["cmd/server/main.go"], got["go.mod"])
	}
}
