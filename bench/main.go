// Command bench measures cfsecondary next to CoreDNS's own secondary plugin, in one run, with
// the same CoreDNS binary (./coredns, from `make build`) against one real BIND 9 primary on
// loopback, and prints one table of medians and ratios. `make bench` runs it; see
// bench/README.md for what each figure means and how it is taken.
//
//	go run ./bench [-runs 3] [-records 1000000] [-zones 10000] [-duration 10] [-out bench/results.md] [-only big,many] [-keep]
//
// It needs named, nsupdate and dnsperf; when one is missing and it runs as root on Debian it
// installs them with `apt-get update && apt-get install -y bind9 bind9-utils dnsutils dnsperf`
// (-no-install to refuse).
package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

type options struct {
	runs      int
	records   int
	zones     int
	duration  int
	queries   int
	out       string
	only      string
	keep      bool
	work      string
	coredns   string
	noInstall bool
}

// bench is one run of the harness.
type bench struct {
	opt                         options
	big, many                   bool
	work                        string
	coredns, nsupdate, dnsperf  string
	named                       string
	bind                        *primary
	port                        int // where the server under test listens (and BIND notifies)
	bigOrigin                   string
	bigZone                     bigZone
	bigQueries, manyQueries     string
	smallNames                  []string
	res                         *results
	updates                     int
	nsupdateMs                  []float64
	others, steal               []float64         // % of the CPUs taken by other processes, by the hypervisor, during each dnsperf run
	rcodes                      map[string]string // "big cfsecondary" → dnsperf's response codes
	bindLoad                    time.Duration
	start                       time.Time
	coreVersion, coreGo, bindV  string
	perfVersion, cpuModel, head string
	coreSum                     string // sha256 of the binary measured, first 12 hex digits
}

func main() {
	var o options
	flag.IntVar(&o.runs, "runs", 3, "runs of each server; each cell is their median")
	flag.IntVar(&o.records, "records", 1_000_000, "records of the big zone (at least 1000)")
	flag.IntVar(&o.zones, "zones", 10_000, "number of small zones")
	flag.IntVar(&o.duration, "duration", 10, "seconds of each dnsperf run")
	flag.IntVar(&o.queries, "queries", 100_000, "lines of each dnsperf query file")
	flag.StringVar(&o.out, "out", "bench/results.md", "also write the table as Markdown to this file (\"\" for none)")
	flag.StringVar(&o.only, "only", "", "run only these parts, comma-separated: big (the 1M-record zone), many (the small zones)")
	flag.BoolVar(&o.keep, "keep", false, "keep the work directory (zones, configs, logs) at the end")
	flag.StringVar(&o.work, "work", "", "make the work directory inside this one (default: the system's temporary directory)")
	flag.StringVar(&o.coredns, "coredns", "./coredns", "the CoreDNS binary to measure (make build)")
	flag.BoolVar(&o.noInstall, "no-install", false, "never apt-get install missing tools; fail instead")
	flag.Parse()

	b := &bench{opt: o, bigOrigin: "big.test.", res: newResults(max(o.runs, 1)), rcodes: map[string]string{}, start: time.Now()}
	cleanup := b.cleanupOnce()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := <-sig
		logf("interrupted (%v): stopping every process the bench started", s)
		cleanup()
		os.Exit(130)
	}()

	err := b.run()
	cleanup()
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: FAILED: %v\n", err)
		if !o.keep {
			fmt.Fprintln(os.Stderr, "bench: run again with -keep to keep the work directory and every log")
		}
		os.Exit(1)
	}
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench %s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

func (b *bench) cleanupOnce() func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			killAll()
			if b.work == "" {
				return
			}
			if b.opt.keep {
				logf("work directory kept: %s", b.work)
				return
			}
			os.RemoveAll(b.work)
		})
	}
}

func (b *bench) run() error {
	o := b.opt
	if o.runs < 1 || o.records < 1000 || o.zones < 1 || o.duration < 1 || o.queries < 100 {
		return errors.New("need -runs ≥ 1, -records ≥ 1000, -zones ≥ 1, -duration ≥ 1, -queries ≥ 100")
	}
	switch o.only {
	case "":
		b.big, b.many = true, true
	default:
		for _, p := range strings.Split(o.only, ",") {
			switch strings.TrimSpace(p) {
			case "big":
				b.big = true
			case "many":
				b.many = true
			default:
				return fmt.Errorf("-only %q: the parts are big and many", o.only)
			}
		}
	}
	if err := b.findTools(); err != nil {
		return err
	}

	// A new directory of our own, inside -work when given, so that removing it at the end
	// never touches anything else.
	if o.work != "" {
		if err := os.MkdirAll(o.work, 0o755); err != nil {
			return err
		}
	}
	w, err := os.MkdirTemp(o.work, "cfsecondary-bench-")
	if err != nil {
		return err
	}
	if b.work, err = filepath.Abs(w); err != nil {
		return err
	}
	for _, d := range []string{"bind", "bind/zones", "corefiles", "logs", "data"} {
		if err := os.MkdirAll(filepath.Join(b.work, d), 0o755); err != nil {
			return err
		}
	}
	logf("work directory: %s (removed at the end unless -keep)", b.work)

	// Every server runs from one copy of the binary taken now: ./coredns may be rebuilt while
	// the bench runs (make build in the same checkout), and a comparison must not straddle two.
	sum, err := copyFile(b.coredns, filepath.Join(b.work, "coredns"))
	if err != nil {
		return fmt.Errorf("copying %s: %w", b.coredns, err)
	}
	logf("measuring a copy of %s (sha256 %s)", b.coredns, sum[:12])
	b.coredns = filepath.Join(b.work, "coredns")
	b.coreSum = sum[:12]
	b.describeMachine()
	logf("estimate: about %d minutes in all (a rough guess; a better one after the first round)", int(math.Ceil(b.estimate().Minutes())))

	if err := b.prepare(); err != nil {
		return err
	}
	if err := b.startPrimary(); err != nil {
		return err
	}

	servers := []server{srvCF, srvCF2, srvSec, srvWhoami}
	parts := []struct {
		on   bool
		name string
		run  func(server, int) error
	}{{b.big, "big", b.bigRun}, {b.many, "many", b.manyRun}}
	for _, part := range parts {
		if !part.on {
			continue
		}
		for round := range o.runs {
			t := time.Now()
			// Servers run in turn, the order rotated each round so no server always comes
			// right after the same other one (or first, on a cold machine).
			for i := range servers {
				s := servers[(i+round)%len(servers)]
				if err := part.run(s, round); err != nil {
					return fmt.Errorf("%s, round %d, %s: %w", part.name, round+1, s.label, err)
				}
				time.Sleep(time.Second) // let the stopped process's memory go back
			}
			logf("%s round %d/%d done in %s; the whole bench has taken %s, about %s left", part.name, round+1, o.runs,
				time.Since(t).Round(time.Second), time.Since(b.start).Round(time.Second), b.left(part.name, round, time.Since(t)).Round(time.Minute))
		}
	}
	return b.report()
}

// findTools finds coredns, named, nsupdate and dnsperf, and installs the Debian packages when
// one of the last three is missing.
func (b *bench) findTools() error {
	if _, err := os.Stat(b.opt.coredns); err != nil {
		return fmt.Errorf("%s not found: run `make build` first (make bench does)", b.opt.coredns)
	}
	c, err := filepath.Abs(b.opt.coredns)
	if err != nil {
		return err
	}
	b.coredns = c
	find := func() (missing []string) {
		b.named, b.nsupdate, b.dnsperf = lookTool("named"), lookTool("nsupdate"), lookTool("dnsperf")
		for name, p := range map[string]string{"named": b.named, "nsupdate": b.nsupdate, "dnsperf": b.dnsperf} {
			if p == "" {
				missing = append(missing, name)
			}
		}
		return missing
	}
	missing := find()
	if len(missing) == 0 {
		return nil
	}
	const install = "apt-get update && apt-get install -y bind9 bind9-utils dnsutils dnsperf"
	switch _, aptErr := exec.LookPath("apt-get"); {
	case b.opt.noInstall:
		return fmt.Errorf("missing %s; install them: %s", strings.Join(missing, ", "), install)
	case os.Geteuid() != 0 || aptErr != nil:
		return fmt.Errorf("missing %s; as root on Debian: %s", strings.Join(missing, ", "), install)
	}
	logf("missing %s: installing the Debian packages, as root: %s", strings.Join(missing, ", "), install)
	for _, args := range [][]string{{"apt-get", "update"}, {"apt-get", "install", "-y", "bind9", "bind9-utils", "dnsutils", "dnsperf"}} {
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("%s: %v", strings.Join(args, " "), err)
		}
	}
	if missing := find(); len(missing) > 0 {
		return fmt.Errorf("still missing %s after installing", strings.Join(missing, ", "))
	}
	return nil
}

// copyFile copies an executable and returns the sha256 of its content, in hex.
func copyFile(from, to string) (string, error) {
	src, err := os.Open(from)
	if err != nil {
		return "", err
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o755)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(dst, h), src); err != nil {
		dst.Close()
		return "", err
	}
	if err := dst.Close(); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func lookTool(name string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/usr/local/sbin", "/usr/bin", "/sbin"} {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p
		}
	}
	return ""
}

// describeMachine gathers the header line: date, CPUs, versions.
func (b *bench) describeMachine() {
	firstLine := func(out []byte) string {
		s, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
		return strings.TrimSpace(s)
	}
	out, _ := exec.Command(b.coredns, "-version").Output()
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	b.coreVersion = firstLine(out)
	if len(lines) > 1 {
		for _, f := range strings.Split(lines[1], ",") {
			if f = strings.TrimSpace(f); strings.HasPrefix(f, "go") {
				b.coreGo = f
			}
		}
	}
	out, _ = exec.Command(b.named, "-v").Output()
	b.bindV = firstLine(out)
	out, _ = exec.Command(b.dnsperf, "-h").CombinedOutput()
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "Version ") {
			b.perfVersion = strings.TrimSpace(strings.TrimPrefix(l, "Version "))
		}
	}
	b.cpuModel = "unknown CPU"
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				b.cpuModel = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	commit := ""
	if out, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output(); err == nil {
		commit = firstLine(out)
		if out, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(strings.TrimSpace(string(out))) > 0 {
			commit += "+changes"
		}
	}
	b.head = fmt.Sprintf("%s · %d CPUs (%s) · harness %s · %s (%s, sha256 %s) · %s · dnsperf %s %s",
		time.Now().Format("2006-01-02 15:04 MST"), runtime.NumCPU(), b.cpuModel, runtime.Version(),
		b.coreVersion, b.coreGo, b.coreSum, b.bindV, b.perfVersion, perfFlags(b.opt.duration))
	if commit != "" {
		b.head += " · commit " + commit
	}
}

// estimate is a rough guess of the whole run's time, from the sizes and settings (calibrated
// on 2 cores: about 12 minutes for the defaults).
func (b *bench) estimate() time.Duration {
	d := 5.0
	if b.big {
		d += 10*float64(b.opt.records)/1e6 + float64(b.opt.runs)*b.bigRound()
	}
	if b.many {
		d += float64(b.opt.zones)/1000 + float64(b.opt.runs)*b.manyRound()
	}
	return time.Duration(d * float64(time.Second))
}

// bigRound and manyRound guess the seconds of one round of each part.
func (b *bench) bigRound() float64 {
	load := 2.5*float64(b.opt.records)/1e6 + 0.5 // one full transfer of the big zone
	return 3*(3*load+float64(b.opt.duration)+8) + float64(b.opt.duration) + 6
}

func (b *bench) manyRound() float64 {
	start := 2*float64(b.opt.zones)/1000 + 1
	return 3*(start+float64(b.opt.duration)+8) + float64(b.opt.duration) + 6
}

// left guesses the time still to come from how long the last round of a part took.
func (b *bench) left(part string, round int, took time.Duration) time.Duration {
	d := time.Duration(b.opt.runs-round-1) * took
	if part == "big" && b.many {
		d += time.Duration(float64(b.opt.runs) * b.manyRound() * float64(time.Second))
	}
	return d
}

// prepare writes the zones and the query files.
func (b *bench) prepare() error {
	if b.big {
		t := time.Now()
		zonegen := filepath.Join(b.work, "zonegen")
		goTool := lookTool("go")
		if goTool == "" {
			goTool = "/usr/local/go/bin/go"
		}
		if out, err := exec.Command(goTool, "build", "-o", zonegen, "./cmd/zonegen").CombinedOutput(); err != nil {
			return fmt.Errorf("building cmd/zonegen (run the bench from the repository's root): %v\n%s", err, out)
		}
		zf, err := os.Create(filepath.Join(b.work, "bind", "big.test.zone"))
		if err != nil {
			return err
		}
		cmd := exec.Command(zonegen, "-origin", b.bigOrigin, "-records", fmt.Sprint(b.opt.records), "-serial", "1")
		cmd.Stdout = zf
		var stderr strings.Builder
		cmd.Stderr = &stderr
		err = cmd.Run()
		zf.Close()
		if err != nil {
			return fmt.Errorf("zonegen: %v\n%s", err, stderr.String())
		}
		b.bigZone = newBigZone(b.bigOrigin, b.opt.records)
		b.bigQueries = filepath.Join(b.work, "queries-big.txt")
		if err := writeBigQueries(b.bigQueries, b.bigZone, b.opt.queries); err != nil {
			return err
		}
		logf("generated %s: %d records (zonegen), and %d queries, in %s", b.bigOrigin, b.opt.records, b.opt.queries, time.Since(t).Round(time.Millisecond))
	}
	if b.many {
		t := time.Now()
		for i := range b.opt.zones {
			b.smallNames = append(b.smallNames, smallZoneName(i))
		}
		b.manyQueries = filepath.Join(b.work, "queries-many.txt")
		if err := writeManyQueries(b.manyQueries, b.opt.zones, b.opt.queries); err != nil {
			return err
		}
		logf("generating %d small zones and %d queries over them took %s", b.opt.zones, b.opt.queries, time.Since(t).Round(time.Millisecond))
	}
	return nil
}

// startPrimary starts named with the zones and waits until it serves all of them.
func (b *bench) startPrimary() error {
	bindPort, err := freePort()
	if err != nil {
		return err
	}
	b.port, err = freePort(bindPort)
	if err != nil {
		return err
	}
	var files []string
	if b.many {
		for i := range b.opt.zones {
			f, err := writeSmallZone(filepath.Join(b.work, "bind", "zones"), i)
			if err != nil {
				return err
			}
			files = append(files, f)
		}
	}
	bigFile := ""
	if b.big {
		bigFile = filepath.Join(b.work, "bind", "big.test.zone")
	}
	t := time.Now()
	b.bind, err = startPrimary(b.named, filepath.Join(b.work, "bind"), bindPort, b.port, b.bigOrigin, bigFile, files)
	if err != nil {
		return err
	}
	logf("named (pid %d) on %s loading its zones; the servers under test will listen on 127.0.0.1:%d", b.bind.p.pid(), b.bind.addr, b.port)
	if b.big {
		if _, err := waitSerial(b.bind.p, b.bind.addr, b.bigOrigin, 1, t, 50*time.Millisecond, 10*time.Minute); err != nil {
			return fmt.Errorf("named: %w", err)
		}
	}
	if b.many {
		if _, err := waitAllZones(b.bind.p, b.bind.addr, b.smallNames, 1, t, 15*time.Minute); err != nil {
			return fmt.Errorf("named: %w", err)
		}
	}
	b.bindLoad = time.Since(t)
	logf("named serves every zone, %s after its start", b.bindLoad.Round(time.Millisecond))
	return nil
}

// corefile writes the Corefile of server s for a part and returns its path. Every server gets
// the same shape: one server block on 127.0.0.1:port with bind and its one plugin, nothing
// else (no log, no prometheus, no cache).
func (b *bench) corefile(s server, part, dataDir string) (string, error) {
	peer := b.bind.addr
	var body string
	switch {
	case part == "big" && (s == srvCF || s == srvCF2):
		body = fmt.Sprintf("cfsecondary {\n\t\tpeer %s ixfr\n\t\tdir %s\n\t\trefresh 3600\n\t}", peer, dataDir)
	case part == "big" && s == srvSec:
		body = fmt.Sprintf("secondary {\n\t\ttransfer from %s\n\t}", peer)
	case part == "many" && (s == srvCF || s == srvCF2):
		body = fmt.Sprintf("cfsecondary %s {\n\t\tpeer %s ixfr\n\t\tdir %s\n\t\trefresh 3600\n\t}", strings.Join(b.smallNames, " "), peer, dataDir)
	case part == "many" && s == srvSec:
		body = fmt.Sprintf("secondary %s {\n\t\ttransfer from %s\n\t}", strings.Join(b.smallNames, " "), peer)
	default:
		body = "whoami"
	}
	zone := b.bigOrigin
	if part == "many" {
		zone = "."
	}
	text := fmt.Sprintf("%s:%d {\n\tbind 127.0.0.1\n\t%s\n}\n", zone, b.port, body)
	path := filepath.Join(b.work, "corefiles", part+"-"+s.key+".Corefile")
	return path, os.WriteFile(path, []byte(text), 0o644)
}

// startServer starts ./coredns with the Corefile; its output goes to logPath.
func (b *bench) startServer(s server, conf, logPath string) (*proc, error) {
	return startProc("coredns ("+s.label+")", logPath, b.coredns, "-conf", conf)
}

// whoamiRun measures the ceiling: CoreDNS answering every query with whoami, queries only.
func (b *bench) whoamiRun(part, queries, probe string, round int) error {
	conf, err := b.corefile(srvWhoami, part, "")
	if err != nil {
		return err
	}
	logPath := filepath.Join(b.work, "logs", fmt.Sprintf("%s-%s-r%d.log", part, srvWhoami.key, round+1))
	p, err := b.startServer(srvWhoami, conf, logPath)
	if err != nil {
		return err
	}
	defer p.kill()
	if err := waitAnswers(p, fmt.Sprintf("127.0.0.1:%d", b.port), probe, 2*time.Minute); err != nil {
		return err
	}
	if _, err := b.settle(p, part, srvWhoami); err != nil { // the same settling as the secondaries get
		return err
	}
	if err := b.perf(p, part, srvWhoami, round, queries, logPath); err != nil {
		return err
	}
	return p.stop(2 * time.Minute)
}

// settle waits 3 s after the zones are served and reads the resident memory then; then it
// waits until the process is idle (its own work after loading done, such as writing zones to
// disk), at most a minute, so that dnsperf measures every server in the same steady state.
func (b *bench) settle(p *proc, part string, s server) (rss float64, err error) {
	cpu0, err := p.cpuSeconds()
	if err != nil {
		return 0, err
	}
	time.Sleep(3 * time.Second)
	if rss, err = p.memMiB("VmRSS"); err != nil {
		return 0, err
	}
	cpu1, err := p.cpuSeconds()
	if err != nil {
		return 0, err
	}
	idle, err := p.waitIdle(time.Minute)
	if err != nil {
		return 0, err
	}
	rssIdle, err := p.memMiB("VmRSS")
	if err != nil {
		return 0, err
	}
	logf("  %s %s: RSS %.0f MiB 3 s after (%.2f s of CPU in those 3 s); idle %.1f s later, RSS then %.0f MiB", part, s.label, rss, cpu1-cpu0, idle.Seconds(), rssIdle)
	return rss, nil
}

// perf runs dnsperf against the server p and records its figures, and how much of the CPUs
// other processes (neither the server nor dnsperf) and the hypervisor took meanwhile: the noise.
func (b *bench) perf(p *proc, part string, s server, round int, queries, logPath string) error {
	busy0, steal0, err := machineCPU()
	if err != nil {
		return err
	}
	srv0, err := p.cpuSeconds()
	if err != nil {
		return err
	}
	t := time.Now()
	r, err := runPerf(b.dnsperf, b.port, queries, b.opt.duration, logPath)
	if err != nil {
		return err
	}
	wall := time.Since(t).Seconds() * float64(runtime.NumCPU())
	busy1, steal1, err := machineCPU()
	if err != nil {
		return err
	}
	srv1, err := p.cpuSeconds()
	if err != nil {
		return err
	}
	others := max(0, busy1-busy0-(srv1-srv0)-r.cpu) / wall * 100
	steal := (steal1 - steal0) / wall * 100
	b.others = append(b.others, others)
	b.steal = append(b.steal, steal)

	prefix := ""
	if part == "many" {
		prefix = "m-"
	}
	b.res.set(prefix+"qps", s, round, r.qps)
	b.res.set(prefix+"lat", s, round, r.avgLat*1000)
	// The server's own cost of an answer, whatever the client could push: what queries per
	// second would follow if the server, not dnsperf or the kernel, were the limit.
	if answered := r.qps * float64(b.opt.duration); answered > 0 {
		b.res.set(prefix+"cpu", s, round, (srv1-srv0)/answered*1e6)
	}
	b.res.set(prefix+"lost", s, round, r.lostPct)
	b.rcodes[part+" "+s.label] = r.rcodes
	logf("  %s %s: %.0f qps, average latency %.3f ms (stddev %.3f), lost %.2f%%; %s; CPUs: server %.0f%%, dnsperf %.0f%%, others %.0f%%, stolen %.0f%%",
		part, s.label, r.qps, r.avgLat*1000, r.stdLat*1000, r.lostPct, r.rcodes, (srv1-srv0)/wall*100, r.cpu/wall*100, others, steal)
	return nil
}

// bigRun is one run of one server on the big zone: load by AXFR, memory, queries, a 10-record
// change by NOTIFY, and a restart.
func (b *bench) bigRun(s server, round int) error {
	if s == srvWhoami {
		return b.whoamiRun("big", b.bigQueries, "h0."+b.bigOrigin, round)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", b.port)
	dataDir := filepath.Join(b.work, "data", "big-"+s.key)
	if err := os.RemoveAll(dataDir); err != nil {
		return err
	}
	conf, err := b.corefile(s, "big", dataDir)
	if err != nil {
		return err
	}
	logPath := filepath.Join(b.work, "logs", fmt.Sprintf("big-%s-r%d.log", s.key, round+1))
	serial, err := b.bind.serial(b.bigOrigin)
	if err != nil {
		return err
	}

	// 1. Start → the SOA with the primary's serial answered authoritatively: a full AXFR.
	start := time.Now()
	p, err := b.startServer(s, conf, logPath)
	if err != nil {
		return err
	}
	defer p.kill()
	load, err := waitSerial(p, addr, b.bigOrigin, serial, start, 10*time.Millisecond, 10*time.Minute)
	if err != nil {
		return err
	}
	b.res.set("load", s, round, load.Seconds())

	// 2. Resident memory 3 s after it serves, then let it finish its own work.
	logf("  big %s, round %d: served %s serial %d %.2f s after start", s.label, round+1, b.bigOrigin, serial, load.Seconds())
	rss, err := b.settle(p, "big", s)
	if err != nil {
		return err
	}
	b.res.set("rss", s, round, rss)

	// 3. Queries.
	if err := b.perf(p, "big", s, round, b.bigQueries, logPath); err != nil {
		return err
	}

	// 4. A 10-record change on the primary by dynamic update; BIND bumps the serial and sends
	// NOTIFY. The clock starts right before nsupdate is run and stops when the server answers
	// the new serial: it includes nsupdate itself and BIND's update.
	b.updates++
	want := serial + 1
	type polled struct {
		d   time.Duration
		err error
	}
	done := make(chan polled, 1)
	t0 := time.Now()
	go func() {
		d, err := waitSerial(p, addr, b.bigOrigin, want, t0, time.Millisecond, 5*time.Minute)
		done <- polled{d, err}
	}()
	if err := b.bind.update(b.nsupdate, b.bigOrigin, b.bigZone.updateCommands(b.updates)); err != nil {
		return err
	}
	upd := time.Since(t0)
	if got, err := b.bind.serial(b.bigOrigin); err != nil {
		return err
	} else if got != want {
		return fmt.Errorf("after the update named serves serial %d, want %d", got, want)
	}
	res := <-done
	if res.err != nil {
		return fmt.Errorf("after NOTIFY: %w\nlast lines of %s:\n%s", res.err, b.bind.p.logPath, b.bind.p.tail(10))
	}
	b.res.set("notify", s, round, float64(res.d.Microseconds())/1000)
	b.nsupdateMs = append(b.nsupdateMs, float64(upd.Microseconds())/1000)

	// 5. The peak resident memory over load, queries and the change.
	peak, err := p.memMiB("VmHWM")
	if err != nil {
		return err
	}
	b.res.set("peak", s, round, peak)
	logf("  big %s: 10-record change → serial %d served in %.1f ms (nsupdate took %.1f ms); peak RSS %.0f MiB", s.label, want, float64(res.d.Microseconds())/1000, float64(upd.Microseconds())/1000, peak)

	// 6. Restart with the same data directory → serving the current serial again.
	if err := p.stop(2 * time.Minute); err != nil {
		return err
	}
	start = time.Now()
	p2, err := b.startServer(s, conf, logPath)
	if err != nil {
		return err
	}
	defer p2.kill()
	again, err := waitSerial(p2, addr, b.bigOrigin, want, start, 10*time.Millisecond, 10*time.Minute)
	if err != nil {
		return fmt.Errorf("after the restart: %w", err)
	}
	b.res.set("restart", s, round, again.Seconds())
	logf("  big %s: restarted, serving serial %d again %.2f s after start", s.label, want, again.Seconds())
	if err := p2.stop(2 * time.Minute); err != nil {
		return err
	}
	return os.RemoveAll(dataDir)
}

// manyRun is one run of one server on the small zones: startup until all are served, memory,
// queries spread over all of them.
func (b *bench) manyRun(s server, round int) error {
	if s == srvWhoami {
		return b.whoamiRun("many", b.manyQueries, "www."+smallZoneName(0), round)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", b.port)
	dataDir := filepath.Join(b.work, "data", "many-"+s.key)
	if err := os.RemoveAll(dataDir); err != nil {
		return err
	}
	conf, err := b.corefile(s, "many", dataDir)
	if err != nil {
		return err
	}
	logPath := filepath.Join(b.work, "logs", fmt.Sprintf("many-%s-r%d.log", s.key, round+1))
	start := time.Now()
	p, err := b.startServer(s, conf, logPath)
	if err != nil {
		return err
	}
	defer p.kill()
	startup, err := waitAllZones(p, addr, b.smallNames, 1, start, 20*time.Minute)
	if err != nil {
		return err
	}
	b.res.set("m-start", s, round, startup.Seconds())
	if n := min(100, b.opt.zones); checkSample(addr, b.opt.zones, n) != n {
		logf("  WARNING: many %s: some of %d sampled zones do not answer www A right", s.label, n)
	}
	logf("  many %s, round %d: all %d zones served %.2f s after start", s.label, round+1, b.opt.zones, startup.Seconds())
	rss, err := b.settle(p, "many", s)
	if err != nil {
		return err
	}
	b.res.set("m-rss", s, round, rss)
	if err := b.perf(p, "many", s, round, b.manyQueries, logPath); err != nil {
		return err
	}
	if err := p.stop(2 * time.Minute); err != nil {
		return err
	}
	return os.RemoveAll(dataDir)
}

// report prints the table to stdout and writes the Markdown file.
func (b *bench) report() error {
	var metrics []metric
	if b.big {
		metrics = append(metrics, bigMetrics(b.opt.records)...)
	}
	if b.many {
		metrics = append(metrics, manyMetrics(b.opt.zones)...)
	}
	table, warnings := b.res.table(metrics)
	title := fmt.Sprintf("cfsecondary vs CoreDNS secondary: %d run(s) each, in turn; medians; ratios are medians of the per-round ratios", b.opt.runs)
	var out strings.Builder
	fmt.Fprintf(&out, "%s\n%s\n\n%s", title, b.head, table)
	for _, w := range warnings {
		fmt.Fprintln(&out, w)
	}
	noise := b.noiseLine()
	fmt.Fprintln(&out, noise)
	fmt.Print("\n" + out.String())

	if b.opt.out == "" {
		return nil
	}
	var md strings.Builder
	fmt.Fprintf(&md, "# Benchmark: cfsecondary vs CoreDNS secondary\n\n")
	fmt.Fprintf(&md, "%s\n\n", b.head)
	fmt.Fprintf(&md, "Command: `go run ./bench -runs %d -records %d -zones %d -duration %d -queries %d", b.opt.runs, b.opt.records, b.opt.zones, b.opt.duration, b.opt.queries)
	if b.opt.only != "" {
		fmt.Fprintf(&md, " -only %s", b.opt.only)
	}
	fmt.Fprintf(&md, "` (named loaded its zones in %s).\n\n", b.bindLoad.Round(time.Millisecond))
	fmt.Fprintf(&md, "Each cell is the median of %d run(s); the servers ran one at a time, in turn (run 1 of each, then run 2 of each, the order rotated each round), and each ratio is the median of the ratios of the same round. *cfsecondary (again)* is a second, identical cfsecondary: its ratio to the first is the A/A control and should be ≈ 1.00.\n\n", b.opt.runs)
	md.WriteString(table)
	for _, w := range warnings {
		fmt.Fprintf(&md, "\n**%s**\n", w)
	}
	fmt.Fprintf(&md, "\n%s\n", noise)
	fmt.Fprintf(&md, "\n## Every run\n\n%s", b.res.runsTable(metrics))
	md.WriteString("\n## How\n\n")
	md.WriteString(howText(b))
	if dir := filepath.Dir(b.opt.out); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	if err := os.WriteFile(b.opt.out, []byte(md.String()), 0o644); err != nil {
		return err
	}
	logf("the table is also in %s", b.opt.out)
	return nil
}

// noiseLine says how much of the machine others took while dnsperf ran.
func (b *bench) noiseLine() string {
	if len(b.others) == 0 {
		return ""
	}
	line := fmt.Sprintf("Noise: while dnsperf ran, other processes used a median %.0f%% (at most %.0f%%) of the %d CPUs, and the hypervisor stole %.0f%% (at most %.0f%%).",
		median(b.others), slices.Max(b.others), runtime.NumCPU(), median(b.steal), slices.Max(b.steal))
	if slices.Max(b.others) > 10 || slices.Max(b.steal) > 10 {
		line += " Expect noisy figures."
	}
	return line
}

// howText explains the figures, for the Markdown file.
func howText(b *bench) string {
	var s strings.Builder
	fmt.Fprintf(&s, "- One BIND `named -g` on 127.0.0.1 is the primary of everything. %s is dynamic (`allow-update` with a TSIG key, so BIND keeps a journal and serves IXFR), with `notify explicit; also-notify { 127.0.0.1 port <server>; }; notify-delay 0;`; the small zones have `notify no`.\n", b.bigOrigin)
	s.WriteString("- Every server under test is its own `./coredns -conf` process on the same loopback port, one at a time, with one server block holding `bind 127.0.0.1` and its one plugin, nothing else: `cfsecondary { peer <bind> ixfr; dir <empty dir>; refresh 3600 }`, `secondary { transfer from <bind> }`, or `whoami` (the ceiling of CoreDNS itself, measured for queries only). The small zones are listed as the plugins' arguments in a `.` block.\n")
	s.WriteString("- **start → serving**: from right before the process is started to the first authoritative answer of the SOA with the primary's serial, polled every 10 ms; the cfsecondary data directory is empty, so this is a full AXFR. For the small zones: until every zone answers its SOA (walked in order; at the first not served yet, asked again every 10 ms).\n")
	s.WriteString("- **RSS**: VmRSS of /proc/PID/status 3 s after the zone(s) are served; **peak RSS**: VmHWM after the 10-record change (the peak over load, queries and the change, whose transfer is a full AXFR for secondary, an IXFR for cfsecondary).\n")
	fmt.Fprintf(&s, "- **queries**: `dnsperf %s` with a query file of %d lines made once with a fixed seed. Big zone: ", strings.Join(perfArgs(0, "FILE", b.opt.duration), " "), b.opt.queries)
	var mix []string
	for _, m := range bigMix {
		mix = append(mix, fmt.Sprintf("%d%% %s", m.percent, m.what))
	}
	s.WriteString(strings.Join(mix, ", ") + ". Small zones: a random zone per query, then ")
	mix = mix[:0]
	for _, m := range manyMix {
		mix = append(mix, fmt.Sprintf("%d%% %s", m.percent, m.what))
	}
	s.WriteString(strings.Join(mix, ", ") + ". Client and server share the machine's CPUs, the same way for every server.\n")
	s.WriteString("- **10-record change → new serial served**: `nsupdate -y` replaces the A records of 10 names (10 deleted, 10 added); BIND bumps the serial by one and sends NOTIFY. The clock starts right before nsupdate is run, so it includes nsupdate's own run and BIND's update")
	if len(b.nsupdateMs) > 0 {
		fmt.Fprintf(&s, " (nsupdate took %.1f ms, median)", median(b.nsupdateMs))
	}
	s.WriteString(", and stops at the first authoritative SOA with the new serial, polled every 1 ms.\n")
	s.WriteString("- **restart → serving again**: SIGTERM, wait for the exit, start the same Corefile with the same data directory; time until the current serial is answered. cfsecondary reads its saved zone; secondary keeps nothing on disk and transfers again.\n")
	s.WriteString("- Ratios are medians of per-round ratios (cfsecondary ÷ the other server of the same round): below 1 is better for times, latency and memory, above 1 for queries per second.\n")
	if len(b.rcodes) > 0 {
		s.WriteString("\nResponse codes seen by dnsperf (last run of each):\n\n")
		for _, part := range []string{"big", "many"} {
			for _, srv := range allSrv {
				if rc, ok := b.rcodes[part+" "+srv.label]; ok {
					fmt.Fprintf(&s, "- %s, %s: %s\n", part, srv.label, rc)
				}
			}
		}
	}
	return s.String()
}
