package grpcinterop_test

import (
	"context"
	"net"
	"os/exec"
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
	ctx, cancel := context.WithTimeout(context.Background(), caseTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, interopClient, args...)
	cmd.WaitDelay = time.Second
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("%s: no result within %v\n%s", testCase, caseTimeout, out)
	}
	if err != nil {
		t.Fatalf("%s: %v\n%s", testCase, err, out)
	}
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
