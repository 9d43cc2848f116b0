package engine

import (
	"fmt"
	"net"
	"net/netip"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/cfsecondary/cfsecondary/internal/fakeprimary"
	"github.com/cfsecondary/cfsecondary/xfr"

	"github.com/miekg/dns"
)

// version returns serial's zone: an SOA, two NS and hosts h0..h(n-1), with host i's address
// depending on the serial, so every version differs from the others in every host.
func version(origin string, serial uint32, n int) []dns.RR {
	rrs := fakeprimary.Zone(origin, serial, 0)
	for i := range n {
		rrs = append(rrs, &dns.A{Hdr: dns.RR_Header{Name: fmt.Sprintf("h%d.%s", i, origin), Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 300},
			A: net.IPv4(10, byte(serial), byte(i>>8), byte(i)).To4()})
	}
	return rrs
}

// records renders what the zone serves, sorted, to compare with what the primary has.
func served(t *testing.T, z *Zone) []string {
	t.Helper()
	var out []string
	z.Data().Walk(func(rrs []dns.RR) bool {
		for _, rr := range rrs {
			out = append(out, strings.ToLower(rr.String()))
		}
		return true
	})
	sort.Strings(out)
	return out
}

func want(rrs []dns.RR) []string {
	var out []string
	for _, rr := range rrs {
		out = append(out, strings.ToLower(rr.String()))
	}
	sort.Strings(out)
	return out
}

func startIXFR(t *testing.T, origin string, primary *fakeprimary.Server) (*Engine, *Zone) {
	t.Helper()
	e := New(0)
	z := e.Add(origin, Settings{
		Peers:   []Peer{{Addr: primary.Addr, IXFR: true}},
		Refresh: time.Hour,
		Timers:  DefaultTimers(),
		Limits:  DefaultTestLimits,
		Xfr:     xfr.Options{IdleTimeout: 2 * time.Second},
	}, nil)
	e.Start()
	t.Cleanup(e.Stop)
	waitFor(t, "the first load", func() bool { return z.Data() != nil })
	return e, z
}

// TestIXFRForms: each form of IXFR answer leaves the secondary with exactly the primary's data,
// by the kind of transfer expected.
func TestIXFRForms(t *testing.T) {
	const origin = "ixfr.test."
	tests := []struct {
		name       string
		mode       fakeprimary.IXFRMode
		behind     int    // versions the primary moves ahead
		wantKind   string // the transfer that brings the zone up to date
		wantIXFRs  int    // IXFR answers the primary gave (incremental or up to date)
		wantStyled int    // whole zones sent after the first load
	}{
		{name: "one delta", mode: fakeprimary.IXFRIncremental, behind: 1, wantKind: "ixfr", wantIXFRs: 1},
		{name: "several deltas", mode: fakeprimary.IXFRIncremental, behind: 3, wantKind: "ixfr", wantIXFRs: 1},
		{name: "condensed", mode: fakeprimary.IXFRCondensed, behind: 3, wantKind: "ixfr", wantIXFRs: 1},
		{name: "AXFR-style answer", mode: fakeprimary.IXFRAXFRStyle, behind: 2, wantKind: "ixfr", wantStyled: 1},
		{name: "broken chain falls back to AXFR", mode: fakeprimary.IXFRBrokenChain, behind: 3, wantKind: "axfr", wantIXFRs: 1, wantStyled: 1},
		{name: "NOTIMP falls back to AXFR", mode: fakeprimary.IXFRNotImp, behind: 1, wantKind: "axfr", wantStyled: 1},
		{name: "FORMERR falls back to AXFR", mode: fakeprimary.IXFRFormErr, behind: 1, wantKind: "axfr", wantStyled: 1},
		{name: "REFUSED falls back to AXFR", mode: fakeprimary.IXFRRefused, behind: 1, wantKind: "axfr", wantStyled: 1},
		{name: "empty answer falls back to AXFR", mode: fakeprimary.IXFREmpty, behind: 1, wantKind: "axfr", wantStyled: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			primary := fakeprimary.Start(t, origin, version(origin, 1, 50), fakeprimary.WithPerMessage(7))
			e, z := startIXFR(t, origin, primary)
			ixfrs, styled := primary.IXFRs(), primary.AXFRStyle()

			var last []dns.RR
			for s := 2; s <= 1+tc.behind; s++ {
				last = version(origin, uint32(s), 50+s) // changes every host and adds some
				primary.SetRecords(last)
			}
			primary.SetMode(fakeprimary.Mode{IXFR: tc.mode})
			e.Check(z)
			waitFor(t, "the new serial", func() bool { return z.Data().Serial() == uint32(1+tc.behind) })

			if got, w := served(t, z), want(last); strings.Join(got, "\n") != strings.Join(w, "\n") {
				t.Fatalf("served data differs from the primary's:\n got %d records\nwant %d", len(got), len(w))
			}
			z.mu.Lock()
			kind := z.lastXfr.Type
			z.mu.Unlock()
			if kind != tc.wantKind {
				t.Errorf("brought up to date by %s, want %s", kind, tc.wantKind)
			}
			if n := primary.IXFRs() - ixfrs; n != tc.wantIXFRs {
				t.Errorf("primary answered %d IXFRs incrementally or up to date, want %d", n, tc.wantIXFRs)
			}
			if n := primary.AXFRStyle() - styled; n != tc.wantStyled {
				t.Errorf("primary sent %d whole zones, want %d", n, tc.wantStyled)
			}
		})
	}
}

// TestIXFRUpToDate: an IXFR for the current serial gets the single SOA; nothing changes.
func TestIXFRUpToDate(t *testing.T) {
	const origin = "ixfr.test."
	primary := fakeprimary.Start(t, origin, version(origin, 1, 5))
	e, z := startIXFR(t, origin, primary)
	before := z.Data()
	queries := primary.SOAQueries()
	e.Check(z)
	waitFor(t, "the check", func() bool { return primary.SOAQueries() > queries })
	time.Sleep(50 * time.Millisecond)
	if z.Data() != before {
		t.Error("the zone was replaced although the primary is at the same serial")
	}
}

// TestNoIXFRRemembered: a peer that answered NOTIMP is asked for AXFR directly next time.
func TestNoIXFRRemembered(t *testing.T) {
	const origin = "ixfr.test."
	primary := fakeprimary.Start(t, origin, version(origin, 1, 5))
	e, z := startIXFR(t, origin, primary)
	primary.SetMode(fakeprimary.Mode{IXFR: fakeprimary.IXFRNotImp})
	for s := uint32(2); s <= 3; s++ {
		primary.SetRecords(version(origin, s, 5))
		e.Check(z)
		waitFor(t, fmt.Sprintf("serial %d", s), func() bool { return z.Data().Serial() == s })
	}
	if n := primary.IXFRQueries(); n != 1 {
		t.Errorf("%d IXFR queries, want 1: after NOTIMP the peer is asked for AXFR directly", n)
	}
}

// TestIXFRDroppedMidStream: an IXFR cut off in the middle changes nothing; the zone keeps
// serving the old version and the next try succeeds.
func TestIXFRDroppedMidStream(t *testing.T) {
	const origin = "ixfr.test."
	primary := fakeprimary.Start(t, origin, version(origin, 1, 200), fakeprimary.WithPerMessage(10))
	e, z := startIXFR(t, origin, primary)
	old := z.Data()
	primary.SetRecords(version(origin, 2, 200))
	primary.SetMode(fakeprimary.Mode{IXFRDropAfter: 3})
	attempts := z.Attempts()
	e.Check(z)
	waitFor(t, "the failed IXFR", func() bool { return z.Attempts() > attempts })
	if z.Data() != old {
		t.Fatalf("zone replaced by a cut-off IXFR (serial %d)", z.Data().Serial())
	}
	if !strings.Contains(z.LastError(), "truncated") {
		t.Errorf("last error %q does not say the transfer was cut off", z.LastError())
	}
	primary.SetMode(fakeprimary.Mode{})
	e.Check(z)
	waitFor(t, "serial 2", func() bool { return z.Data().Serial() == 2 })
}

// TestNotifyFlood: 1,000 NOTIFYs within a second make one or two transfers, not 1,000.
func TestNotifyFlood(t *testing.T) {
	const origin = "flood.test."
	primary := fakeprimary.Start(t, origin, version(origin, 1, 100))
	e, z := startIXFR(t, origin, primary)
	transfers := primary.Transfers()
	primary.SetRecords(version(origin, 2, 100))
	from := netip.MustParseAddr("127.0.0.1")
	for i := 0; i < 1000; i++ {
		// Half carry the new serial as a hint, half none: both must coalesce.
		e.Notify(z, from, 2, i%2 == 0)
	}
	waitFor(t, "serial 2", func() bool { return z.Data().Serial() == 2 })
	time.Sleep(200 * time.Millisecond)
	if n := primary.Transfers() - transfers; n < 1 || n > 2 {
		t.Errorf("%d transfers for 1000 NOTIFYs, want 1 or 2", n)
	}
}

// TestNotifySenderFirst: the peer that sent the NOTIFY is asked first (RFC 1996 §3.11).
func TestNotifySenderFirst(t *testing.T) {
	const origin = "two.test."
	first := fakeprimary.Start(t, origin, version(origin, 1, 5))
	second := fakeprimary.Start(t, origin, version(origin, 1, 5), fakeprimary.WithIP("127.0.0.2"))
	e := New(0)
	z := e.Add(origin, Settings{Peers: []Peer{{Addr: first.Addr}, {Addr: second.Addr}}, Refresh: time.Hour, Timers: DefaultTimers(), Limits: DefaultTestLimits}, nil)
	e.Start()
	t.Cleanup(e.Stop)
	waitFor(t, "the first load", func() bool { return z.Data() != nil })
	if first.Transfers() != 1 || second.Transfers() != 0 {
		t.Fatalf("first load: %d transfers from the first peer, %d from the second; want 1 and 0", first.Transfers(), second.Transfers())
	}
	second.SetRecords(version(origin, 2, 5))
	firstQueries := first.SOAQueries()
	e.Notify(z, netip.MustParseAddr("127.0.0.2"), 2, true)
	waitFor(t, "serial 2 from the second peer", func() bool { return z.Data().Serial() == 2 })
	if first.SOAQueries() != firstQueries || second.Transfers() != 1 {
		t.Errorf("the NOTIFY's sender was not asked first: first peer got %d more SOA queries, second %d transfers", first.SOAQueries()-firstQueries, second.Transfers())
	}
}

// TestPeerBackoff: a peer that fails is tried after the healthy one until its backoff ends.
func TestPeerBackoff(t *testing.T) {
	const origin = "two.test."
	broken := fakeprimary.Start(t, origin, version(origin, 1, 5), fakeprimary.WithMode(fakeprimary.Mode{Rcode: dns.RcodeServerFailure}))
	good := fakeprimary.Start(t, origin, version(origin, 1, 5), fakeprimary.WithIP("127.0.0.2"))
	e := New(0)
	z := e.Add(origin, Settings{Peers: []Peer{{Addr: broken.Addr}, {Addr: good.Addr}}, Refresh: time.Hour, Timers: DefaultTimers(), Limits: DefaultTestLimits}, nil)
	e.Start()
	t.Cleanup(e.Stop)
	waitFor(t, "the first load", func() bool { return z.Data() != nil })
	brokenTries := broken.Transfers() + broken.SOAQueries()
	for s := uint32(2); s <= 4; s++ {
		good.SetRecords(version(origin, s, 5))
		e.Check(z)
		waitFor(t, fmt.Sprintf("serial %d", s), func() bool { return z.Data().Serial() == s })
	}
	if n := broken.Transfers() + broken.SOAQueries() - brokenTries; n != 0 {
		t.Errorf("the failing peer was asked %d more times while backing off", n)
	}
	z.mu.Lock()
	defer z.mu.Unlock()
	if p := z.peers[0]; p.failures != 1 || !p.backoffUntil.After(time.Now()) || p.up() {
		t.Errorf("failing peer state: %d failures, backoff until %s", p.failures, p.backoffUntil)
	}
	if p := z.peers[1]; !p.up() {
		t.Errorf("good peer not up: %+v", p)
	}
}
