package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/cloudwego/kitex/pkg/klog"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "instance" {
		fs := flag.NewFlagSet("instance", flag.ExitOnError)
		framework := fs.String("framework", "skiff", "skiff or kitex")
		addr := fs.String("addr", "127.0.0.1:0", "listen address (127.0.0.1 only)")
		_ = fs.Parse(os.Args[2:])
		if err := runInstance(*framework, *addr); err != nil {
			fmt.Fprintln(os.Stderr, "instance:", err)
			os.Exit(1)
		}
		return
	}
	klog.SetLevel(klog.LevelFatal) // Kitex logs every retry and breaker rejection at Warn
	var names []string
	for _, c := range configs {
		names = append(names, c.Name)
	}
	cfgList := flag.String("configs", strings.Join(names, ","), "comma-separated client configurations")
	scList := flag.String("scenarios", "slow,killed,frozen,total-failure", "comma-separated scenarios")
	rate := flag.Int("rate", 2000, "calls per second of the open loop")
	event := flag.Duration("event", 10*time.Second, "length of the slow, killed and frozen faults")
	failure := flag.Duration("failure", 5*time.Second, "length of the total failure")
	cpus := flag.String("instance-cpu", "", "taskset CPU list for the instances (empty: not pinned)")
	noisy := flag.Int("noisy-retries", 1, "run a scenario again when its schedule lag p99 exceeded -noisy-lag (CPU starvation); keep the quietest")
	noisyLag := flag.Duration("noisy-lag", 50*time.Millisecond, "schedule lag p99 above which a run counts as noisy")
	out := flag.String("out", "results", "output directory (scenarios.md and scenarios.json)")
	flag.DurationVar(&p2cDecay, "p2c-decay", 0, "P2C decay time of skiff-recommended (0: loadbalance.DefaultDecay)")
	flag.Float64Var(&budgetBurst, "budget-burst", 0, "retry budget burst of skiff-recommended (0: the recommended 100)")
	merge := flag.Bool("merge", false, "merge into the existing -out/scenarios.json: replace the results of the scenarios and configurations run now, keep the others")
	niceN := flag.Int("nice", 0, "run the driver and the instances under nice -n N (negative: higher CPU priority, needs root; for a machine busy with other work)")
	flag.Parse()
	if *niceN != 0 && os.Getenv("SCENARIOS_NICE") == "" {
		renice(*niceN)
	}

	var sel []config
	for _, n := range strings.Split(*cfgList, ",") {
		found := false
		for _, c := range configs {
			if c.Name == n {
				sel, found = append(sel, c), true
			}
		}
		if !found {
			fatalf("unknown configuration %q (have %s)", n, strings.Join(names, ", "))
		}
	}
	var scs []scenario
	for _, n := range strings.Split(*scList, ",") {
		found := false
		for _, s := range scenarios(*event, *failure) {
			if s.Name == n {
				scs, found = append(scs, s), true
			}
		}
		if !found {
			fatalf("unknown scenario %q", n)
		}
	}

	rep := report{Date: time.Now().UTC().Format(time.RFC3339), Rate: *rate, Instances: 5,
		Handler: handlerDelay.String(), Timeout: rpcTimeout.String(), GoVersion: runtime.Version(),
		CPUs: runtime.NumCPU(), InstanceCPU: *cpus, Nice: os.Getenv("SCENARIOS_NICE"), Configs: sel, Scenarios: scs, Load: loadAvg()}
	for _, sc := range scs {
		for _, cfg := range sel {
			fmt.Fprintf(os.Stderr, "scenarios: %s / %s ...\n", sc.Name, cfg.Name)
			var res result
			for try := 0; try <= *noisy; try++ {
				r, err := runScenario(sc, cfg, *rate, *cpus)
				if err != nil {
					fatalf("%s / %s: %v", sc.Name, cfg.Name, err)
				}
				if try == 0 || r.LagP99us < res.LagP99us {
					res = r
				}
				res.Runs = try + 1
				if time.Duration(r.LagP99us)*time.Microsecond <= *noisyLag {
					break
				}
				fmt.Fprintf(os.Stderr, "scenarios: noisy run (lag p99 %.1f ms, other load %.2f CPUs)\n", r.LagP99us/1000, r.OtherLoad)
			}
			fmt.Fprintf(os.Stderr, "scenarios: %s / %s: %s %v errors=%v\n", sc.Name, cfg.Name, res.Verdict, res.Measures, res.Errors)
			fmt.Fprintf(os.Stderr, "scenarios:   lag p99 %.1f ms, other load %.2f CPUs, runs %d\n", res.LagP99us/1000, res.OtherLoad, res.Runs)
			res.Date = time.Now().UTC().Format(time.RFC3339)
			rep.Results = append(rep.Results, res)
		}
	}
	rep.LoadAfter = loadAvg()
	if *merge {
		old, err := readReport(filepath.Join(*out, "scenarios.json"))
		if err != nil {
			fatalf("-merge: %v", err)
		}
		rep = old.merged(rep)
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fatalf("%v", err)
	}
	if err := rep.write(filepath.Join(*out, "scenarios.json"), filepath.Join(*out, "scenarios.md")); err != nil {
		fatalf("%v", err)
	}
	fmt.Fprintf(os.Stderr, "scenarios: wrote %s\n", filepath.Join(*out, "scenarios.md"))
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "scenarios: "+format+"\n", args...)
	os.Exit(1)
}

// loadAvg is the machine's 1-minute load average, as text.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

// renice runs this command again under `nice -n n` (the instances inherit
// the niceness), marking the environment so it happens once.
func renice(n int) {
	nice, err := exec.LookPath("nice")
	if err != nil {
		fatalf("-nice: %v", err)
	}
	self, err := os.Executable()
	if err != nil {
		fatalf("-nice: %v", err)
	}
	args := append([]string{"nice", "-n", strconv.Itoa(n), self}, os.Args[1:]...)
	env := append(os.Environ(), "SCENARIOS_NICE="+strconv.Itoa(n))
	fatalf("-nice: %v", syscall.Exec(nice, args, env))
}
