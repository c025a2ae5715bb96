package breaker

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sony/gobreaker/v2"

	"github.com/skiffrpc/skiff/core/callinfo"
	"github.com/skiffrpc/skiff/core/status"
)

// errFailed and errIgnored tell gobreaker how an outcome counts: nil is a
// success, errFailed a failure, and errIgnored (its IsExcluded) neither.
var (
	errFailed  = errors.New("breaker: failure")
	errIgnored = errors.New("breaker: ignored")
)

func outcomeErr(o Outcome) error {
	switch o {
	case Success:
		return nil
	case Failure:
		return errFailed
	}
	return errIgnored
}

// A cell is the breaker of one key (a service key or an instance address).
// Its generation is replaced when its config changes.
type cell struct {
	s       *Suite
	level   Level
	sk      ServiceKey // the service level's key
	key     string
	errOpen error // the rejection, made once
	cur     atomic.Pointer[gen]
}

func newCell(s *Suite, level Level, key string, cfg Config) *cell {
	c := &cell{s: s, level: level, key: key}
	what := "service " + key
	if level == LevelInstance {
		what = "instance " + key
	}
	c.errOpen = status.Wrap(status.ErrCircuitOpen, "circuit open for "+what, nil)
	c.cur.Store(newGen(c, cfg))
	return c
}

// setConfig starts the cell afresh with cfg.
func (c *cell) setConfig(cfg Config) { c.cur.Store(newGen(c, cfg)) }

// A gen is one run of a cell's breaker under one config.
//
// gobreaker's two-step breaker holds the state machine: open and
// half-open states, the open timeout, the admission and counting of
// half-open probes, and state-change callbacks. The sliding window
// decides when a closed breaker trips (gobreaker's ReadyToTrip asks it).
// Because taking gobreaker's lock and reading the clock cost more than a
// fast path may, a closed breaker counts successes in the window alone,
// without gobreaker; only failures, and every call while the breaker is
// not closed, go through gobreaker. state mirrors gobreaker's state, set
// in its state-change callback, so the fast path reads one atomic word.
type gen struct {
	c         *cell
	cfg       Config
	cb        *gobreaker.TwoStepCircuitBreaker[struct{}]
	win       *window
	state     atomic.Int32 // State, as gobreaker last reported it
	openUntil atomic.Int64 // suite clock (ns) when an open breaker lets probes in

	probeMu sync.Mutex
	probes  map[*callinfo.Attempt]probe // instance probes in flight, by attempt
	probing atomic.Int32                // len(probes)

	evMu      sync.Mutex
	pending   []Event // state changes not yet delivered (see flush)
	hasEv     atomic.Bool
	deliverMu sync.Mutex // held by the goroutine delivering events
}

func newGen(c *cell, cfg Config) *gen {
	cfg = cfg.normalized()
	g := &gen{c: c, cfg: cfg}
	if cfg.Disabled {
		return g
	}
	g.win = newWindow(cfg, c.s.now)
	g.cb = gobreaker.NewTwoStepCircuitBreaker[struct{}](gobreaker.Settings{
		Name:          c.key,
		MaxRequests:   uint32(cfg.HalfOpenProbes),
		Timeout:       cfg.OpenTimeout,
		ReadyToTrip:   func(gobreaker.Counts) bool { return g.shouldTrip() },
		OnStateChange: func(_ string, from, to gobreaker.State) { g.onStateChange(from, to) },
		IsExcluded:    func(err error) bool { return err == errIgnored },
	})
	return g
}

// shouldTrip reports whether the window's error rate trips the breaker.
// gobreaker calls it, under its lock, after a failure in the closed state.
func (g *gen) shouldTrip() bool {
	succ, fail := g.win.sums(g.win.current())
	total := succ + fail
	return total >= uint64(g.cfg.MinSamples) && float64(fail) >= g.cfg.ErrorRate*float64(total)
}

func fromGobreaker(s gobreaker.State) State {
	switch s {
	case gobreaker.StateOpen:
		return Open
	case gobreaker.StateHalfOpen:
		return HalfOpen
	}
	return Closed
}

// onStateChange runs under gobreaker's lock: it updates the mirror and
// the counters, and queues the event for flush.
func (g *gen) onStateChange(from, to gobreaker.State) {
	f, t := fromGobreaker(from), fromGobreaker(to)
	switch t {
	case Open:
		g.openUntil.Store(g.c.s.now() + int64(g.cfg.OpenTimeout))
	case Closed:
		g.win.reset()
	}
	g.state.Store(int32(t))
	g.c.s.counted(g.c.level, t)
	g.evMu.Lock()
	g.pending = append(g.pending, Event{Level: g.c.level, Key: g.c.key, From: f, To: t, Time: time.Now()})
	g.evMu.Unlock()
	g.hasEv.Store(true)
}

// flush delivers queued state changes, outside gobreaker's lock, on the
// goroutine of a call that caused them. One goroutine at a time delivers,
// so a key's events arrive in the order they happened; a flush that finds
// another goroutine delivering leaves its events to it (that goroutine
// checks for more before it stops), which also makes a handler that
// causes a change of the same key safe.
func (g *gen) flush() {
	for g.hasEv.Load() {
		if !g.deliverMu.TryLock() {
			return
		}
		for {
			g.evMu.Lock()
			evs := g.pending
			g.pending = nil
			g.hasEv.Store(false)
			g.evMu.Unlock()
			if len(evs) == 0 {
				break
			}
			for _, ev := range evs {
				g.c.s.deliver(ev)
			}
		}
		g.deliverMu.Unlock()
	}
}

// record counts the outcome of a call admitted while the breaker was
// closed. Successes only touch the window; a failure also goes through
// gobreaker, which asks shouldTrip. Outcomes of calls that end after the
// breaker left the closed state are dropped: they say nothing about the
// instance since it tripped.
func (g *gen) record(o Outcome) {
	switch o {
	case Success:
		if State(g.state.Load()) == Closed {
			g.win.success()
		}
	case Failure:
		if State(g.state.Load()) != Closed {
			return
		}
		g.win.failure()
		done, err := g.cb.Allow()
		if err == nil {
			done(errFailed)
		}
		g.flush()
	}
}

// admitSlow decides on a call while the breaker is not closed (or was not
// when the caller looked): an open breaker rejects until its timeout,
// then gobreaker admits up to HalfOpenProbes probes. done is nil when the
// call is rejected, or when the breaker turned out to be closed (the
// caller then records the outcome with record).
func (g *gen) admitSlow() (done func(error), ok bool) {
	if State(g.state.Load()) == Open && g.c.s.now() < g.openUntil.Load() {
		return nil, false
	}
	done, err := g.cb.Allow()
	g.flush()
	if err != nil {
		return nil, false
	}
	if State(g.state.Load()) == Closed {
		// Closed again meanwhile: count the call as a closed one.
		done(errIgnored)
		return nil, true
	}
	return done, true
}

// current returns the breaker's state as the calls see it.
func (g *gen) current() State {
	if g.cb == nil {
		return Closed
	}
	return State(g.state.Load())
}

// probeStaleAfter is how long an instance probe may go without its
// outcome (the client reports every attempt it picked, so only a panic on
// the call path loses one) before it counts as failed, so that a lost
// outcome cannot hold a half-open breaker's probe slots for ever.
const probeStaleAfter = time.Minute

type probe struct {
	done  func(error)
	since int64 // suite clock
}

// addProbe remembers the attempt a probe went to, so Done can report it.
func (g *gen) addProbe(at *callinfo.Attempt, done func(error)) {
	g.probeMu.Lock()
	if g.probes == nil {
		g.probes = make(map[*callinfo.Attempt]probe)
	}
	old, had := g.probes[at]
	g.probes[at] = probe{done: done, since: g.c.s.now()}
	g.probing.Store(int32(len(g.probes)))
	g.probeMu.Unlock()
	if had {
		old.done(errIgnored) // the same attempt picked twice: the first pick is moot
		g.flush()
	}
}

// takeProbe returns and forgets the probe of attempt at, or nil.
func (g *gen) takeProbe(at *callinfo.Attempt) func(error) {
	g.probeMu.Lock()
	p, ok := g.probes[at]
	if ok {
		delete(g.probes, at)
		g.probing.Store(int32(len(g.probes)))
	}
	g.probeMu.Unlock()
	return p.done
}

// expireProbes counts the probes older than probeStaleAfter as failed.
func (g *gen) expireProbes() {
	if g.probing.Load() == 0 {
		return
	}
	limit := g.c.s.now() - int64(probeStaleAfter)
	var stale []func(error)
	g.probeMu.Lock()
	for at, p := range g.probes {
		if p.since < limit {
			stale = append(stale, p.done)
			delete(g.probes, at)
		}
	}
	g.probing.Store(int32(len(g.probes)))
	g.probeMu.Unlock()
	for _, done := range stale {
		done(errFailed)
	}
	if len(stale) > 0 {
		g.flush()
	}
}
