package main

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// The dnsperf settings, the same for every server: 20 clients (sockets) on one thread, at most
// 200 queries outstanding, no EDNS, UDP, 5 s timeout (dnsperf's default), for -duration seconds
// over the query file (restarted from its top when exhausted).
const (
	perfClients     = 20
	perfThreads     = 1
	perfOutstanding = 200
)

func perfArgs(port int, queries string, seconds int) []string {
	return []string{"-s", "127.0.0.1", "-p", strconv.Itoa(port), "-d", queries,
		"-l", strconv.Itoa(seconds), "-c", strconv.Itoa(perfClients), "-T", strconv.Itoa(perfThreads),
		"-q", strconv.Itoa(perfOutstanding)}
}

// perfFlags is how the table's header shows the settings.
func perfFlags(seconds int) string {
	return fmt.Sprintf("-l %d -c %d -T %d -q %d (UDP, no EDNS)", seconds, perfClients, perfThreads, perfOutstanding)
}

// perfResult is what one dnsperf run reports.
type perfResult struct {
	qps     float64
	avgLat  float64 // seconds
	stdLat  float64 // seconds
	lostPct float64
	rcodes  string  // "NOERROR 900 (90.00%), NXDOMAIN 100 (10.00%)"
	cpu     float64 // CPU seconds dnsperf itself used
}

// runPerf runs dnsperf against 127.0.0.1:port and parses its statistics; the output is
// appended to logPath.
func runPerf(dnsperf string, port int, queries string, seconds int, logPath string) (perfResult, error) {
	args := perfArgs(port, queries, seconds)
	cmd := exec.Command(dnsperf, args...)
	cmd.SysProcAttr = sysProcAttr()
	out, err := cmd.CombinedOutput()
	var cpu float64
	if cmd.ProcessState != nil {
		cpu = (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()
	}
	if f, ferr := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644); ferr == nil {
		fmt.Fprintf(f, "==== dnsperf %s\n%s\n", strings.Join(args, " "), out)
		f.Close()
	}
	if err != nil {
		return perfResult{}, fmt.Errorf("dnsperf %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	r, err := parsePerf(string(out))
	r.cpu = cpu
	return r, err
}

func parsePerf(out string) (perfResult, error) {
	var r perfResult
	found := 0
	for _, line := range strings.Split(out, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		first := strings.Fields(v + " ")
		num := func() float64 {
			if len(first) == 0 {
				return 0
			}
			f, _ := strconv.ParseFloat(first[0], 64)
			return f
		}
		switch k {
		case "Queries per second":
			r.qps = num()
			found++
		case "Average Latency (s)":
			r.avgLat = num()
			found++
		case "Latency StdDev (s)":
			r.stdLat = num()
		case "Queries lost":
			// "12 (0.01%)"
			if i, j := strings.Index(v, "("), strings.Index(v, "%)"); i >= 0 && j > i {
				r.lostPct, _ = strconv.ParseFloat(v[i+1:j], 64)
			}
		case "Response codes":
			r.rcodes = v
		}
	}
	if found < 2 {
		return r, fmt.Errorf("no statistics in dnsperf's output:\n%s", out)
	}
	return r, nil
}
