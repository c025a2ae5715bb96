package kitexpb_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	kclient "github.com/cloudwego/kitex/client"
	"github.com/cloudwego/kitex/pkg/klog"
	"github.com/cloudwego/kitex/pkg/rpcinfo"
	"github.com/cloudwego/kitex/pkg/transmeta"
	kserver "github.com/cloudwego/kitex/server"
	ktransport "github.com/cloudwego/kitex/transport"

	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/server"
	pb "github.com/skiffrpc/skiff/tests/kitexpb/interoppb"
	kpb "github.com/skiffrpc/skiff/tests/kitexpb/kitex_gen/interoppb"
	"github.com/skiffrpc/skiff/tests/kitexpb/kitex_gen/interoppb/interop"
	ttheader "github.com/skiffrpc/skiff/transport-ttheader"
)

// peerEnv names the server a re-executed test binary runs for the
// benchmarks ("skiff" or "kitex").
const peerEnv = "SKIFF_KITEXPB_PEER"

// benchPeer runs this test binary as a benchmark server when peerEnv is
// set: it prints the server's address, serves until its stdin closes, and
// exits. It reports false when peerEnv is not set.
func benchPeer() bool {
	kind := os.Getenv(peerEnv)
	if kind == "" {
		return false
	}
	klog.SetLevel(klog.LevelFatal)
	addr, stop, err := runServer(kind)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	fmt.Println(addr)
	_, _ = io.Copy(io.Discard, os.Stdin)
	stop()
	os.Exit(0)
	return true
}

// runServer starts a Skiff or Kitex Interop server on a free loopback port.
func runServer(kind string) (string, func(), error) {
	switch kind {
	case "skiff":
		svr := server.New(server.WithAddress("127.0.0.1:0"), server.WithLogger(slog.New(slog.DiscardHandler)))
		if err := svr.RegisterService(serverInfo(), skiffImpl{}); err != nil {
			return "", nil, err
		}
		if err := svr.Start(); err != nil {
			return "", nil, err
		}
		return svr.Addr().String(), func() { _ = svr.Stop() }, nil
	case "kitex":
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", nil, err
		}
		svr := interop.NewServer(&kitexImpl{},
			kserver.WithListener(ln),
			kserver.WithMetaHandler(transmeta.ServerTTHeaderHandler),
			kserver.WithExitWaitTime(100*time.Millisecond),
			kserver.WithServerBasicInfo(&rpcinfo.EndpointBasicInfo{ServiceName: "Interop"}))
		done := make(chan error, 1)
		go func() { done <- svr.Run() }()
		select {
		case err := <-done:
			return "", nil, err
		case <-time.After(100 * time.Millisecond):
		}
		return ln.Addr().String(), func() {
			_ = svr.Stop()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
			}
		}, nil
	}
	return "", nil, fmt.Errorf("unknown server kind %q", kind)
}

// remoteServer runs a server of kind in a child process (this test binary)
// and stops it at cleanup.
func remoteServer(b *testing.B, kind string) string {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), peerEnv+"="+kind)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	waited := make(chan error, 1)
	b.Cleanup(func() {
		_ = stdin.Close()
		go func() { waited <- cmd.Wait() }()
		select {
		case <-waited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-waited
		}
	})
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(stdout).ReadString('\n')
		line <- strings.TrimSpace(s)
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case addr := <-line:
		if addr == "" {
			b.Fatal("peer process printed no address")
		}
		return addr
	case <-time.After(30 * time.Second):
		b.Fatal("peer process did not start")
	}
	return ""
}

// oneKB is the 1 KB request: a 1024-byte string; the reply carries it back
// inside EchoResponse.
func oneKB() *pb.EchoRequest {
	return &pb.EchoRequest{Message: strings.Repeat("x", 1024), Seq: 1}
}

// BenchmarkEcho1KB measures one 1 KB echo call over Kitex Protobuf in
// TTHeader+Framed (metadata handlers on both sides), for every pairing of
// Skiff and Kitex client and server.
//
// With server=remote/... the server runs in a child process, so allocs/op
// is the client side alone; with server=local/... both sides run in this
// process and allocs/op is their sum. A server's own allocations per call
// are the local figure minus the remote one for the same client.
func BenchmarkEcho1KB(b *testing.B) {
	for _, where := range []string{"remote", "local"} {
		for _, srv := range []string{"skiff", "kitex"} {
			for _, cli := range []string{"skiff", "kitex"} {
				b.Run("server="+where+"-"+srv+"/client="+cli, func(b *testing.B) {
					var addr string
					if where == "remote" {
						addr = remoteServer(b, srv)
					} else {
						a, stop, err := runServer(srv)
						if err != nil {
							b.Fatal(err)
						}
						b.Cleanup(stop)
						addr = a
					}
					call := benchClient(b, cli, addr)
					for range 100 { // warm up connections and pools
						call()
					}
					b.ReportAllocs()
					b.ResetTimer()
					for b.Loop() {
						call()
					}
				})
			}
		}
	}
}

// benchClient returns a function that makes one 1 KB echo call from a
// Skiff or Kitex client to addr.
func benchClient(b *testing.B, kind, addr string) func() {
	ctx := context.Background()
	switch kind {
	case "skiff":
		cli, err := client.New(pb.InteropServiceInfo(), client.WithHostPorts(addr), client.WithTransport(ttheader.TTHeaderFramed),
			client.WithCaller("bench"), client.WithLogger(slog.New(slog.DiscardHandler)))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = cli.Close() })
		stub := pb.NewInteropSkiffClient(cli)
		req := oneKB()
		return func() {
			if _, err := stub.Echo(ctx, req); err != nil {
				b.Fatal(err)
			}
		}
	default:
		cli, err := interop.NewClient("Interop", kclient.WithHostPorts(addr),
			kclient.WithClientBasicInfo(&rpcinfo.EndpointBasicInfo{ServiceName: "bench"}),
			kclient.WithMetaHandler(transmeta.ClientTTHeaderHandler),
			kclient.WithTransportProtocol(ktransport.TTHeaderFramed))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() {
			if c, ok := cli.(io.Closer); ok {
				_ = c.Close()
			}
		})
		req := toKitex(b, oneKB(), &kpb.EchoRequest{})
		return func() {
			if _, err := cli.Echo(ctx, req); err != nil {
				b.Fatal(err)
			}
		}
	}
}
