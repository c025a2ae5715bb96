package kitexgeneric_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	kclient "github.com/cloudwego/kitex/client"
	"github.com/cloudwego/kitex/client/genericclient"
	kgeneric "github.com/cloudwego/kitex/pkg/generic"
	ktransport "github.com/cloudwego/kitex/transport"

	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/server"
	"github.com/skiffrpc/skiff/generic"
	kall "github.com/skiffrpc/skiff/tests/generic/kitex/kitex_gen/alltypes"
	kallsvc "github.com/skiffrpc/skiff/tests/generic/kitex/kitex_gen/alltypes/alltypes"
	kbase "github.com/skiffrpc/skiff/tests/generic/kitex/kitex_gen/base"
	ttheader "github.com/skiffrpc/skiff/transport-ttheader"
)

// commonJSON is a request in the JSON both Kitex's JSON generic
// (dynamicgo) and Skiff's read: enums and i64 as numbers, binary as
// base64, integer map keys as strings.
const commonJSON = `{"id":"k-1",
 "scalars":{"b":true,"by":-7,"s":-300,"i":70000,"l":1700000000000,"d":-2.5,"str":"s\u00e9","bin":"AAEC/w==","ms":5},
 "containers":{"ints":[1,2],"names":["a"],"byName":{"k":-1},"byInt":{"7":"seven"},"byLong":{"-9":1.5},
   "byColor":{"2":3},"nested":[["x"],[]],"groups":{"g":[{"name":"n","children":[{"name":"c"}]}]},
   "points":[{"x":1,"y":2}],"longs":[3]},
 "inner":{"name":"in"},"color":7,"shape":{"radius":1.25},"withDefault":9,"plain":"p","defColor":1,
 "shapes":[{"label":"l"},{"point":{"x":0,"y":1}}]}`

func newKitexJSONClient(t testing.TB, addr string) genericclient.Client {
	t.Helper()
	p, err := kgeneric.NewThriftFileProviderWithDynamicGo(idlPath)
	if err != nil {
		t.Fatal(err)
	}
	g, err := kgeneric.JSONThriftGeneric(p)
	if err != nil {
		t.Fatal(err)
	}
	cli, err := genericclient.NewClient("AllTypes", g, kclient.WithHostPorts(addr),
		kclient.WithTransportProtocol(ktransport.TTHeaderFramed), kclient.WithRPCTimeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cli.Close(); _ = g.Close() })
	return cli
}

func newSkiffJSONClient(t testing.TB, addr string) *generic.Client {
	t.Helper()
	idl, err := generic.LoadThriftFile(idlPath)
	if err != nil {
		t.Fatal(err)
	}
	cli, err := generic.NewClient("AllTypes", generic.ThriftJSON(idl), client.WithHostPorts(addr),
		client.WithTransport(ttheader.TTHeaderFramed), client.WithRPCTimeout(5*time.Second), client.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cli.Close() })
	return cli
}

// A Kitex JSON generic client calls a typed Skiff server, and gets the
// same JSON as a Skiff JSON generic client does.
func TestKitexJSONClientSkiffServer(t *testing.T) {
	addr := startSkiff(t)
	kcli := newKitexJSONClient(t, addr)
	scli := newSkiffJSONClient(t, addr)
	ctx := context.Background()
	for _, tc := range []struct{ method, req string }{
		{"echo", commonJSON},
		{"fail", `{"id": "f"}`}, // Kitex sends the first argument only: which is 0
	} {
		kout, err := kcli.GenericCall(ctx, tc.method, tc.req)
		if err != nil {
			t.Fatalf("kitex %s: %v", tc.method, err)
		}
		// Kitex's JSON generic takes the first argument's value; Skiff takes
		// the value of a method's one argument, or an object keyed by
		// argument name when there are several.
		sreq := tc.req
		if tc.method == "fail" {
			sreq = `{"req": ` + tc.req + `}`
		}
		sout, err := scli.Call(ctx, tc.method, sreq)
		if err != nil {
			t.Fatalf("skiff %s: %v", tc.method, err)
		}
		// The one difference: an empty map with struct keys, which Kitex
		// writes as {} and Skiff as [] (its form for such maps: an array of
		// [key, value] pairs).
		ka := strings.ReplaceAll(normalize(t, kout.(string)), `"byPoint":{}`, `"byPoint":[]`)
		if a, b := ka, normalize(t, sout.(string)); a != b {
			t.Fatalf("%s:\nkitex %s\nskiff %s", tc.method, a, b)
		}
	}
}

func mustCall(t testing.TB, c *generic.Client, method, req string) string {
	t.Helper()
	out, err := c.Call(context.Background(), method, req)
	if err != nil {
		t.Fatal(err)
	}
	return out.(string)
}

// A Skiff JSON generic client calls a typed Kitex server, and gets the
// same answers as from the same typed Skiff server.
func TestSkiffJSONClientKitexServer(t *testing.T) {
	kitexCli := newSkiffJSONClient(t, startKitex(t))
	skiffCli := newSkiffJSONClient(t, startSkiff(t))
	for _, tc := range []struct{ method, req, want string }{
		{"echo", commonJSON, ""},
		{"echo", `{"id": "e", "containers": {"byPoint": [[{"x": 1, "y": 2}, "p"]], "byBool": {"true": "t"}, "byDouble": {"0.5": "h"}}}`, ""},
		{"add", `{"a": 40, "b": "2"}`, `42`},
		{"mid", `{"a": {"x": 0, "y": 0}, "b": {"x": 2, "y": 4}}`, `{"x": 1, "y": 2}`},
		{"colors", `2`, `[1, 7]`},
		{"points", `[{"x": 3, "y": 3}]`, `{"0": {"x": 3, "y": 3}}`},
		{"ping", `"x"`, `"pong x"`},
	} {
		fromKitex := normalize(t, mustCall(t, kitexCli, tc.method, tc.req))
		if fromSkiff := normalize(t, mustCall(t, skiffCli, tc.method, tc.req)); fromKitex != fromSkiff {
			t.Fatalf("%s:\nkitex server %s\nskiff server %s", tc.method, fromKitex, fromSkiff)
		}
		if tc.want != "" && fromKitex != normalize(t, tc.want) {
			t.Fatalf("%s:\n got %s\nwant %s", tc.method, fromKitex, normalize(t, tc.want))
		}
	}
	_, err := kitexCli.Call(context.Background(), "fail", `{"req": {"id": "z"}, "which": 2}`)
	var x *generic.ExceptionError
	if !errors.As(err, &x) || x.Name != "inv" || normalize(t, x.Value.(string)) != `{"reason":"bad z"}` {
		t.Fatalf("fail: %v", err)
	}
}

// A Skiff binary generic proxy between a Kitex client and a Kitex
// server: the proxy's reply payloads are the backend's, byte for byte.
func TestBinaryProxyKitex(t *testing.T) {
	backend := startKitex(t)
	idl, err := generic.LoadThriftFile(idlPath)
	if err != nil {
		t.Fatal(err)
	}
	fwd, err := generic.NewClient("AllTypes", generic.ThriftBinary(idl), client.WithHostPorts(backend),
		client.WithTransport(ttheader.TTHeaderFramed), client.WithRPCTimeout(5*time.Second), client.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	defer fwd.Close()
	var mu sync.Mutex
	var forwarded int
	forward := generic.Forward(fwd)
	proxy := server.New(server.WithAddress("127.0.0.1:0"), server.WithLogger(quiet),
		server.WithUnknownMethodHandler(func(ctx context.Context, svc, method string, req []byte) ([]byte, error) {
			out, err := forward(ctx, svc, method, req)
			if err == nil {
				// The same call straight to the backend gives the same bytes.
				direct, derr := fwd.Call(ctx, method, req)
				if derr != nil || !bytes.Equal(direct.([]byte), out) {
					return nil, errors.New("the proxied reply differs from the backend's")
				}
				mu.Lock()
				forwarded++
				mu.Unlock()
			}
			return out, err
		}))
	if err := proxy.Start(); err != nil {
		t.Fatal(err)
	}
	defer proxy.Stop()
	kcli, err := kallsvc.NewClient("AllTypes", kclient.WithHostPorts(proxy.Addr().String()),
		kclient.WithTransportProtocol(ktransport.TTHeaderFramed), kclient.WithRPCTimeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	color := kbase.Color_GREEN
	req := &kall.Everything{Id: "via", Color: &color, Containers: &kall.Containers{ByPoint: map[*kbase.Point]string{{X: 1, Y: 1}: "p"}}}
	got, err := kcli.Echo(ctx, req)
	if err != nil || got.Id != "via" || *got.Color != color || len(got.Containers.ByPoint) != 1 {
		t.Fatalf("Echo via proxy: %+v %v", got, err)
	}
	_, err = kcli.Fail(ctx, req, 1)
	var nf *kall.NotFound
	if !errors.As(err, &nf) || nf.Code != 404 || nf.What != "via" {
		t.Fatalf("Fail via proxy: %v", err)
	}
	if n, err := kcli.Add(ctx, 2, 3); err != nil || n != 5 {
		t.Fatalf("Add via proxy: %d %v", n, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if forwarded != 3 {
		t.Fatalf("the proxy forwarded %d calls, want 3", forwarded)
	}
}
