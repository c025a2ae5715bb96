package main

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Result is the JSON line the client prints. Latencies are in microseconds.
type Result struct {
	Framework   string  `json:"framework"`
	Concurrency int     `json:"concurrency"`
	Size        int     `json:"size"`
	Seconds     float64 `json:"seconds"`
	Calls       int64   `json:"calls"`
	Errors      int64   `json:"errors"`
	QPS         float64 `json:"qps"`
	P50         float64 `json:"p50_us"`
	P99         float64 `json:"p99_us"`
	P999        float64 `json:"p999_us"`
	Max         float64 `json:"max_us"`
	// ClientCPUPerCall is the client process's CPU time per call in the
	// window, in microseconds (utime+stime from /proc/self/stat).
	ClientCPUPerCall float64 `json:"client_cpu_us_per_call"`
	// ClientAllocsPerCall is the client process's heap allocations per
	// call in the window, the benchmark loop's request struct included.
	ClientAllocsPerCall float64 `json:"client_allocs_per_call"`
	FirstError          string  `json:"first_error,omitempty"`
}

const (
	phaseWarmup int32 = iota
	phaseMeasure
	phaseStop
)

type worker struct {
	lat    []int64 // nanoseconds, measured calls only
	errors int64
	slow   int64    // measured slow calls (-slow-every), not in lat
	_      [64]byte // keep workers' hot fields on separate cache lines
}

func clientMain(args []string) error {
	fs, fw, addr := flagSet("client")
	conc := fs.Int("c", 100, "concurrent callers")
	size := fs.Int("size", 1024, "request body size in bytes")
	warmup := fs.Duration("warmup", 2*time.Second, "warm-up before measuring")
	duration := fs.Duration("duration", 5*time.Second, "measuring window")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the measuring window to this file")
	traceFile := fs.String("trace", "", "write a runtime execution trace of the measuring window to this file")
	memprofile := fs.String("memprofile", "", "write an allocation profile to this file at exit")
	_ = fs.Parse(args)
	if *memprofile != "" {
		runtime.MemProfileRate = 64 << 10
		defer func() {
			if mf, err := os.Create(*memprofile); err == nil {
				_ = pprof.Lookup("allocs").WriteTo(mf, 0)
				_ = mf.Close()
			}
		}()
	}
	f, err := lookup(*fw)
	if err != nil {
		return err
	}
	if *conc < 1 || *size < 0 || *duration <= 0 {
		return fmt.Errorf("bad -c, -size or -duration")
	}
	cli, err := f.dial(*addr, *conc)
	if err != nil {
		return fmt.Errorf("%s client: %w", *fw, err)
	}
	defer cli.close()
	body := strings.Repeat("x", *size)

	// One call first, so a broken pair fails fast and clearly.
	if n, s, err := cli.call(body, 7); err != nil {
		return fmt.Errorf("%s first call: %w", *fw, err)
	} else if n != len(body) || s != 7 {
		return fmt.Errorf("%s first call: echoed %d bytes and seq %d, want %d and 7", *fw, n, s, len(body))
	}

	var phase atomic.Int32
	var firstErr atomic.Pointer[string]
	workers := make([]worker, *conc)
	// Room for 200k calls a second without growing; more just appends.
	perWorker := int(200e3*duration.Seconds())/(*conc) + 1024
	var wg sync.WaitGroup
	for i := range workers {
		w := &workers[i]
		w.lat = make([]int64, 0, min(perWorker, 1<<20))
		wg.Add(1)
		go func(id int64) {
			defer wg.Done()
			seq := id << 32
			for {
				p := phase.Load()
				if p == phaseStop {
					return
				}
				seq++
				start := time.Now()
				n, s, err := cli.call(body, seq)
				d := time.Since(start)
				if err == nil && (n != len(body) || s != seq) {
					err = fmt.Errorf("echoed %d bytes and seq %d, want %d and %d", n, s, len(body), seq)
				}
				if p != phaseMeasure || phase.Load() != phaseMeasure {
					continue // only calls wholly inside the window count
				}
				if err != nil {
					w.errors++
					msg := err.Error()
					firstErr.CompareAndSwap(nil, &msg)
					continue
				}
				if isSlow(seq) {
					w.slow++ // not among the latencies: the others' are measured
					continue
				}
				w.lat = append(w.lat, int64(d))
			}
		}(int64(i))
	}

	time.Sleep(*warmup)
	var pf *os.File
	if *cpuprofile != "" {
		if pf, err = os.Create(*cpuprofile); err == nil {
			err = pprof.StartCPUProfile(pf)
		}
		if err != nil {
			phase.Store(phaseStop)
			return err
		}
	}
	var tf *os.File
	if *traceFile != "" {
		if tf, err = os.Create(*traceFile); err == nil {
			err = trace.Start(tf)
		}
		if err != nil {
			phase.Store(phaseStop)
			return err
		}
	}
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	cpu0 := selfCPU()
	t0 := time.Now()
	phase.Store(phaseMeasure)
	fmt.Fprintln(os.Stderr, "bench: measure start")
	time.Sleep(*duration)
	phase.Store(phaseStop)
	elapsed := time.Since(t0)
	cpu1 := selfCPU()
	runtime.ReadMemStats(&ms1)
	fmt.Fprintln(os.Stderr, "bench: measure end")
	if pf != nil {
		pprof.StopCPUProfile()
		pf.Close()
	}
	if tf != nil {
		trace.Stop()
		tf.Close()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		return fmt.Errorf("%s: callers still busy 30 s after the window closed", *fw)
	}

	var all []int64
	var slowCalls int64
	res := Result{Framework: *fw, Concurrency: *conc, Size: *size, Seconds: elapsed.Seconds()}
	for i := range workers {
		all = append(all, workers[i].lat...)
		res.Errors += workers[i].errors
		slowCalls += workers[i].slow
	}
	slices.Sort(all)
	res.Calls = int64(len(all)) + slowCalls
	res.QPS = float64(res.Calls) / elapsed.Seconds()
	res.P50 = percentile(all, 0.50)
	res.P99 = percentile(all, 0.99)
	res.P999 = percentile(all, 0.999)
	if len(all) > 0 {
		res.Max = float64(all[len(all)-1]) / 1e3
	}
	if res.Calls > 0 && cpu0 >= 0 && cpu1 >= 0 {
		res.ClientCPUPerCall = (cpu1 - cpu0) * 1e6 / float64(res.Calls)
	}
	if res.Calls > 0 {
		res.ClientAllocsPerCall = float64(ms1.Mallocs-ms0.Mallocs) / float64(res.Calls)
	}
	if p := firstErr.Load(); p != nil {
		res.FirstError = *p
	}
	return json.NewEncoder(os.Stdout).Encode(res)
}

// percentile returns the q quantile of sorted nanoseconds, in microseconds.
func percentile(sorted []int64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	i = max(0, min(i, len(sorted)-1))
	return float64(sorted[i]) / 1e3
}

// selfCPU returns this process's user+system CPU seconds, or -1.
func selfCPU() float64 {
	return procCPU("self")
}

// procCPU reads utime+stime of /proc/<pid>/stat in seconds, or -1.
func procCPU(pid string) float64 {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return -1
	}
	// Fields after the command name, which is in parentheses and may hold spaces.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return -1
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state); utime is field 14, stime 15.
	if len(f) < 13 {
		return -1
	}
	u, err1 := strconv.ParseFloat(f[11], 64)
	st, err2 := strconv.ParseFloat(f[12], 64)
	if err1 != nil || err2 != nil {
		return -1
	}
	return (u + st) / clockTicks
}

// clockTicks is USER_HZ, 100 on Linux for every architecture Go supports.
const clockTicks = 100
