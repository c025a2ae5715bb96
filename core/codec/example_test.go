package codec_test

import (
	"context"
	"fmt"

	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/codec"
	"github.com/skiffrpc/skiff/core/internal/toycodec"
	"github.com/skiffrpc/skiff/core/server"
	"github.com/skiffrpc/skiff/core/service"
)

// A client calls a method named at call time with a payload it encoded
// itself (or forwards), and gets the reply's payload undecoded: the
// method need not be in the client's service.Info. With Thrift the bytes
// are the args and result structs; with Kitex Protobuf, the messages.
func ExampleRaw() {
	svr := server.New(server.WithAddress("127.0.0.1:0"))
	_ = svr.RegisterService(toycodec.Service(), toycodec.Handler(func(_ context.Context, in []byte) ([]byte, error) {
		return append([]byte("echo: "), in...), nil
	}))
	if err := svr.Start(); err != nil {
		panic(err)
	}
	defer svr.Stop()

	// A descriptor with no methods: everything is named at call time.
	generic := &service.Info{Name: "Toy", Codec: toycodec.Name}
	cli, err := client.New(generic, client.WithHostPorts(svr.Addr().String()))
	if err != nil {
		panic(err)
	}
	defer cli.Close()
	var reply codec.Raw
	err = cli.Call(context.Background(), "Echo", codec.Raw("encoded elsewhere"), &reply)
	fmt.Printf("%s %v\n", reply, err)
	// Output: echo: encoded elsewhere <nil>
}
