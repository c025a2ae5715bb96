package kitexgeneric_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/generic"
	"github.com/skiffrpc/skiff/tests/generic/gen/alltypes"
	ttheader "github.com/skiffrpc/skiff/transport-ttheader"
)

// benchJSON is a request of about 1 KB: nested structs, lists and maps.
func benchJSON() string {
	var b strings.Builder
	b.WriteString(`{"id":"bench-0001","scalars":{"b":true,"by":7,"s":300,"i":70000,"l":1700000000000,"d":3.25,"str":"a short string","bin":"AAECAwQFBgcICQ==","ms":12},`)
	b.WriteString(`"containers":{"ints":[1,2,3,4,5,6,7,8],"names":["alpha","beta","gamma"],"byName":{`)
	for i := range 10 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"key%d":%d`, i, i*1000)
	}
	b.WriteString(`},"byInt":{"1":"one","2":"two","3":"three"},"groups":{`)
	for g := range 3 {
		if g > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"group%d":[{"name":"n%d","children":[{"name":"c1"},{"name":"c2"}]},{"name":"m%d"}]`, g, g, g)
	}
	b.WriteString(`},"points":[{"x":1,"y":2},{"x":3,"y":4},{"x":5,"y":6}],"nested":[["a","b"],["c"]]},`)
	b.WriteString(`"inner":{"name":"inner","children":[{"name":"x"},{"name":"y"}]},"color":2,"shape":{"radius":1.5},"withDefault":1,"plain":"plain text field","defColor":1,`)
	b.WriteString(`"shapes":[{"label":"first"},{"point":{"x":9,"y":9}},{"radius":2.5}]}`)
	return b.String()
}

// BenchmarkJSONGeneric measures a JSON generic echo call of a 1 KB struct
// through a typed Skiff server on 127.0.0.1 (TTHeader+Framed), from
// Skiff's JSON generic client and from Kitex's (dynamicgo), in the same
// run. Both clients call the same server, so the difference is the
// clients' (conversion, codec, transport). skiff-typed, a typed Skiff
// client sending the same struct, is the baseline: the server's share and
// a call without generic conversions.
func BenchmarkJSONGeneric(b *testing.B) {
	addr := startSkiff(b)
	req := benchJSON()
	if len(req) < 900 || len(req) > 1300 {
		b.Fatalf("request is %d bytes, want about 1 KB", len(req))
	}
	skiff := newSkiffJSONClient(b, addr)
	kitex := newKitexJSONClient(b, addr)
	ctx := context.Background()
	// The baseline: a typed Skiff client sending the same struct (what the
	// server costs, and what a call costs without generic conversions).
	idl, err := generic.LoadThriftFile(idlPath)
	if err != nil {
		b.Fatal(err)
	}
	m, _ := generic.ThriftJSON(idl).Method("AllTypes", "echo")
	argsBytes, err := m.EncodeRequest(nil, req)
	if err != nil {
		b.Fatal(err)
	}
	var args alltypes.AllTypesEchoArgs
	if _, err := args.FastRead(argsBytes); err != nil {
		b.Fatal(err)
	}
	tcli, err := client.New(alltypes.AllTypesServiceInfo(), client.WithHostPorts(addr), client.WithTransport(ttheader.TTHeaderFramed),
		client.WithRPCTimeout(5*time.Second), client.WithLogger(quiet))
	if err != nil {
		b.Fatal(err)
	}
	defer tcli.Close()
	typed := alltypes.NewAllTypesClient(tcli)
	for _, c := range []struct {
		name string
		call func() (any, error)
	}{
		{"skiff", func() (any, error) { return skiff.Call(ctx, "echo", req) }},
		{"kitex", func() (any, error) { return kitex.GenericCall(ctx, "echo", req) }},
		{"skiff-typed", func() (any, error) { return typed.Echo(ctx, args.Req) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			if _, err := c.call(); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(req)))
			b.ReportAllocs()
			b.SetParallelism(16) // 16 callers per P: enough calls in flight to keep both sides busy
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := c.call(); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
