package retry

import (
	"context"
	"errors"
	"reflect"
	"strconv"
	"time"

	"github.com/skiffrpc/skiff/core/callinfo"
	"github.com/skiffrpc/skiff/core/discovery"
	"github.com/skiffrpc/skiff/core/endpoint"
	"github.com/skiffrpc/skiff/core/metainfo"
	"github.com/skiffrpc/skiff/core/status"
	"github.com/skiffrpc/skiff/core/stream"
)

// RetryReqKey is the persistent metainfo key a retry or backup request
// carries (its value is the retry's number, "1" for the first), as Kitex
// sends it (RPC_PERSIST_RetryReq on TTHeader). A service that receives a
// request carrying it does not retry the calls it makes for it (chain
// stop). gRPC metadata carries it as rpc-persist-retryreq, which reads back
// as RETRYREQ; both spellings are recognised.
const RetryReqKey = "RetryReq"

// IsRetryRequest reports whether ctx carries the retry marker: the request
// being served is itself a retry or backup request of an upstream call.
func IsRetryRequest(ctx context.Context) bool {
	if _, ok := metainfo.GetPersistentValue(ctx, RetryReqKey); ok {
		return true
	}
	_, ok := metainfo.GetPersistentValue(ctx, "RETRYREQ")
	return ok
}

// latencySampleMask: a call without a backup request or a duration bound
// is timed one time in latencySampleMask+1, to learn the method's latency
// cheaply.
const latencySampleMask = 15

// Middleware is the retry middleware, which Options installs. It calls the
// rest of the chain once per attempt. Streams (NewStream) pass through
// untouched.
//
// Client middleware added after it runs once per attempt, and with backup
// requests several attempts run at once, each on its own goroutine with a
// result value of its own: such middleware must not write the call's
// callinfo.Info (the attempt's callinfo.Attempt is its own). Middleware
// added before it sees the call once.
func (r *Retryer) Middleware(next endpoint.Endpoint) endpoint.Endpoint {
	return func(ctx context.Context, req, resp any) error {
		ci := callinfo.From(ctx)
		if ci == nil {
			return next(ctx, req, resp)
		}
		if _, ok := req.(*stream.Args); ok {
			return next(ctx, req, resp)
		}
		s, p := r.state(ci)
		if cp, ok := policyKey.Get(ci); ok {
			p = cp
		} else if name, ok := namedKey.Get(ci); ok {
			if np := (*r.policies.Load())[name]; np != nil {
				p = np
			}
		}
		var err error
		switch {
		case p == nil:
			err = next(ctx, req, resp)
		case p.backup && !ci.Oneway && resp != nil:
			err = r.hedged(ctx, ci, s, p, next, req, resp)
		default:
			err = r.call(ctx, ci, s, p, next, req, resp)
		}
		if err != nil && !status.IsDeclared(err) {
			err = r.runFallback(ctx, ci, s, req, resp, err)
		}
		return err
	}
}

func (r *Retryer) runFallback(ctx context.Context, ci *callinfo.Info, s *methodState, req, resp any, err error) error {
	f := r.fallback
	if cf, ok := fallbackKey.Get(ci); ok {
		f = cf
	}
	if f == nil {
		return err
	}
	s.fallbackRuns.Add(1)
	rep, ok := reportKey.Get(ci)
	if !ok {
		rep = &Report{}
		reportKey.Set(ci, rep)
	}
	rep.Fallback = true
	return f(ctx, req, resp, err)
}

// succeeded reports whether err is an answer: nil, a declared exception or
// a business error.
func succeeded(err error) bool {
	if err == nil || status.IsDeclared(err) {
		return true
	}
	var be *status.BizError
	return errors.As(err, &be)
}

// verdict is what classify decided about a finished attempt.
type verdict uint8

const (
	done       verdict = iota // success, or a failure that is not retried
	retryable                 // retry it, within the limits
	unsent                    // the request was not sent: retry it anywhere
	notIdem                   // it would be retried, but the method is not idempotent
	canceledBy                // the caller's context ended
)

func (r *Retryer) classify(ctx context.Context, ci *callinfo.Info, p *policy, resp any, err error) verdict {
	if ctx.Err() != nil {
		return canceledBy
	}
	if err != nil && (errors.Is(err, status.ErrUnsent) || errors.Is(err, status.ErrCircuitOpen)) {
		return unsent
	}
	want := false
	if !succeeded(err) {
		var se *status.Error
		if errors.As(err, &se) {
			switch {
			case se.IsRemote():
				want = p.retriesCode(se.Code())
			case se.Kind() == status.KindTimeout:
				want = !p.NoTimeoutRetry
			case se.Kind() == status.KindConnLost:
				want = !p.NoConnLostRetry
			}
		}
	}
	if !want && p.RetryIf != nil {
		want = p.RetryIf(ctx, resp, err)
	}
	switch {
	case !want:
		return done
	case !r.idempotent(ci.Method):
		return notIdem
	}
	return retryable
}

// call runs a call without backup requests: an attempt, then retries one
// after the other while its failures are retried and no limit stops it.
// Sequential attempts share resp: an attempt ends before the next starts.
func (r *Retryer) call(ctx context.Context, ci *callinfo.Info, s *methodState, p *policy, next endpoint.Endpoint, req, resp any) error {
	n := s.calls.Add(1)
	s.deposit(&p.Budget)
	var start time.Time
	timed := n&latencySampleMask == 0 || p.MaxDuration > 0 || p.Circuit != nil
	if timed {
		start = time.Now()
	}
	err := next(ctx, req, resp)
	if err == nil && p.RetryIf == nil {
		if timed {
			now := time.Now()
			s.lat.record(now.Sub(start), now)
			if p.Circuit != nil {
				s.circ.record(false, now, p.Circuit)
			}
		}
		return nil
	}
	if !timed {
		start = time.Now() // the first attempt's start is not known: count from its end
	}
	return r.retryAfter(ctx, ci, s, p, next, req, resp, err, start, timed)
}

// retryAfter goes on with a call whose first attempt ended with err.
func (r *Retryer) retryAfter(ctx context.Context, ci *callinfo.Info, s *methodState, p *policy, next endpoint.Endpoint,
	req, resp any, err error, start time.Time, timed bool) error {
	var (
		rep      *Report
		excluded []string
		first    discovery.Instance
		tryStart = start
	)
	for n := 1; ; n++ {
		now := time.Now()
		at := ci.LastAttempt()
		var addr string
		if at != nil {
			addr = at.Address
			if n == 1 {
				first = at.Instance
			}
		}
		if succeeded(err) && (timed || n > 1) {
			s.lat.record(now.Sub(tryStart), now)
		}
		if p.Circuit != nil {
			s.circ.record(!succeeded(err), now, p.Circuit)
		}
		if rep != nil || n > 1 {
			if rep == nil {
				rep = &Report{}
			}
			kind := Retry
			if len(rep.Tries) == 0 {
				kind = First
			}
			rep.Tries = append(rep.Tries, Try{Kind: kind, Address: addr, Err: err, Latency: now.Sub(tryStart)})
		}
		v := r.classify(ctx, ci, p, resp, err)
		if v == done || v == canceledBy {
			break
		}
		stop, backoff := r.mayRetry(ctx, s, p, v, n, start, now, false)
		if stop != "" {
			if rep == nil {
				rep = &Report{Tries: []Try{{Kind: First, Address: addr, Err: err, Latency: now.Sub(tryStart)}}}
			}
			rep.Stop = stop
			break
		}
		if backoff > 0 {
			t := time.NewTimer(backoff)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				err = ctxErr(ctx)
				if rep != nil {
					reportKey.Set(ci, rep)
				}
				return err
			}
		}
		if rep == nil {
			rep = &Report{Tries: []Try{{Kind: First, Address: addr, Err: err, Latency: now.Sub(tryStart)}}}
		}
		if addr != "" {
			excluded = append(excluded, addr)
		}
		h := &hint{exclude: excluded}
		if p.SameInstance && first != nil {
			h.same = first
		}
		s.retries.Add(1)
		if v == unsent {
			s.unsent.Add(1)
		}
		actx := &hintCtx{Context: metainfo.WithPersistentValue(ctx, RetryReqKey, strconv.Itoa(n)), h: h}
		tryStart = time.Now()
		err = next(actx, req, resp)
	}
	if rep != nil {
		if len(rep.Tries) > 0 {
			rep.Tries[len(rep.Tries)-1].Won = true
		}
		reportKey.Set(ci, rep)
	}
	return err
}

// mayRetry checks the limits before attempt n+1 (n attempts made): it
// returns the name of the limit that stops it, or "" and the backoff to
// wait first. A hedge (backup request) has no backoff.
func (r *Retryer) mayRetry(ctx context.Context, s *methodState, p *policy, v verdict, n int, start, now time.Time, hedge bool) (string, time.Duration) {
	if v == notIdem {
		s.idempotencyStops.Add(1)
		return "idempotency", 0
	}
	if n >= p.MaxAttempts {
		return "attempts", 0
	}
	if v != unsent {
		if !p.NoChainStop && IsRetryRequest(ctx) {
			s.chainStops.Add(1)
			return "chain", 0
		}
		if p.Circuit != nil && s.circ.open(now, p.Circuit) {
			s.circuitStops.Add(1)
			return "circuit", 0
		}
	}
	var backoff time.Duration
	if p.Backoff != nil && !hedge && v != unsent {
		backoff = p.Backoff.Delay(n)
	}
	begin := now.Add(backoff)
	if p.MaxDuration > 0 && !begin.Before(start.Add(p.MaxDuration)) {
		s.deadlineStops.Add(1)
		return "duration", 0
	}
	if d, ok := ctx.Deadline(); ok {
		left := d.Sub(begin)
		est, known := s.lat.quantile(0.5)
		if left <= 0 || (known && left < est) {
			s.deadlineStops.Add(1)
			return "deadline", 0
		}
	}
	if v != unsent && !s.withdraw(&p.Budget, now) {
		s.budgetStops.Add(1)
		return "budget", 0
	}
	return "", backoff
}

func ctxErr(ctx context.Context) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return status.Wrap(status.ErrTimeout, "context deadline exceeded", ctx.Err())
	}
	return status.Wrap(status.ErrCanceled, "context canceled", ctx.Err())
}

// hedgeTry is one attempt of a call with backup requests.
type hedgeTry struct {
	kind   TryKind
	h      *hint
	res    any
	cancel context.CancelFunc
	start  time.Time
	done   bool
	err    error
	lat    time.Duration
}

type outcome struct {
	i   int
	err error
	lat time.Duration
}

// hedged runs a call with backup requests. Each attempt decodes into a
// result of its own, so a loser still running cannot touch resp; the
// winner's is copied into resp.
func (r *Retryer) hedged(ctx context.Context, ci *callinfo.Info, s *methodState, p *policy, next endpoint.Endpoint, req, resp any) error {
	rv := reflect.ValueOf(resp)
	switch {
	case rv.Kind() != reflect.Pointer || rv.IsNil():
		return r.call(ctx, ci, s, p, next, req, resp)
	case !r.idempotent(ci.Method):
		s.idempotencyStops.Add(1)
		return r.call(ctx, ci, s, p, next, req, resp)
	case !p.NoChainStop && IsRetryRequest(ctx):
		s.chainStops.Add(1)
		return r.call(ctx, ci, s, p, next, req, resp)
	case ci.Target != "":
		// Pinned to one address (client.WithHostPort): a backup request
		// would go to the same place. Only failures are retried.
		return r.call(ctx, ci, s, p, next, req, resp)
	}
	s.calls.Add(1)
	s.deposit(&p.Budget)
	rep := &Report{}
	reportKey.Set(ci, rep) // set before any attempt runs: ci is not written while attempts may read it
	start := time.Now()
	results := make(chan outcome, MaxAttempts)
	var tries []*hedgeTry
	launch := func(kind TryKind) {
		i := len(tries)
		t := &hedgeTry{kind: kind, h: &hint{}, res: reflect.New(rv.Type().Elem()).Interface()}
		for _, o := range tries {
			if in, _, _ := o.h.get(); in != nil {
				if p.SameInstance {
					t.h.same = in
					break
				}
				t.h.exclude = append(t.h.exclude, in.Address())
			}
		}
		var actx context.Context
		actx, t.cancel = context.WithCancel(ctx)
		if i > 0 {
			actx = metainfo.WithPersistentValue(actx, RetryReqKey, strconv.Itoa(i))
			if kind == Hedge {
				s.hedges.Add(1)
			} else {
				s.retries.Add(1)
			}
		}
		actx = &hintCtx{Context: actx, h: t.h}
		tries = append(tries, t)
		t.start = time.Now()
		go func() {
			err := next(actx, req, t.res)
			results <- outcome{i: i, err: err, lat: time.Since(t.start)}
			t.cancel()
		}()
	}
	delay := p.BackupDelay
	if p.BackupPercentile > 0 {
		if q, ok := s.lat.quantile(p.BackupPercentile); ok {
			delay = q
		}
	}
	launch(First)
	timer := time.NewTimer(delay)
	defer timer.Stop()
	pending, winner := 1, -1
	for winner < 0 {
		select {
		case o := <-results:
			pending--
			t := tries[o.i]
			t.done, t.err, t.lat = true, o.err, o.lat
			now := time.Now()
			if p.Circuit != nil {
				s.circ.record(!succeeded(o.err), now, p.Circuit)
			}
			v := r.classify(ctx, ci, p, t.res, o.err)
			if v == done && succeeded(o.err) {
				s.lat.record(o.lat, now)
			}
			if v == done || v == canceledBy || (p.BackupOnly && v != unsent) {
				winner = o.i
				break
			}
			if stop, _ := r.mayRetry(ctx, s, p, v, len(tries), start, now, true); stop == "" {
				launch(Retry)
				pending++
			} else if pending == 0 {
				rep.Stop = stop
				winner = o.i
			}
		case <-timer.C:
			if ci.Attempts() == 0 {
				timer.Reset(time.Millisecond) // the first attempt has not started yet
				continue
			}
			stop, _ := r.mayRetry(ctx, s, p, retryable, len(tries), start, time.Now(), true)
			if stop == "" {
				launch(Hedge)
				pending++
				if len(tries) < p.MaxAttempts {
					timer.Reset(delay)
				}
			} else if stop != "attempts" {
				rep.Stop = stop
			}
		case <-ctx.Done():
			for _, t := range tries {
				t.cancel()
			}
			fillReport(rep, tries, -1)
			return ctxErr(ctx)
		}
	}
	rv.Elem().Set(reflect.ValueOf(tries[winner].res).Elem())
	// Losers still running are abandoned. Over streams, canceling resets
	// only their stream (the server sees the call canceled). On framed
	// connections, canceling would close the connection: a loser whose
	// wait is bounded by a timeout is left to finish instead, its reply
	// discarded and its connection pooled again; one without any bound is
	// canceled.
	_, bounded := ctx.Deadline()
	bounded = bounded || ci.RPCTimeout > 0
	for i, t := range tries {
		if i != winner && !t.done && (ci.OverStreams || !bounded) {
			t.cancel()
		}
	}
	// The caller may recycle its arguments once the call returns: wait
	// until every loser has written its request (or ended).
	for i, t := range tries {
		for i != winner && !t.done {
			if at := t.h.attemptOf(); at != nil && at.RequestReleased() {
				break
			}
			select {
			case o := <-results:
				tries[o.i].done, tries[o.i].err, tries[o.i].lat = true, o.err, o.lat
			case <-time.After(200 * time.Microsecond):
			}
		}
	}
	fillReport(rep, tries, winner)
	if len(tries) == 1 {
		rep.Tries = nil
	}
	return tries[winner].err
}

func fillReport(rep *Report, tries []*hedgeTry, winner int) {
	now := time.Now()
	for i, t := range tries {
		tr := Try{Kind: t.kind, Won: i == winner}
		if t.done {
			tr.Err, tr.Latency = t.err, t.lat
			if in, _, _ := t.h.get(); in != nil {
				tr.Address = in.Address()
			}
		} else {
			tr.Abandoned, tr.Latency = true, now.Sub(t.start)
		}
		rep.Tries = append(rep.Tries, tr)
	}
}
