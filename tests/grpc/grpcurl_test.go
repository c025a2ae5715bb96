package grpcinterop_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// grpcurlVersion is the grpcurl release the test builds from the Go module
// proxy (in its own module, with its own dependencies).
const grpcurlVersion = "v1.9.3"

var (
	grpcurlOnce sync.Once
	grpcurlBin  string
	grpcurlErr  string
)

// buildGrpcurl installs grpcurl into the test's temporary directory.
func buildGrpcurl(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds grpcurl; skipped with -short")
	}
	grpcurlOnce.Do(func() {
		dir := filepath.Join(tmpDir, "grpcurl")
		cmd := exec.Command("go", "install", "github.com/fullstorydev/grpcurl/cmd/grpcurl@"+grpcurlVersion)
		cmd.Env = append(os.Environ(), "GOBIN="+dir, "GOWORK=off", "GOFLAGS=")
		if out, err := cmd.CombinedOutput(); err != nil {
			grpcurlErr = err.Error() + "\n" + string(out)
			return
		}
		grpcurlBin = filepath.Join(dir, "grpcurl")
	})
	if grpcurlBin == "" {
		t.Fatalf("building grpcurl %s: %s", grpcurlVersion, grpcurlErr)
	}
	return grpcurlBin
}

// TestGrpcurl: the real grpcurl lists, describes and calls a Skiff server's
// services through server reflection (Kitex has neither reflection nor
// health).
func TestGrpcurl(t *testing.T) {
	bin := buildGrpcurl(t)
	addr, _ := startSkiffFull(t)
	run := func(args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, bin, append([]string{"-plaintext"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("grpcurl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	list := run(addr, "list")
	for _, svc := range []string{"grpc.testing.TestService", "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection"} {
		if !strings.Contains(list, svc) {
			t.Errorf("grpcurl list lacks %s:\n%s", svc, list)
		}
	}
	desc := run(addr, "describe", "grpc.testing.TestService.UnaryCall")
	if !strings.Contains(desc, "rpc UnaryCall ( .grpc.testing.SimpleRequest ) returns ( .grpc.testing.SimpleResponse )") {
		t.Errorf("grpcurl describe:\n%s", desc)
	}
	msg := run(addr, "describe", "grpc.testing.SimpleRequest")
	if !strings.Contains(msg, "response_size") {
		t.Errorf("grpcurl describe message:\n%s", msg)
	}
	out := run("-d", `{"response_size": 3}`, addr, "grpc.testing.TestService/UnaryCall")
	if !strings.Contains(out, `"body": "AAAA"`) {
		t.Errorf("grpcurl UnaryCall:\n%s", out)
	}
	health := run(addr, "grpc.health.v1.Health/Check")
	if !strings.Contains(health, `"status": "SERVING"`) {
		t.Errorf("grpcurl health check:\n%s", health)
	}
}
