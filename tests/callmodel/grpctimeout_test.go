package callmodel_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	testpb "google.golang.org/grpc/interop/grpc_testing"

	grpccodec "github.com/skiffrpc/skiff/codec-grpc"
	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/engine"
	"github.com/skiffrpc/skiff/core/server"
	"github.com/skiffrpc/skiff/core/status"
	grpcinterop "github.com/skiffrpc/skiff/tests/grpc"
	h2transport "github.com/skiffrpc/skiff/transport-http2"
)

const (
	roleGRPCClient = "grpc-client"
	// addrEnv gives the gRPC client helper process its server address.
	addrEnv = "SKIFF_CALLMODEL_ADDR"
)

// slowTestService is grpc.testing.TestService whose UnaryCall takes
// raceSleep() (ignoring its context, as plain handler code does).
type slowTestService struct{ grpcinterop.TestService }

func (slowTestService) UnaryCall(_ context.Context, req *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	if string(req.GetPayload().GetBody()) == "slow" {
		time.Sleep(raceSleep())
	}
	return &testpb.SimpleResponse{Payload: req.GetPayload()}, nil
}

// grpcTimeoutResult is what the gRPC client helper process reports, as one
// JSON line after "result ".
type grpcTimeoutResult struct {
	Made, OK, Timeouts, Other int64
	FirstOther                string
}

// runGRPCTimeoutClient is the helper process of
// TestGRPCClientSurvivesTimeouts: raceCalls unary calls from raceCallers
// goroutines to the gRPC server at $SKIFF_CALLMODEL_ADDR, half on a client
// with WithRPCTimeout(raceTimeout), half on one without a timeout under a
// context deadline of raceTimeout. It prints the counts as
// "result <json>" and exits.
func runGRPCTimeoutClient() error {
	addr := os.Getenv(addrEnv)
	newClient := func(opts ...client.Option) (*client.Client, error) {
		return client.New(grpcinterop.TestServiceInfo(), append([]client.Option{
			client.WithHostPorts(addr), client.WithLogger(quiet),
			client.WithStreamTransport(h2transport.New()), client.WithStreamCodec(grpccodec.Default),
		}, opts...)...)
	}
	rpcCli, err := newClient(client.WithRPCTimeout(raceTimeout))
	if err != nil {
		return err
	}
	defer rpcCli.Close()
	ctxCli, err := newClient()
	if err != nil {
		return err
	}
	defer ctxCli.Close()
	byRPCTimeout, byDeadline := grpcinterop.NewClient(rpcCli), grpcinterop.NewClient(ctxCli)

	req := &testpb.SimpleRequest{Payload: &testpb.Payload{Body: []byte("slow")}}
	deadline := time.Now().Add(raceBudget)
	var next, made, ok, timeouts, other atomic.Int64
	var firstOther atomic.Value
	var wg sync.WaitGroup
	for range raceCallers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				n := next.Add(1)
				if n > raceCalls || time.Now().After(deadline) {
					return
				}
				var err error
				if n%2 == 0 {
					_, err = byRPCTimeout.UnaryCall(context.Background(), req)
				} else {
					ctx, cancel := context.WithTimeout(context.Background(), raceTimeout)
					_, err = byDeadline.UnaryCall(ctx, req)
					cancel()
				}
				made.Add(1)
				switch {
				case err == nil:
					ok.Add(1)
				case errors.Is(err, status.ErrTimeout):
					timeouts.Add(1)
				default:
					other.Add(1)
					firstOther.CompareAndSwap(nil, err.Error())
				}
			}
		}()
	}
	wg.Wait()
	res := grpcTimeoutResult{Made: made.Load(), OK: ok.Load(), Timeouts: timeouts.Load(), Other: other.Load()}
	if s, _ := firstOther.Load().(string); s != "" {
		res.FirstOther = s
	}
	b, err := json.Marshal(res)
	if err != nil {
		return err
	}
	_, err = os.Stdout.Write(append(append([]byte("result "), b...), '\n'))
	return err
}

// TestGRPCClientSurvivesTimeouts proves that a Skiff gRPC client survives
// calls that end right at their deadline: 10,000 unary calls to handlers
// taking 16-24 ms, half bounded by a 20 ms WithRPCTimeout and half by a
// 20 ms context deadline, made by a client in a child process, which must
// finish them all, see only success or timeouts (errors.Is
// status.ErrTimeout), exit cleanly and report no data race.
func TestGRPCClientSurvivesTimeouts(t *testing.T) {
	// The client resets a stream for every call that times out, thousands a
	// second; lift the server's rapid-reset bound (GOAWAY ENHANCE_YOUR_CALM
	// "too_many_resets" past 200 a second), which is not under test here.
	h2 := h2transport.New(h2transport.WithMaxResetRate(1<<30, 1e9))
	svr := server.New(server.WithAddress("127.0.0.1:0"), server.WithLogger(quiet),
		server.WithEngine(engine.Std), server.WithExitWaitTime(time.Second), server.WithStreamProtocols(h2))
	if err := svr.RegisterService(grpcinterop.TestServiceInfo(), slowTestService{grpcinterop.NewTestServer()}); err != nil {
		t.Fatal(err)
	}
	if err := svr.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svr.Stop() })

	cli := startChild(t, roleGRPCClient, addrEnv+"="+svr.Addr().String())
	line, ok := cli.line("result ", raceBudget+20*time.Second)
	if !ok {
		cli.stop()
		t.Fatalf("the client process reported no result: %s", cli.outcome())
	}
	var res grpcTimeoutResult
	if err := json.Unmarshal([]byte(line), &res); err != nil {
		t.Fatalf("client result %q: %v", line, err)
	}
	t.Logf("%d calls: %d ok, %d timeouts, %d other errors", res.Made, res.OK, res.Timeouts, res.Other)
	select {
	case <-cli.done:
	case <-time.After(20 * time.Second):
		cli.stop()
		t.Fatalf("the client process did not exit after its calls: %s", cli.outcome())
	}
	if cli.err != nil {
		t.Errorf("client process did not exit cleanly: %s", cli.outcome())
	}
	if res.Made != raceCalls {
		t.Errorf("only %d of %d calls made within %v", res.Made, raceCalls, raceBudget)
	}
	if res.Other > 0 {
		t.Errorf("%d calls failed with neither success nor a timeout; first: %s", res.Other, res.FirstOther)
	}
}
