package ttheader_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/codec"
	"github.com/skiffrpc/skiff/core/server"
	"github.com/skiffrpc/skiff/examples/echo"
	ttheader "github.com/skiffrpc/skiff/transport-ttheader"
)

// userMeta is a user's meta handler: the client sends int key 100, the
// server records it and answers with string key "x-served-by".
type userMeta struct {
	got chan string
}

func (u userMeta) ClientWriteMeta(_ context.Context, msg *codec.Message) {
	msg.Meta.SetInt(100, "hello")
}

func (u userMeta) ClientReadMeta(_ context.Context, msg *codec.Message) error {
	v, _ := msg.Meta.Str("x-served-by")
	u.got <- v
	return nil
}

func (u userMeta) ServerReadMeta(ctx context.Context, msg *codec.Message) (context.Context, context.CancelFunc) {
	v, _ := msg.Meta.Int(100)
	u.got <- v
	return ctx, nil
}

func (u userMeta) ServerWriteMeta(_ context.Context, msg *codec.Message, _ error) bool {
	msg.Meta.SetStr("x-served-by", "skiff")
	return false
}

func TestUserMetaHandler(t *testing.T) {
	srvGot, cliGot := make(chan string, 1), make(chan string, 1)
	svr := server.New(server.WithAddress("127.0.0.1:0"), server.WithLogger(slog.New(slog.DiscardHandler)),
		server.WithMetaHandler(userMeta{srvGot}))
	if err := svr.RegisterService(echo.ServiceInfo(), hopHandler{echoBack}); err != nil {
		t.Fatal(err)
	}
	if err := svr.Start(); err != nil {
		t.Fatal(err)
	}
	defer svr.Stop()
	stub := dial(t, svr.Addr().String(), client.WithTransport(ttheader.TTHeaderFramed), client.WithMetaHandler(userMeta{cliGot}))
	if _, err := stub.Echo(context.Background(), &echo.EchoRequest{Message: "m"}); err != nil {
		t.Fatal(err)
	}
	if v := <-srvGot; v != "hello" {
		t.Fatalf("server read int key 100 = %q", v)
	}
	if v := <-cliGot; v != "skiff" {
		t.Fatalf("client read x-served-by = %q", v)
	}
}
