package core_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLayering keeps the bottom of the stack in order: engines and
// transports meet only in core/conn, the stream SPI does not depend on an
// engine, and a stream codec written against it (such as codec-grpc) does
// not link Netpoll.
func TestLayering(t *testing.T) {
	forbidden := map[string][]string{
		"./engine":    {"github.com/skiffrpc/skiff/core/transport", "github.com/skiffrpc/skiff/core/stream"},
		"./transport": {"github.com/skiffrpc/skiff/core/engine", "github.com/cloudwego/netpoll"},
		"./stream":    {"github.com/skiffrpc/skiff/core/engine", "github.com/cloudwego/netpoll"},
		"./conn":      {"github.com/skiffrpc/skiff/"},
		"./callinfo":  {"github.com/skiffrpc/skiff/core/engine", "github.com/cloudwego/netpoll"},
	}
	for pkg, bad := range forbidden {
		out, err := exec.Command("go", "list", "-deps", pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			for _, b := range bad {
				if strings.HasPrefix(dep, b) && !strings.HasSuffix(pkg, strings.TrimPrefix(dep, "github.com/skiffrpc/skiff/core")) {
					t.Errorf("%s depends on %s", pkg, dep)
				}
			}
		}
	}
}
