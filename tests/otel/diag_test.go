package otel_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/diag"
	"github.com/skiffrpc/skiff/core/server"
	"github.com/skiffrpc/skiff/examples/echo"
	"github.com/skiffrpc/skiff/examples/greeter/greeterpb"
	ttheader "github.com/skiffrpc/skiff/transport-ttheader"
)

// TestDiagnosis: one server, clients on the three pool kinds (long,
// multiplexed, gRPC streams), all with one registry: the handler's JSON
// shows each section, with a connection per address in each pool.
func TestDiagnosis(t *testing.T) {
	reg := diag.NewRegistry(0)
	addr := startHop(t, hop{}, server.WithDiagnosis(reg))
	long := thriftTTHeader().dial(t, addr, client.WithDiagnosis(reg))
	mux := thriftTTHeader().dial(t, addr, client.WithDiagnosis(reg), client.WithMultiplex(1), client.WithTransport(ttheader.TTHeaderFramed))
	grpc := grpcStack().dial(t, addr, client.WithDiagnosis(reg))
	for _, c := range []caller{long, mux, grpc} {
		if err := c(context.Background(), "ok"); err != nil {
			t.Fatal(err)
		}
	}
	hs := httptest.NewServer(reg)
	defer hs.Close()
	resp, err := http.Get(hs.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	var dump struct {
		Probes map[string]struct {
			Service  string              `json:"service"`
			Services map[string][]string `json:"services"`
			Conns    int                 `json:"connections"`
			Pool     struct {
				Kind  string `json:"kind"`
				Addrs map[string]struct {
					Idle, Conns int
				} `json:"addresses"`
			} `json:"pool"`
			Instances []struct{ Address string } `json:"instances"`
		} `json:"probes"`
		Events []diag.Event `json:"events"`
	}
	if err := json.Unmarshal(body, &dump); err != nil {
		t.Fatal(err)
	}
	srv := dump.Probes["server/"+addr]
	if len(srv.Services[echo.ServiceInfo().Name]) != 3 || len(srv.Services[greeterpb.GreeterServiceInfo().Name]) != 2 || srv.Conns != 3 {
		t.Errorf("server probe: services %v, %d connections (want 3)", srv.Services, srv.Conns)
	}
	kinds := map[string]bool{}
	for name, p := range dump.Probes {
		if p.Pool.Kind == "" {
			continue
		}
		kinds[p.Pool.Kind] = true
		a := p.Pool.Addrs[addr]
		if a.Idle+a.Conns != 1 || len(p.Instances) != 1 || p.Instances[0].Address != addr {
			t.Errorf("%s: pool %+v, instances %v", name, p.Pool, p.Instances)
		}
	}
	if !kinds["long"] || !kinds["mux"] || !kinds["stream"] {
		t.Errorf("pool kinds %v, want long, mux and stream", kinds)
	}
	if len(dump.Events) < 4 { // the server started, three discovery changes
		t.Errorf("events: %+v", dump.Events)
	}
	if t.Failed() {
		t.Logf("%s", body)
	}
}
