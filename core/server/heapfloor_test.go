package server_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/diag"
	"github.com/skiffrpc/skiff/core/gcfloor"
	"github.com/skiffrpc/skiff/core/internal/toycodec"
	"github.com/skiffrpc/skiff/core/server"
)

// TestHeapFloor: a server raises the process's heap floor when it starts,
// and a client when it is made, to the size their WithHeapFloor asks for;
// 0 asks for none. (The floor is process-wide and never shrinks, so each
// step asks for more than any earlier test could have.)
func TestHeapFloor(t *testing.T) {
	if gcfloor.Tuned() {
		t.Skip("the environment tunes the collector (GOGC or GOMEMLIMIT set): no floor")
	}
	base := max(gcfloor.Size(), gcfloor.Default)

	reg := diag.NewRegistry(8)
	svr := server.New(server.WithAddress("127.0.0.1:0"), server.WithLogger(quiet), server.WithHeapFloor(base+1<<20),
		server.WithDiagnosis(reg))
	if err := svr.RegisterService(toycodec.Service(), echo); err != nil {
		t.Fatal(err)
	}
	if gcfloor.Size() > base {
		t.Fatalf("floor %d before Start, want at most %d", gcfloor.Size(), base)
	}
	if err := svr.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svr.Stop() })
	if got := gcfloor.Size(); got != base+1<<20 {
		t.Fatalf("floor after Start = %d, want %d", got, base+1<<20)
	}

	var dump struct {
		Floor int `json:"heap_floor"`
	}
	for name, v := range reg.Snapshot() {
		if strings.HasPrefix(name, "server/") {
			b, _ := json.Marshal(v)
			_ = json.Unmarshal(b, &dump)
		}
	}
	if dump.Floor != base+1<<20 {
		t.Errorf("probe: heap_floor %d, want %d", dump.Floor, base+1<<20)
	}

	newClient(t, svr.Addr().String(), client.WithHeapFloor(0))
	if got := gcfloor.Size(); got != base+1<<20 {
		t.Fatalf("a client asking for no floor changed it to %d", got)
	}
	newClient(t, svr.Addr().String(), client.WithHeapFloor(base+2<<20))
	if got := gcfloor.Size(); got != base+2<<20 {
		t.Fatalf("floor after client.New = %d, want %d", got, base+2<<20)
	}
}
