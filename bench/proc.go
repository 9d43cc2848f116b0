package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proc is a process the harness started (named, or one CoreDNS under test), with its output in
// a log file of the work directory.
type proc struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	logFile *os.File
	done    chan struct{} // closed when the process has exited
	waitErr error
}

var (
	procsMu sync.Mutex
	procs   = map[*proc]bool{} // running processes, killed on exit and on Ctrl-C
)

// startProc starts args[0] with its stdout and stderr appended to logPath.
func startProc(name, logPath string, args ...string) (*proc, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(logf, "==== %s: %s\n", time.Now().Format(time.RFC3339Nano), strings.Join(args, " "))
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = sysProcAttr()
	p := &proc{name: name, cmd: cmd, logPath: logPath, logFile: logf, done: make(chan struct{})}
	procsMu.Lock()
	defer procsMu.Unlock()
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	procs[p] = true
	go func() {
		p.waitErr = cmd.Wait()
		logf.Close()
		procsMu.Lock()
		delete(procs, p)
		procsMu.Unlock()
		close(p.done)
	}()
	return p, nil
}

// pid is the process id.
func (p *proc) pid() int { return p.cmd.Process.Pid }

// exited reports whether the process has ended.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// exitErr describes how the process ended, with the end of its log.
func (p *proc) exitErr() error {
	return fmt.Errorf("%s exited early (%v); last lines of %s:\n%s", p.name, p.waitErr, p.logPath, p.tail(30))
}

// stop sends SIGTERM and waits up to timeout for the process to end, then kills it.
func (p *proc) stop(timeout time.Duration) error {
	if p.exited() {
		return nil
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return nil
	case <-time.After(timeout):
		p.kill()
		return fmt.Errorf("%s did not stop within %s of SIGTERM; killed", p.name, timeout)
	}
}

// kill ends the process at once and waits for it.
func (p *proc) kill() {
	if p.exited() {
		return
	}
	_ = p.cmd.Process.Kill()
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
	}
}

// tail returns the last n lines of the process's log.
func (p *proc) tail(n int) string { return tailFile(p.logPath, n) }

func tailFile(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", path, err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "    " + strings.Join(lines, "\n    ")
}

// memMiB reads a field of /proc/PID/status (VmRSS: resident now, VmHWM: the peak resident
// size since the process started) in MiB.
func (p *proc) memMiB(field string) (float64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", p.pid()))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || k != field {
			continue
		}
		fields := strings.Fields(v) // "123456 kB"
		if len(fields) != 2 || fields[1] != "kB" {
			break
		}
		kb, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			return 0, err
		}
		return kb / 1024, nil
	}
	return 0, errors.New(field + " not found in /proc/" + strconv.Itoa(p.pid()) + "/status")
}

// killAll kills every process still running; used on exit, on errors and on Ctrl-C.
func killAll() {
	procsMu.Lock()
	list := make([]*proc, 0, len(procs))
	for p := range procs {
		list = append(list, p)
	}
	procsMu.Unlock()
	for _, p := range list {
		p.kill()
	}
}

// cpuSeconds is the CPU time (user + system) the process has used, from /proc/PID/stat, in
// clock ticks of 1/100 s (USER_HZ, 100 on every Linux this runs on).
func (p *proc) cpuSeconds() (float64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.pid()))
	if err != nil {
		return 0, err
	}
	// The command name, field 2, is in parentheses and may hold spaces: count from the last ')'.
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, errors.New("malformed /proc/PID/stat")
	}
	f := strings.Fields(s[i+1:]) // f[0] is field 3 (state); utime and stime are fields 14 and 15
	if len(f) < 13 {
		return 0, errors.New("short /proc/PID/stat")
	}
	ut, err1 := strconv.ParseFloat(f[11], 64)
	st, err2 := strconv.ParseFloat(f[12], 64)
	if err1 != nil || err2 != nil {
		return 0, errors.New("malformed /proc/PID/stat")
	}
	return (ut + st) / 100, nil
}

// waitIdle waits until the process uses less than 5% of a CPU over half a second (the work
// it does on its own after loading, such as writing zones to disk, is done), at most max, and
// returns how long it waited.
func (p *proc) waitIdle(max time.Duration) (time.Duration, error) {
	start := time.Now()
	const window = 500 * time.Millisecond
	prev, err := p.cpuSeconds()
	if err != nil {
		return 0, err
	}
	for time.Since(start) < max {
		time.Sleep(window)
		cur, err := p.cpuSeconds()
		if err != nil {
			return 0, err
		}
		if cur-prev < 0.05*window.Seconds() {
			return time.Since(start), nil
		}
		prev = cur
	}
	return time.Since(start), nil
}

// machineCPU is the CPU time of the whole machine from /proc/stat, in seconds summed over the
// CPUs: busy (user, nice, system, irq, softirq) and stolen by the hypervisor.
func machineCPU() (busy, steal float64, err error) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, err
	}
	line, _, _ := strings.Cut(string(data), "\n")
	f := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal ...
	if len(f) < 9 || f[0] != "cpu" {
		return 0, 0, errors.New("malformed /proc/stat")
	}
	var v [8]float64
	for i := range v {
		v[i], _ = strconv.ParseFloat(f[i+1], 64)
	}
	return (v[0] + v[1] + v[2] + v[5] + v[6]) / 100, v[7] / 100, nil
}
