package main

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"
	"syscall"
	"time"
)

// timeline of every scenario, from the start of the load.
type timeline struct {
	warm    time.Duration // not measured: pools fill, balancers learn
	healthy time.Duration // the healthy baseline
	event   time.Duration // the fault
	after   time.Duration // recovery
}

func (t timeline) eventStart() time.Duration { return t.warm + t.healthy }
func (t timeline) eventEnd() time.Duration   { return t.eventStart() + t.event }
func (t timeline) end() time.Duration        { return t.eventEnd() + t.after }

// scenario is one fault and what it measures.
type scenario struct {
	Name   string `json:"name"`
	Desc   string `json:"description"`
	Target string `json:"target"`
	tl     timeline
	begin  func(ins []*instance) (int64, error) // starts the fault; handler runs so far when known
	finish func(ins []*instance) (int64, error) // ends it
}

func scenarios(event10, event5 time.Duration) []scenario {
	tl := timeline{warm: time.Second, healthy: 3 * time.Second, event: event10, after: 3 * time.Second}
	return []scenario{
		{Name: "slow", Desc: fmt.Sprintf("instance 0 answers in 10 ms instead of 1 ms for %v", event10),
			Target: "p99 during the slowdown <= 1.5x the healthy p99", tl: tl,
			begin:  func(ins []*instance) (int64, error) { return ins[0].command("slow 10") },
			finish: func(ins []*instance) (int64, error) { return ins[0].command("slow 1") }},
		{Name: "killed", Desc: "instance 0 is killed with SIGKILL (it stays listed by the resolver)",
			Target: "0 errors; <= 50 attempts to the dead instance after the first second", tl: tl,
			begin: func(ins []*instance) (int64, error) {
				ins[0].gone = true
				return 0, ins[0].signal(syscall.SIGKILL)
			},
			finish: func([]*instance) (int64, error) { return 0, nil }},
		{Name: "frozen", Desc: fmt.Sprintf("instance 0 is stopped with SIGSTOP for %v (its kernel still accepts connections), 100 ms timeout", event10),
			Target: "error rate <= 1 % during the freeze", tl: tl,
			begin:  func(ins []*instance) (int64, error) { return 0, ins[0].signal(syscall.SIGSTOP) },
			finish: func(ins []*instance) (int64, error) { return 0, ins[0].signal(syscall.SIGCONT) }},
		{Name: "total-failure", Desc: fmt.Sprintf("every instance answers every call with an error for %v", event5),
			Target: "server hits per call <= 1.1 during the failure; >= 99 % success in the first second after it",
			tl:     timeline{warm: time.Second, healthy: 3 * time.Second, event: event5, after: 3 * time.Second},
			begin:  func(ins []*instance) (int64, error) { return commandAll(ins, "fail 1") },
			finish: func(ins []*instance) (int64, error) { return commandAll(ins, "fail 0") }},
	}
}

// commandAll sends line to every instance and sums their handler runs.
func commandAll(ins []*instance, line string) (int64, error) {
	var sum int64
	for _, in := range ins {
		n, err := in.command(line)
		if err != nil {
			return 0, err
		}
		sum += n
	}
	return sum, nil
}

// record is one call of the open loop.
type record struct {
	start time.Duration // since the load started
	lat   time.Duration
	lag   time.Duration // how late the call started against its schedule
	err   error
}

// result is one scenario under one configuration.
type result struct {
	Date     string                 `json:"date"`
	Scenario string                 `json:"scenario"`
	Config   string                 `json:"config"`
	Phases   map[string]phaseResult `json:"phases"`
	// Scenario-specific measures and whether the Skiff target is met.
	Measures map[string]float64 `json:"measures"`
	Verdict  string             `json:"verdict"`
	// Per second of the whole run: calls started, errors among them, and
	// attempts to instance 0.
	PerSecond   []secondResult `json:"per_second"`
	ClientStats map[string]any `json:"client_stats,omitempty"`
	// CPU time per call of the client process (this driver) and of the
	// instances still alive at the end.
	ClientCPUus float64 `json:"client_cpu_us_per_call"`
	ServerCPUus float64 `json:"server_cpu_us_per_call"`
	// OtherLoad is the CPUs the rest of the machine kept busy during the
	// run (busy time not spent by the client or the instances, over the
	// run's wall time), LagP99us the worst phase's p99 schedule lag: the
	// noise of the run.
	OtherLoad float64 `json:"other_load_cpus"`
	LagP99us  float64 `json:"schedule_lag_p99_us"`
	// Runs is how many times the scenario ran under this configuration
	// (a noisy run is run again; the one with the smallest lag is kept).
	Runs   int            `json:"runs"`
	Errors map[string]int `json:"errors,omitempty"`
}

type phaseResult struct {
	Calls   int     `json:"calls"`
	Errors  int     `json:"errors"`
	P50us   float64 `json:"p50_us"`
	P99us   float64 `json:"p99_us"`
	P999us  float64 `json:"p999_us"`
	MaxUs   float64 `json:"max_us"`
	LagP99u float64 `json:"schedule_lag_p99_us"`
	// Over5ms is the share of calls that took more than 5 ms.
	Over5ms float64 `json:"over_5ms"`
}

type secondResult struct {
	Second       int   `json:"second"`
	Calls        int   `json:"calls"`
	Errors       int   `json:"errors"`
	Instance0    int64 `json:"attempts_instance0"`
	Instance0Err int64 `json:"failed_attempts_instance0"`
	AllAttempts  int64 `json:"attempts_all"`
}

// runScenario starts 5 instances, a client of cfg over them, and an open
// loop of rate calls per second, applies the fault on sc's timeline, and
// measures.
func runScenario(sc scenario, cfg config, rate int, cpus string) (result, error) {
	ins, err := startInstances(cfg.Framework, 5, cpus)
	if err != nil {
		return result{}, err
	}
	defer stopInstances(ins)
	addrs := make([]string, len(ins))
	for i, in := range ins {
		addrs[i] = in.addr
	}
	tl := sc.tl
	start := time.Now()
	at := newAttempts(addrs, start)
	cli, err := cfg.build(addrs, at)
	if err != nil {
		return result{}, err
	}
	defer cli.close()
	cpu0, busy0 := selfCPU(), machineBusy()

	interval := time.Second / time.Duration(rate)
	n := int(tl.end() / interval)
	recs := make([]record, n)
	var wg sync.WaitGroup
	faultErr := make(chan error, 1)
	var hitsBegin, hitsEnd int64
	go func() {
		// The fault, on its own schedule.
		time.Sleep(time.Until(start.Add(tl.eventStart())))
		h, err := sc.begin(ins)
		if err != nil {
			faultErr <- err
			return
		}
		hitsBegin = h
		time.Sleep(time.Until(start.Add(tl.eventEnd())))
		h, err = sc.finish(ins)
		hitsEnd = h
		faultErr <- err
	}()
	for i := range n {
		sched := start.Add(time.Duration(i) * interval)
		if d := time.Until(sched); d > 0 {
			time.Sleep(d)
		}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			t0 := time.Now()
			err := cli.call(context.Background(), int64(i))
			recs[i] = record{start: t0.Sub(start), lat: time.Since(t0), lag: t0.Sub(sched), err: err}
		}(i)
	}
	wg.Wait()
	clientCPU, busy := selfCPU()-cpu0, machineBusy()-busy0
	var serverCPU time.Duration
	for _, in := range ins {
		serverCPU += in.cpuTime()
	}
	wall := time.Since(start)
	if err := <-faultErr; err != nil {
		return result{}, fmt.Errorf("fault: %w", err)
	}

	res := result{Scenario: sc.Name, Config: cfg.Name, Phases: map[string]phaseResult{},
		Measures: map[string]float64{}, ClientStats: cli.stats(), Errors: map[string]int{},
		ClientCPUus: float64(clientCPU.Microseconds()) / float64(n), ServerCPUus: float64(serverCPU.Microseconds()) / float64(n),
		OtherLoad: max(0, float64(busy-clientCPU-serverCPU)/float64(wall))}

	res.Phases["healthy"] = phase(recs, tl.warm, tl.eventStart())
	res.Phases["event"] = phase(recs, tl.eventStart(), tl.eventEnd())
	res.Phases["after"] = phase(recs, tl.eventEnd(), tl.end())
	for _, p := range res.Phases {
		res.LagP99us = max(res.LagP99us, p.LagP99u)
	}
	for _, r := range recs {
		if r.err != nil && r.start >= tl.warm {
			res.Errors[errorKind(r.err)]++
		}
	}
	for s := 0; s < int(tl.end()/time.Second); s++ {
		from, to := time.Duration(s)*time.Second, time.Duration(s+1)*time.Second
		p := phase(recs, from, to)
		t0, f0 := at.count(addrs[0], from, to)
		var all int64
		for _, a := range addrs {
			t, _ := at.count(a, from, to)
			all += t
		}
		res.PerSecond = append(res.PerSecond, secondResult{Second: s, Calls: p.Calls, Errors: p.Errors,
			Instance0: t0, Instance0Err: f0, AllAttempts: all})
	}
	ev := res.Phases["event"]
	h := res.Phases["healthy"]
	ok := false
	switch sc.Name {
	case "slow":
		ratio := ev.P99us / h.P99us
		res.Measures["p99_ratio"] = ratio
		ok = ratio <= 1.5
	case "killed":
		dead, _ := at.count(addrs[0], tl.eventStart()+time.Second, tl.end())
		all := phase(recs, tl.eventStart(), tl.end())
		res.Measures["dead_attempts_after_1s"] = float64(dead)
		res.Measures["errors"] = float64(all.Errors)
		ok = dead <= 50 && all.Errors == 0
	case "frozen":
		rate := float64(ev.Errors) / float64(max(ev.Calls, 1))
		res.Measures["error_rate"] = rate
		ok = rate <= 0.01
	case "total-failure":
		hits := float64(hitsEnd-hitsBegin) / float64(max(ev.Calls, 1))
		rec := phase(recs, tl.eventEnd(), tl.eventEnd()+time.Second)
		succ := 1 - float64(rec.Errors)/float64(max(rec.Calls, 1))
		res.Measures["hits_per_call"] = hits
		res.Measures["success_first_second_after"] = succ
		ok = hits <= 1.1 && succ >= 0.99
	}
	res.Verdict = map[bool]string{true: "met", false: "missed"}[ok]
	return res, nil
}

// phase summarizes the calls that started in [from, to).
func phase(recs []record, from, to time.Duration) phaseResult {
	var lats, lags []time.Duration
	var p phaseResult
	for _, r := range recs {
		if r.start < from || r.start >= to {
			continue
		}
		p.Calls++
		lats = append(lats, r.lat)
		lags = append(lags, r.lag)
		if r.err != nil {
			p.Errors++
		}
	}
	if len(lats) == 0 {
		return p
	}
	slices.Sort(lats)
	sort.Slice(lags, func(i, j int) bool { return lags[i] < lags[j] })
	us := func(d time.Duration) float64 { return float64(d.Microseconds()) }
	q := func(s []time.Duration, f float64) time.Duration { return s[min(int(f*float64(len(s))), len(s)-1)] }
	p.P50us, p.P99us, p.P999us, p.MaxUs = us(q(lats, 0.5)), us(q(lats, 0.99)), us(q(lats, 0.999)), us(lats[len(lats)-1])
	p.LagP99u = us(q(lags, 0.99))
	over, _ := slices.BinarySearch(lats, 5*time.Millisecond+1)
	p.Over5ms = float64(len(lats)-over) / float64(len(lats))
	return p
}
