package main

import (
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/miekg/dns"
)

// pollClient is the client of every wait: UDP, short timeout, no EDNS.
var pollClient = &dns.Client{Timeout: 300 * time.Millisecond}

// soaSerial returns the serial of zone's SOA at addr, and false when the zone is not answered
// authoritatively (not loaded yet, SERVFAIL while not ready, nothing listening).
func soaSerial(addr, zone string) (uint32, bool) {
	m := new(dns.Msg)
	m.SetQuestion(zone, dns.TypeSOA)
	r, _, err := pollClient.Exchange(m, addr)
	if err != nil || r.Rcode != dns.RcodeSuccess || !r.Authoritative || len(r.Answer) == 0 {
		return 0, false
	}
	if soa, ok := r.Answer[0].(*dns.SOA); ok {
		return soa.Serial, true
	}
	return 0, false
}

// answers reports whether anything answers a query at addr (for whoami, which answers every
// name and sets no AA).
func answers(addr, name string) bool {
	m := new(dns.Msg)
	m.SetQuestion(name, dns.TypeA)
	_, _, err := pollClient.Exchange(m, addr)
	return err == nil
}

// serialAtLeast compares serials as RFC 1982 does: s is want or newer.
func serialAtLeast(s, want uint32) bool { return int32(s-want) >= 0 }

// waitSerial polls addr every interval until it answers zone's SOA with serial want or newer,
// and returns the time since start. It gives up after timeout, or when p (if not nil) exits.
func waitSerial(p *proc, addr, zone string, want uint32, start time.Time, interval, timeout time.Duration) (time.Duration, error) {
	deadline := start.Add(timeout)
	last, seen := uint32(0), false
	for {
		if s, ok := soaSerial(addr, zone); ok {
			last, seen = s, true
			if serialAtLeast(s, want) {
				return time.Since(start), nil
			}
		}
		if p != nil && p.exited() {
			return 0, p.exitErr()
		}
		if time.Now().After(deadline) {
			what := "nothing served"
			if seen {
				what = "serving serial " + strconv.FormatUint(uint64(last), 10)
			}
			return 0, withTail(p, fmt.Errorf("timed out after %s waiting for %s to serve %s serial %d (%s)", timeout, addr, zone, want, what))
		}
		time.Sleep(interval)
	}
}

// withTail adds the last lines of p's log to err (p may be nil).
func withTail(p *proc, err error) error {
	if p == nil {
		return err
	}
	return fmt.Errorf("%w; last lines of %s:\n%s", err, p.logPath, p.tail(20))
}

// waitAnswers polls addr until it answers anything.
func waitAnswers(p *proc, addr, name string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for !answers(addr, name) {
		if p.exited() {
			return p.exitErr()
		}
		if time.Now().After(deadline) {
			return withTail(p, fmt.Errorf("timed out after %s waiting for %s to answer", timeout, addr))
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}

// waitAllZones waits until every zone is answered authoritatively with serial, and returns the
// time from start to the answer of the last one. It walks the zones in order and, at the first
// one not loaded yet, sleeps 10 ms and asks that one again, so the polling costs about one
// query per zone plus one per 10 ms, whatever order the server loads them in.
func waitAllZones(p *proc, addr string, zones []string, serial uint32, start time.Time, timeout time.Duration) (time.Duration, error) {
	deadline := start.Add(timeout)
	var last time.Duration
	for i := 0; i < len(zones); {
		if s, ok := soaSerial(addr, zones[i]); ok && s == serial {
			last = time.Since(start)
			i++
			continue
		}
		if p != nil && p.exited() {
			return 0, p.exitErr()
		}
		if time.Now().After(deadline) {
			return 0, withTail(p, fmt.Errorf("timed out after %s waiting for %s to serve all %d zones: %d served, %s not yet", timeout, addr, len(zones), i, zones[i]))
		}
		time.Sleep(10 * time.Millisecond)
	}
	return last, nil
}

// checkSample asks n of the small zones for www A and counts the right answers.
func checkSample(addr string, zones int, n int) (good int) {
	for k := range n {
		i := (k * 7919) % zones
		m := new(dns.Msg)
		m.SetQuestion("www."+smallZoneName(i), dns.TypeA)
		r, _, err := pollClient.Exchange(m, addr)
		if err != nil || r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
			continue
		}
		if a, ok := r.Answer[0].(*dns.A); ok && a.A.Equal(net.IPv4(10, byte(i>>16), byte(i>>8), byte(i))) {
			good++
		}
	}
	return good
}

// freePort finds a port free for both UDP and TCP on 127.0.0.1, different from the ones in
// avoid.
func freePort(avoid ...int) (int, error) {
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
		l.Close()
		if err != nil {
			continue
		}
		u.Close()
		taken := false
		for _, a := range avoid {
			taken = taken || a == port
		}
		if !taken {
			return port, nil
		}
	}
	return 0, fmt.Errorf("no free port on 127.0.0.1")
}
