package ttheader_test

import (
	"context"
	"strings"
	"testing"

	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/metainfo"
	"github.com/skiffrpc/skiff/core/transport"
	"github.com/skiffrpc/skiff/examples/echo"
	ttheader "github.com/skiffrpc/skiff/transport-ttheader"
)

// BenchmarkEchoCall compares a 1 KB echo call (both sides in this process)
// over plain Framed with TTHeader+Framed carrying the default metadata
// (caller, callee, method, message type, isn) plus one persistent value.
func BenchmarkEchoCall(b *testing.B) {
	for _, tp := range []transport.Protocol{transport.Framed, ttheader.TTHeaderFramed} {
		b.Run(tp.Name(), func(b *testing.B) {
			addr := startB(b)
			cli, err := client.New(echo.ServiceInfo(), client.WithHostPorts(addr), client.WithTransport(tp), client.WithCaller("bench"))
			if err != nil {
				b.Fatal(err)
			}
			defer cli.Close()
			stub := echo.NewClient(cli)
			ctx := metainfo.WithPersistentValue(context.Background(), "tenant", "acme")
			req := &echo.EchoRequest{Message: strings.Repeat("x", 1024)}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := stub.Echo(ctx, req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
