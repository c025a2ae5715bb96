package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// Report is results/latest.json.
type Report struct {
	Machine Machine `json:"machine"`
	Config  config  `json:"config"`
	Runs    []Run   `json:"runs"`
}

// Machine says where the numbers come from.
type Machine struct {
	Date      string `json:"date"`
	NProc     int    `json:"nproc"`
	CPUModel  string `json:"cpu_model"`
	GoVersion string `json:"go_version"`
	Kernel    string `json:"kernel"`
	// TCPCongestion is the kernel's default TCP congestion control
	// (net.ipv4.tcp_congestion_control). It matters on loopback: BBR
	// paces each connection with kernel timers, which costs a connection
	// that carries many large messages at once (a multiplexed one) far
	// more than a pool of connections each carrying one.
	TCPCongestion string `json:"tcp_congestion,omitempty"`
}

func describeMachine(modDir string) Machine {
	m := Machine{Date: time.Now().UTC().Format(time.RFC3339), NProc: runtime.NumCPU(), CPUModel: "unknown"}
	if out, err := exec.Command("nproc").Output(); err == nil {
		fmt.Sscan(string(out), &m.NProc)
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	cmd := exec.Command("go", "version")
	cmd.Dir = modDir
	if out, err := cmd.Output(); err == nil {
		m.GoVersion = strings.TrimSpace(string(out))
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/sys/net/ipv4/tcp_congestion_control"); err == nil {
		m.TCPCongestion = strings.TrimSpace(string(b))
	}
	return m
}

// writeReport writes latest.json, latest.md and the charts; it returns the
// files written.
func writeReport(dir string, rep Report) ([]string, error) {
	var files []string
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return nil, err
	}
	p := filepath.Join(dir, "latest.json")
	if err := os.WriteFile(p, append(b, '\n'), 0o644); err != nil {
		return files, err
	}
	files = append(files, p)
	charts, cerr := writeCharts(dir, rep)
	files = append(files, charts...)
	p = filepath.Join(dir, "latest.md")
	if err := os.WriteFile(p, []byte(markdown(rep, charts)), 0o644); err != nil {
		return files, err
	}
	files = append(files, p)
	return files, cerr
}

// find returns the successful run of fw at (conc, size), or nil.
func (rep Report) find(fw string, conc, size int) *Run {
	for i := range rep.Runs {
		r := &rep.Runs[i]
		if r.Framework == fw && r.Concurrency == conc && r.Size == size && r.Error == "" {
			return r
		}
	}
	return nil
}

func markdown(rep Report, charts []string) string {
	var b strings.Builder
	m, c := rep.Machine, rep.Config
	fmt.Fprintf(&b, "# Echo benchmark: Skiff, Kitex, grpc-go\n\n")
	fmt.Fprintf(&b, "- date: %s\n- machine: %d CPUs (`nproc`), %s, Linux %s\n- %s\n", m.Date, m.NProc, m.CPUModel, m.Kernel, m.GoVersion)
	if m.TCPCongestion != "" {
		fmt.Fprintf(&b, "- TCP congestion control: %s (`net.ipv4.tcp_congestion_control`; see the benchmark README on BBR and large messages)\n", m.TCPCongestion)
	}
	pin := "not pinned"
	if c.Pinned {
		pin = fmt.Sprintf("server `taskset -c %s`, client `taskset -c %s`", c.ServerCPU, c.ClientCPU)
	}
	fmt.Fprintf(&b, "- each run: a fresh server and client process on 127.0.0.1, %s; %gs warm-up, then %gs measured\n", pin, c.WarmupS, c.DurationS)
	fmt.Fprintf(&b, "- command: `%s`\n", c.CommandLine)
	binaries := c.Binaries
	if binaries == "" {
		binaries = "one (all frameworks in one binary: runs from before the per-family build)"
	}
	fmt.Fprintf(&b, "- bench binaries: %s\n", binaries)
	if c.CPUProfile {
		fmt.Fprintf(&b, "- servers ran with a CPU profile (a few %% slower)\n")
	}
	fmt.Fprintf(&b, "\nLatencies are client-side per call in µs; server CPU is the server process's utime+stime over the window divided by the calls; RSS is the server's VmRSS at the end of the window.\n")

	writeTargets(&b, rep)

	sweep := func(title string, keys []int, key func(k int) (int, int), label func(int) string) {
		fmt.Fprintf(&b, "\n## %s\n", title)
		metrics := []struct {
			name string
			get  func(*Run) string
		}{
			{"QPS", func(r *Run) string { return fmt.Sprintf("%.0f", r.QPS) }},
			{"p50 µs", func(r *Run) string { return fmt.Sprintf("%.0f", r.P50) }},
			{"p99 µs", func(r *Run) string { return fmt.Sprintf("%.0f", r.P99) }},
			{"p999 µs", func(r *Run) string { return fmt.Sprintf("%.0f", r.P999) }},
			{"server CPU µs/call", func(r *Run) string { return fmt.Sprintf("%.2f", r.ServerCPUPerCall) }},
			{"client CPU µs/call", func(r *Run) string { return fmt.Sprintf("%.2f", r.ClientCPUPerCall) }},
			{"server allocs/call", func(r *Run) string { return fmt.Sprintf("%.1f", r.ServerAllocsPerCall) }},
			{"client allocs/call (incl. the loop's request)", func(r *Run) string { return fmt.Sprintf("%.1f", r.ClientAllocsPerCall) }},
			{"server RSS MiB", func(r *Run) string { return fmt.Sprintf("%.1f", r.ServerRSSMB) }},
		}
		for _, mt := range metrics {
			fmt.Fprintf(&b, "\n**%s**\n\n| framework |", mt.name)
			for _, k := range keys {
				fmt.Fprintf(&b, " %s |", label(k))
			}
			fmt.Fprintf(&b, "\n|---|")
			for range keys {
				fmt.Fprintf(&b, "---:|")
			}
			fmt.Fprintln(&b)
			for _, fw := range c.Frameworks {
				fmt.Fprintf(&b, "| %s |", fw)
				for _, k := range keys {
					conc, size := key(k)
					if r := rep.find(fw, conc, size); r != nil {
						fmt.Fprintf(&b, " %s |", mt.get(r))
					} else {
						fmt.Fprintf(&b, " – |")
					}
				}
				fmt.Fprintln(&b)
			}
		}
	}
	sweep(fmt.Sprintf("Concurrency sweep, body %s", sizeLabel(c.BaseSize)), c.Concs,
		func(k int) (int, int) { return k, c.BaseSize }, func(k int) string { return fmt.Sprintf("c=%d", k) })
	sweep(fmt.Sprintf("Body size sweep, concurrency %d", c.BaseConc), c.Sizes,
		func(k int) (int, int) { return c.BaseConc, k }, sizeLabel)

	var failed []Run
	var errs []Run
	for _, r := range rep.Runs {
		if r.Error != "" {
			failed = append(failed, r)
		} else if r.Errors > 0 {
			errs = append(errs, r)
		}
	}
	var noisyRuns []Run
	for _, r := range rep.Runs {
		if r.Error == "" && noisy(r) {
			noisyRuns = append(noisyRuns, r)
		}
	}
	if len(noisyRuns) > 0 {
		fmt.Fprintf(&b, "\n## Noisy runs\n\nOther load on the machine during the window (busy CPU from /proc/stat less the server and client; 1 = one CPU), or hypervisor steal: these numbers are less trustworthy.\n\n")
		for _, r := range noisyRuns {
			fmt.Fprintf(&b, "- %s c=%d size=%d: other %.0f%%, steal %.0f%%\n", r.Framework, r.Concurrency, r.Size, r.OtherCPUUtil*100, r.StealUtil*100)
		}
	}
	if len(failed) > 0 || len(errs) > 0 {
		fmt.Fprintf(&b, "\n## Failures and call errors\n\n")
		for _, r := range failed {
			fmt.Fprintf(&b, "- %s c=%d size=%d: run failed: %s\n", r.Framework, r.Concurrency, r.Size, oneLine(r.Error))
		}
		for _, r := range errs {
			fmt.Fprintf(&b, "- %s c=%d size=%d: %d call errors, first: %s\n", r.Framework, r.Concurrency, r.Size, r.Errors, oneLine(r.FirstError))
		}
	}
	if len(charts) > 0 {
		fmt.Fprintf(&b, "\n## Charts\n\n")
		for _, p := range charts {
			name := filepath.Base(p)
			fmt.Fprintf(&b, "![%s](%s)\n", strings.TrimSuffix(name, ".png"), name)
		}
	}
	return b.String()
}

// writeTargets prints issue 7's ratios where the runs needed are present,
// for each Skiff variant, then issue 4's TTHeader ratios.
func writeTargets(b *strings.Builder, rep Report) {
	writeFramedTargets(b, rep)
	writeTTHeaderTargets(b, rep)
	writeGRPCTargets(b, rep)
}

// writeGRPCTargets prints issue 6's ratios: Skiff's gRPC against grpc-go
// and Kitex gRPC, unary and on a bidirectional stream.
func writeGRPCTargets(b *strings.Builder, rep Report) {
	c := rep.Config
	header := false
	for _, p := range [][3]string{{"skiff-grpc", "grpc", "kitex-grpc"}, {"skiff-grpc-bidi", "grpc-bidi", "kitex-grpc-bidi"}} {
		sk, gg, kx := rep.find(p[0], c.BaseConc, c.BaseSize), rep.find(p[1], c.BaseConc, c.BaseSize), rep.find(p[2], c.BaseConc, c.BaseSize)
		if sk == nil || gg == nil {
			continue
		}
		if !header {
			fmt.Fprintf(b, "\n## gRPC targets (echo %s, concurrency %d)\n\n| ratio | target | measured |\n|---|---|---:|\n", sizeLabel(c.BaseSize), c.BaseConc)
			header = true
		}
		fmt.Fprintf(b, "| %s QPS / %s QPS | ≥ 1.5 | %.2f |\n", p[0], p[1], sk.QPS/gg.QPS)
		fmt.Fprintf(b, "| %s p99 / %s p99 | ≤ 1.0 | %.2f |\n", p[0], p[1], sk.P99/gg.P99)
		fmt.Fprintf(b, "| %s server CPU per call / %s's | | %.2f |\n", p[0], p[1], sk.ServerCPUPerCall/gg.ServerCPUPerCall)
		if kx != nil {
			fmt.Fprintf(b, "| %s QPS / %s QPS | | %.2f |\n", p[0], p[2], sk.QPS/kx.QPS)
		}
	}
}

// writeTTHeaderTargets prints issue 4's ratios: Skiff over TTHeader+Framed
// against Kitex over TTHeader+Framed, metadata on for both.
func writeTTHeaderTargets(b *strings.Builder, rep Report) {
	c := rep.Config
	kt := rep.find("kitex-ttheader", c.BaseConc, c.BaseSize)
	if kt == nil {
		return
	}
	header := false
	for _, name := range []string{"skiff-ttheader", "skiff-ttheader-mux"} {
		sk := rep.find(name, c.BaseConc, c.BaseSize)
		if sk == nil {
			continue
		}
		if !header {
			fmt.Fprintf(b, "\n## TTHeader targets (echo %s, concurrency %d, metadata on)\n\n| ratio | target | measured |\n|---|---|---:|\n", sizeLabel(c.BaseSize), c.BaseConc)
			header = true
		}
		fmt.Fprintf(b, "| %s QPS / kitex-ttheader QPS | ≥ 1.3 | %.2f |\n", name, sk.QPS/kt.QPS)
		fmt.Fprintf(b, "| %s p99 / kitex-ttheader p99 | | %.2f |\n", name, sk.P99/kt.P99)
		fmt.Fprintf(b, "| %s server CPU per call / kitex-ttheader's | | %.2f |\n", name, sk.ServerCPUPerCall/kt.ServerCPUPerCall)
	}
	if !header {
		return
	}
	if kf := rep.find("kitex-framed", c.BaseConc, c.BaseSize); kf != nil {
		fmt.Fprintf(b, "| kitex-ttheader QPS / kitex-framed QPS (reference) | | %.2f |\n", kt.QPS/kf.QPS)
	}
	if sf := rep.find("skiff-framed", c.BaseConc, c.BaseSize); sf != nil {
		if st := rep.find("skiff-ttheader", c.BaseConc, c.BaseSize); st != nil {
			fmt.Fprintf(b, "| skiff-ttheader QPS / skiff-framed QPS (reference) | | %.2f |\n", st.QPS/sf.QPS)
		}
	}
}

func writeFramedTargets(b *strings.Builder, rep Report) {
	c := rep.Config
	kf := rep.find("kitex-framed", c.BaseConc, c.BaseSize)
	raw := rep.find("raw", c.BaseConc, c.BaseSize)
	kf1000 := rep.find("kitex-framed", 1000, c.BaseSize)
	header := false
	for _, name := range []string{"skiff-framed", "skiff-framed-std", "skiff-mux", "skiff-mux-std"} {
		sk := rep.find(name, c.BaseConc, c.BaseSize)
		if sk == nil {
			continue
		}
		if !header {
			fmt.Fprintf(b, "\n## Targets (echo %s, concurrency %d)\n\n| ratio | target | measured |\n|---|---|---:|\n", sizeLabel(c.BaseSize), c.BaseConc)
			header = true
		}
		if kf != nil {
			fmt.Fprintf(b, "| %s QPS / kitex-framed QPS | ≥ 1.3 | %.2f |\n", name, sk.QPS/kf.QPS)
			fmt.Fprintf(b, "| %s p99 / kitex-framed p99 | ≤ 0.8 | %.2f |\n", name, sk.P99/kf.P99)
			fmt.Fprintf(b, "| %s server CPU per call / kitex-framed's | | %.2f |\n", name, sk.ServerCPUPerCall/kf.ServerCPUPerCall)
		}
		if sk1000 := rep.find(name, 1000, c.BaseSize); sk1000 != nil {
			fmt.Fprintf(b, "| %s QPS at c=1000 / at c=%d | ≥ 0.9 | %.2f |\n", name, c.BaseConc, sk1000.QPS/sk.QPS)
		}
		if raw != nil {
			fmt.Fprintf(b, "| %s QPS / raw QPS | ≥ 0.8 | %.2f |\n", name, sk.QPS/raw.QPS)
		}
	}
	if !header {
		return
	}
	if kf != nil && kf1000 != nil {
		fmt.Fprintf(b, "| kitex-framed QPS at c=1000 / at c=%d (reference) | | %.2f |\n", c.BaseConc, kf1000.QPS/kf.QPS)
	}
	if raw != nil && kf != nil {
		fmt.Fprintf(b, "| kitex-framed QPS / raw QPS (reference) | | %.2f |\n", kf.QPS/raw.QPS)
	}
}

func sizeLabel(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KB", n>>10)
	}
	return fmt.Sprintf("%d B", n)
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}
