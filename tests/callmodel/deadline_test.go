package callmodel_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/engine"
	"github.com/skiffrpc/skiff/core/server"
	"github.com/skiffrpc/skiff/core/status"
	"github.com/skiffrpc/skiff/examples/echo"
	ttheader "github.com/skiffrpc/skiff/transport-ttheader"
)

// The deadline race: the client's RPC timeout, and handlers that take a
// time spread uniformly over raceTimeout ± 20 %, so that many calls end
// right when their deadline fires.
const (
	raceTimeout = 20 * time.Millisecond
	raceSpread  = raceTimeout / 5 // ± 20 %
	raceCalls   = 10000
	raceCallers = 50
	raceBudget  = 40 * time.Second // for all calls of one test
)

// raceSleep returns a handler time uniform in [raceTimeout-raceSpread,
// raceTimeout+raceSpread].
func raceSleep() time.Duration {
	return raceTimeout - raceSpread + rand.N(2*raceSpread+1)
}

const roleDeadlineServer = "deadline-server"

// slowEcho is the echo service of the deadline server: Echo of "slow"
// sleeps raceSleep(), anything else answers at once.
type slowEcho struct{}

func (slowEcho) Echo(_ context.Context, req *echo.EchoRequest) (*echo.EchoResponse, error) {
	if req.Message == "slow" {
		time.Sleep(raceSleep())
	}
	return &echo.EchoResponse{Message: req.Message}, nil
}

func (slowEcho) Fail(_ context.Context, code int32) (*echo.EchoResponse, error) {
	return nil, &echo.EchoError{Code: code}
}

func (slowEcho) Notify(context.Context, string) error { return nil }

// runDeadlineServer is the helper process of TestServerSurvivesDeadlineRace:
// a default (Netpoll) server of slowEcho on 127.0.0.1, which prints
// "addr <host:port>" and serves until SIGTERM.
func runDeadlineServer() error {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	svr := server.New(server.WithAddress("127.0.0.1:0"), server.WithLogger(quiet), server.WithExitWaitTime(time.Second))
	if err := svr.RegisterService(echo.ServiceInfo(), slowEcho{}); err != nil {
		return err
	}
	if err := svr.Start(); err != nil {
		return err
	}
	fmt.Printf("addr %s\n", svr.Addr())
	<-sig
	return svr.Stop()
}

// TestServerSurvivesDeadlineRace proves that a TTHeader server survives
// handlers ending at the moment the deadline it took from the caller
// (TTHeader's timeout key, applied with context.WithTimeout) fires: 10,000
// calls with a 20 ms RPC timeout to handlers taking 16-24 ms, against a
// server in a child process, which must still be running, answer a normal
// call afterwards, exit cleanly and report no data race. Callers see only
// success or timeouts.
func TestServerSurvivesDeadlineRace(t *testing.T) {
	srv := startChild(t, roleDeadlineServer)
	addr, ok := srv.line("addr ", 30*time.Second)
	if !ok {
		srv.stop()
		t.Fatalf("the server did not start: %s", srv.outcome())
	}
	cli, err := client.New(echo.ServiceInfo(), client.WithHostPorts(addr),
		client.WithTransport(ttheader.TTHeader), client.WithRPCTimeout(raceTimeout),
		// The std engine: Netpoll's dialer has a data race of its own when
		// a dial is cut short (netpoll v0.7.2), and the server is what is
		// under test.
		client.WithEngine(engine.Std), client.WithLogger(quiet),
		client.WithLongConnection(client.PoolConfig{MaxIdlePerAddress: raceCallers, MaxIdleGlobal: raceCallers}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cli.Close() })
	stub := echo.NewClient(cli)

	deadline := time.Now().Add(raceBudget)
	var next, ok2, timeouts, other atomic.Int64
	var firstOther atomic.Value
	var wg sync.WaitGroup
	for range raceCallers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= raceCalls && time.Now().Before(deadline) && !srv.exited() {
				_, err := stub.Echo(context.Background(), &echo.EchoRequest{Message: "slow"})
				switch {
				case err == nil:
					ok2.Add(1)
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
	made := ok2.Load() + timeouts.Load() + other.Load()
	t.Logf("%d calls: %d ok, %d timeouts, %d other errors", made, ok2.Load(), timeouts.Load(), other.Load())

	if srv.exited() {
		t.Fatalf("server process died during the calls: %s", srv.outcome())
	}
	if made < raceCalls {
		t.Errorf("only %d of %d calls made within %v", made, raceCalls, raceBudget)
	}
	if n := other.Load(); n > 0 {
		t.Errorf("%d calls failed with neither success nor a timeout; first: %v", n, firstOther.Load())
	}
	resp, err := stub.Echo(context.Background(), &echo.EchoRequest{Message: "after"}, client.WithCallTimeout(5*time.Second))
	if err != nil || resp.Message != "after" {
		t.Errorf("a normal call after the race: %v, %v", resp, err)
	}
	srv.stop()
	if srv.err != nil {
		t.Errorf("server process did not exit cleanly: %s", srv.outcome())
	}
}
