package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// instance is one server child process this driver started.
type instance struct {
	addr  string
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Reader
	done  chan struct{} // closed when the process has been waited for
	gone  bool          // killed by the scenario: no more commands
}

// freePort returns a port on 127.0.0.1 that was free a moment ago.
func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// startInstances starts n instances of framework, each in its own process
// group and killed by the kernel if this process dies, and waits until
// every one is ready.
func startInstances(framework string, n int, cpus string) ([]*instance, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	var ins []*instance
	for range n {
		addr, err := freePort()
		if err != nil {
			stopInstances(ins)
			return nil, err
		}
		args := []string{self, "instance", "-framework", framework, "-addr", addr}
		if cpus != "" {
			args = append([]string{"taskset", "-c", cpus}, args...)
		}
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Stderr = os.Stderr
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
		stdin, err := cmd.StdinPipe()
		if err != nil {
			stopInstances(ins)
			return nil, err
		}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			stopInstances(ins)
			return nil, err
		}
		if err := cmd.Start(); err != nil {
			stopInstances(ins)
			return nil, err
		}
		in := &instance{addr: addr, cmd: cmd, stdin: stdin, out: bufio.NewReader(stdout), done: make(chan struct{})}
		ins = append(ins, in)
		go func() { _ = cmd.Wait(); close(in.done) }()
	}
	for _, in := range ins {
		line, err := readLineTimeout(in, 20*time.Second)
		if err != nil || line != "ready" {
			stopInstances(ins)
			return nil, fmt.Errorf("instance %s did not start: %q %v", in.addr, line, err)
		}
	}
	return ins, nil
}

// readLineTimeout reads one line of the instance's output.
func readLineTimeout(in *instance, d time.Duration) (string, error) {
	type res struct {
		s   string
		err error
	}
	c := make(chan res, 1)
	go func() {
		s, err := in.out.ReadString('\n')
		c <- res{strings.TrimSpace(s), err}
	}()
	select {
	case r := <-c:
		return r.s, r.err
	case <-time.After(d):
		return "", fmt.Errorf("no answer from %s within %v", in.addr, d)
	}
}

// command sends one command line and returns the instance's handler runs
// so far.
func (in *instance) command(line string) (int64, error) {
	if _, err := fmt.Fprintln(in.stdin, line); err != nil {
		return 0, err
	}
	s, err := readLineTimeout(in, 5*time.Second)
	if err != nil {
		return 0, err
	}
	n, ok := strings.CutPrefix(s, "hits ")
	if !ok {
		return 0, fmt.Errorf("instance %s answered %q", in.addr, s)
	}
	return strconv.ParseInt(n, 10, 64)
}

// signal sends sig to the instance's process (only to the process this
// driver started, by its pid).
func (in *instance) signal(sig syscall.Signal) error {
	return in.cmd.Process.Signal(sig)
}

// stopInstances ends every instance: a stopped one is continued, input is
// closed (they exit), and any still there after 3 s is killed.
func stopInstances(ins []*instance) {
	for _, in := range ins {
		_ = in.cmd.Process.Signal(syscall.SIGCONT)
		_ = in.stdin.Close()
	}
	deadline := time.Now().Add(3 * time.Second)
	for _, in := range ins {
		select {
		case <-in.done:
		case <-time.After(time.Until(deadline)):
			_ = in.cmd.Process.Kill()
			<-in.done
		}
	}
}

// cpuTime is the CPU time (user + system) the instance's process used so
// far, from /proc/<pid>/stat; 0 when it is gone.
func (in *instance) cpuTime() time.Duration {
	if in.gone {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", in.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond // USER_HZ is 100 on Linux
}

// selfCPU is this process's CPU time so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// machineBusy is the CPU time every CPU of the machine spent busy so far
// (user, nice, system, irq, softirq, steal in /proc/stat).
func machineBusy() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0
	}
	var busy int64
	for _, i := range []int{1, 2, 3, 6, 7, 8} {
		v, _ := strconv.ParseInt(f[i], 10, 64)
		busy += v
	}
	return time.Duration(busy) * 10 * time.Millisecond
}
