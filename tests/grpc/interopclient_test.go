package grpcinterop_test

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// coreCases are the 14 core interop cases.
var coreCases = []string{
	"empty_unary", "large_unary", "client_streaming", "server_streaming",
	"ping_pong", "empty_stream", "timeout_on_sleeping_server",
	"cancel_after_begin", "cancel_after_first_response",
	"status_code_and_message", "special_status_message", "custom_metadata",
	"unimplemented_method", "unimplemented_service",
}

// caseTimeout bounds one interop client run.
const caseTimeout = 30 * time.Second

// runInteropClient runs grpc-go's interop client for one case against addr
// and fails t with its output unless it exits 0.
func runInteropClient(t *testing.T, addr, testCase string, cert *testCert) {
	t.Helper()
	if interopClient == "" {
		if buildErr != nil {
			t.Fatal(buildErr)
		}
		t.Skip("interop client not built in -short mode")
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"--server_host=" + host, "--server_port=" + port, "--test_case=" + testCase}
	if cert != nil {
		args = append(args, "--use_tls", "--use_test_ca", "--ca_file="+cert.caFile, "--server_host_override="+serverName)
	}
	// cancel_after_begin races inside grpc-go's client: it cancels, then
	// CloseAndRecv sends END_STREAM at once while the RST_STREAM of the
	// cancellation goes from another goroutine. When END_STREAM wins, the
	// server has a complete call and answers it; a reply that arrives
	// before CloseAndRecv reads is returned even though the context is
	// canceled (its recvBufferReader queues the context's error behind
	// buffered data), and the case fails with code 0. A fast server on
	// loopback loses that race now and then (CI, 1 run in many), so that
	// case gets three tries; any other failure, or three, still fails.
	tries := 1
	if testCase == "cancel_after_begin" {
		tries = 3
	}
	for try := 1; ; try++ {
		out, err := runInteropClientOnce(args)
		if err == nil {
			return
		}
		if try == tries || !strings.Contains(string(out), "got error code 0, want 1") {
			t.Fatalf("%s: %v\n%s", testCase, err, out)
		}
		t.Logf("%s, try %d: the reply won grpc-go's client-side race with the cancellation; again", testCase, try)
	}
}

// runInteropClientOnce runs grpc-go's interop client with args, bounded by
// caseTimeout, and returns its output.
func runInteropClientOnce(args []string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), caseTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, interopClient, args...)
	cmd.WaitDelay = time.Second
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		return out, fmt.Errorf("no result within %v", caseTimeout)
	}
	return out, err
}

// TestInteropClientGRPCGo is the control: grpc-go's interop client against
// grpc-go's own interop server, so a failure against Skiff is Skiff's.
func TestInteropClientGRPCGo(t *testing.T) {
	for _, mode := range []string{"plaintext", "tls"} {
		t.Run(mode, func(t *testing.T) {
			var cert *testCert
			if mode == "tls" {
				cert = getCert(t)
			}
			addr := startGRPCGo(t, cert)
			for _, c := range coreCases {
				t.Run(c, func(t *testing.T) { runInteropClient(t, addr, c, cert) })
			}
		})
	}
}
