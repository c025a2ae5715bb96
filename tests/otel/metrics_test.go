package otel_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/server"
	"github.com/skiffrpc/skiff/core/stats"
	"github.com/skiffrpc/skiff/examples/greeter/greeterpb"
	skiffotel "github.com/skiffrpc/skiff/otel"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// proxy forwards TCP connections to a backend on loopback and counts the
// bytes each way as they pass (up: client to backend).
type proxy struct {
	ln       net.Listener
	backend  string
	wg       sync.WaitGroup
	mu       sync.Mutex
	conns    []net.Conn
	up, down atomic.Int64
}

func newProxy(t *testing.T, backend string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, backend: backend}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.stop)
	return p
}

func (p *proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		b, err := net.Dial("tcp", p.backend)
		if err != nil {
			_ = c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, b)
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pipe(b, c, &p.up)
		go p.pipe(c, b, &p.down)
	}
}

// pipe copies from src to dst, counting into n, then closes both.
func (p *proxy) pipe(dst, src net.Conn, n *atomic.Int64) {
	defer p.wg.Done()
	buf := make([]byte, 32<<10)
	for {
		k, err := src.Read(buf)
		if k > 0 {
			n.Add(int64(k))
			if _, werr := dst.Write(buf[:k]); werr != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	_ = dst.Close()
	_ = src.Close()
}

func (p *proxy) stop() {
	_ = p.ln.Close()
	p.mu.Lock()
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// histogramTotals returns the count and sum of a histogram over its data
// points whose rpc.method is method.
func histogramTotals(t *testing.T, m metricdata.Metrics, method string) (count uint64, sum float64) {
	t.Helper()
	switch h := m.Data.(type) {
	case metricdata.Histogram[int64]:
		for _, dp := range h.DataPoints {
			if v, _ := dp.Attributes.Value("rpc.method"); v.AsString() == method {
				count += dp.Count
				sum += float64(dp.Sum)
			}
		}
	case metricdata.Histogram[float64]:
		for _, dp := range h.DataPoints {
			if v, _ := dp.Attributes.Value("rpc.method"); v.AsString() == method {
				count += dp.Count
				sum += dp.Sum
			}
		}
	default:
		t.Fatalf("%s is a %T, not a histogram", m.Name, m.Data)
	}
	return count, sum
}

// TestMetricsMatchWire makes N calls through a byte-counting proxy on each
// stack: the duration histograms of both sides count N, and the request and
// response size histograms sum to the bytes the proxy saw, give or take
// what the protocol sends besides calls (HTTP/2's preface, settings and
// window updates: at most headerSlack per call plus connSlack).
func TestMetricsMatchWire(t *testing.T) {
	const n = 20
	for _, tc := range []struct {
		st                   stack
		method               string
		headerSlack, connSlk int64
	}{
		{thriftTTHeader(), "Echo", 0, 0},
		{kitexProtobuf(), "SayHello", 0, 0},
		{grpcStack(), "SayHello", 200, 1024},
	} {
		t.Run(tc.st.name, func(t *testing.T) {
			tel := newTelemetry(t)
			addr := startHop(t, hop{}, server.WithSuite(skiffotel.NewServerSuite(tel.opts()...)))
			px := newProxy(t, addr)
			call := tc.st.dial(t, px.ln.Addr().String(), client.WithSuite(skiffotel.NewClientSuite(tel.opts()...)))
			for i := 0; i < n; i++ {
				if err := call(context.Background(), "ok"); err != nil {
					t.Fatal(err)
				}
			}
			tel.waitSpans(t, 2*n)
			ms := tel.metrics(t)
			for _, name := range []string{"rpc.client.duration", "rpc.server.duration"} {
				if c, _ := histogramTotals(t, ms[name], tc.method); c != n {
					t.Errorf("%s counts %d calls, want %d", name, c, n)
				}
			}
			up, down := px.up.Load(), px.down.Load()
			for _, m := range []struct {
				name string
				wire int64
			}{
				{"rpc.client.request.size", up}, {"rpc.server.request.size", up},
				{"rpc.client.response.size", down}, {"rpc.server.response.size", down},
			} {
				c, sum := histogramTotals(t, ms[m.name], tc.method)
				diff := m.wire - int64(sum)
				t.Logf("%s: %d calls, %d bytes; wire %d (%d more)", m.name, c, int64(sum), m.wire, diff)
				if c != n || diff < 0 || diff > n*tc.headerSlack+tc.connSlk {
					t.Errorf("%s: %d calls, %d bytes; the wire carried %d", m.name, c, int64(sum), m.wire)
				}
			}
		})
	}
}

// TestStreamMessages: a server-streaming call of 3 responses records one
// span per side with a message event per message, and the messages per
// RPC histograms.
func TestStreamMessages(t *testing.T) {
	tel := newTelemetry(t)
	addr := startHop(t, hop{}, server.WithSuite(skiffotel.NewServerSuite(tel.opts()...)))
	cli := newClient(t, greeterpb.GreeterServiceInfo(), addr, client.WithStreamTransport(newH2()), client.WithStreamCodec(grpcDefault),
		client.WithSuite(skiffotel.NewClientSuite(tel.opts()...)))
	gc := greeterpb.NewGreeterSkiffClient(cli)
	ss, err := gc.LotsOfHellos(context.Background(), &greeterpb.HelloRequest{Name: "x"})
	if err != nil {
		t.Fatal(err)
	}
	got := 0
	for {
		_, err := ss.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got++
	}
	if got != 3 {
		t.Fatalf("%d replies", got)
	}
	spans := tel.waitSpans(t, 2)
	for _, s := range spans {
		var sent, recvd int
		for _, e := range s.Events {
			if e.Name != "message" {
				continue
			}
			for _, kv := range e.Attributes {
				if kv.Key == "rpc.message.type" && kv.Value.AsString() == "SENT" {
					sent++
				} else if kv.Key == "rpc.message.type" {
					recvd++
				}
			}
		}
		wantSent, wantRecvd := 1, 3 // the client sends the request, gets 3
		if s.SpanKind.String() == "server" {
			wantSent, wantRecvd = 3, 1
		}
		if sent != wantSent || recvd != wantRecvd {
			t.Errorf("%s span: %d sent and %d received message events, want %d and %d", s.SpanKind, sent, recvd, wantSent, wantRecvd)
		}
	}
	ms := tel.metrics(t)
	for name, want := range map[string]float64{
		"rpc.client.requests_per_rpc": 1, "rpc.client.responses_per_rpc": 3,
		"rpc.server.requests_per_rpc": 1, "rpc.server.responses_per_rpc": 3,
	} {
		c, sum := histogramTotals(t, ms[name], "LotsOfHellos")
		if c != 1 || sum != want {
			t.Errorf("%s: count %d sum %v, want 1 and %v", name, c, sum, want)
		}
	}
}

// TestPrometheusScrape: with the OpenTelemetry Prometheus exporter as the
// meter provider's reader, a scrape over HTTP shows the RPC series with
// the calls counted.
func TestPrometheusScrape(t *testing.T) {
	reg := prometheus.NewRegistry()
	exp, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		t.Fatal(err)
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	opts := []skiffotel.Option{skiffotel.WithMeterProvider(mp), skiffotel.WithoutTracing()}
	addr := startHop(t, hop{}, server.WithSuite(skiffotel.NewServerSuite(opts...)))
	call := thriftTTHeader().dial(t, addr, client.WithSuite(skiffotel.NewClientSuite(opts...)))
	const n = 5
	for i := 0; i < n; i++ {
		if err := call(context.Background(), "ok"); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	text := string(body)
	for _, series := range []string{"rpc_client_duration_milliseconds", "rpc_server_duration_milliseconds",
		"rpc_client_request_size_bytes", "rpc_server_response_size_bytes"} {
		count := -1
		for _, line := range strings.Split(text, "\n") {
			if strings.HasPrefix(line, series+"_count{") && strings.Contains(line, `rpc_method="Echo"`) &&
				strings.Contains(line, `rpc_system="thrift"`) {
				f := strings.Fields(line)
				count, _ = strconv.Atoi(f[len(f)-1])
			}
		}
		if count != n {
			t.Errorf("scrape: %s_count for Echo is %d, want %d", series, count, n)
		}
	}
	if t.Failed() {
		t.Logf("scrape:\n%s", text)
	}
}

// TestStreamLevelBase: at stats.LevelBase a stream still gets its span and
// its messages-per-RPC metrics, but no event per message.
func TestStreamLevelBase(t *testing.T) {
	tel := newTelemetry(t)
	addr := startHop(t, hop{})
	cli := newClient(t, greeterpb.GreeterServiceInfo(), addr, client.WithStreamTransport(newH2()), client.WithStreamCodec(grpcDefault),
		client.WithSuite(skiffotel.NewClientSuite(tel.opts()...)), client.WithStatsLevel(stats.LevelBase))
	ss, err := greeterpb.NewGreeterSkiffClient(cli).LotsOfHellos(context.Background(), &greeterpb.HelloRequest{Name: "x"})
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := ss.Recv(); err != nil {
			if !errors.Is(err, io.EOF) {
				t.Fatal(err)
			}
			break
		}
	}
	s := tel.waitSpans(t, 1)[0]
	if len(s.Events) != 0 {
		t.Errorf("events at LevelBase: %v", s.Events)
	}
	if c, sum := histogramTotals(t, tel.metrics(t)["rpc.client.responses_per_rpc"], "LotsOfHellos"); c != 1 || sum != 3 {
		t.Errorf("responses_per_rpc: count %d sum %v", c, sum)
	}
}
