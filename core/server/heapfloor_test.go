package server_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/diag"
	"github.com/skiffrpc/skiff/core/gcfloor"
	"github.com/skiffrpc/skiff/core/internal/toycodec"
	"github.com/skiffrpc/skiff/core/server"
)

// probedFloor returns the heap_floor a server's probe in reg reports.
func probedFloor(reg *diag.Registry) int {
	var dump struct {
		Floor int `json:"heap_floor"`
	}
	for name, v := range reg.Snapshot() {
		if strings.HasPrefix(name, "server/") {
			b, _ := json.Marshal(v)
			_ = json.Unmarshal(b, &dump)
		}
	}
	return dump.Floor
}

// TestHeapFloor: a server raises the process's heap floor when it starts,
// and a client when it is made, to the size their WithHeapFloor asks for,
// and the server's probe reports the process's floor. (The floor is
// process-wide and never shrinks, so each step asks for more than any
// earlier test could have.)
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
	if got := probedFloor(reg); got != base+1<<20 {
		t.Errorf("probe: heap_floor %d, want %d", got, base+1<<20)
	}

	newClient(t, svr.Addr().String(), client.WithHeapFloor(base+2<<20))
	if got := gcfloor.Size(); got != base+2<<20 {
		t.Fatalf("floor after client.New = %d, want %d", got, base+2<<20)
	}
	if got := probedFloor(reg); got != base+2<<20 {
		t.Errorf("probe after the client raised the floor: heap_floor %d, want the process's %d", got, base+2<<20)
	}
}

// heapFloorChildEnv marks the test binary run by TestHeapFloorZero.
const heapFloorChildEnv = "SKIFF_HEAPFLOOR_CHILD"

// TestHeapFloorZero: WithHeapFloor(0) on both sides leaves a fresh process
// without a floor. It runs in a child process, whose floor no other test
// raised.
func TestHeapFloorZero(t *testing.T) {
	if os.Getenv(heapFloorChildEnv) != "" {
		heapFloorZeroChild(t)
		return
	}
	if gcfloor.Tuned() {
		t.Skip("the environment tunes the collector (GOGC or GOMEMLIMIT set): no floor")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestHeapFloorZero$", "-test.count=1")
	cmd.Env = append(os.Environ(), heapFloorChildEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "floor 0 after Start and client.New") {
		t.Fatalf("child did not run the check:\n%s", out)
	}
}

func heapFloorZeroChild(t *testing.T) {
	if gcfloor.Size() != 0 {
		t.Fatalf("fresh process: floor %d, want 0", gcfloor.Size())
	}
	svr := start(t, echo, server.WithHeapFloor(0))
	newClient(t, svr.Addr().String(), client.WithHeapFloor(0))
	if got := gcfloor.Size(); got != 0 {
		t.Fatalf("floor %d after a server and a client that asked for none", got)
	}
	// The parent looks for this line (-test.v is not needed: the child
	// prints it itself).
	os.Stdout.WriteString("floor 0 after Start and client.New\n")
	// A control: the defaults do raise it.
	newClient(t, svr.Addr().String())
	if got := gcfloor.Size(); got != gcfloor.Default {
		t.Fatalf("floor %d after a default client, want %d", got, gcfloor.Default)
	}
}
