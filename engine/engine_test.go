package engine

import (
	"bytes"
	"fmt"
	golog "log"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cfsecondary/cfsecondary/internal/fakeprimary"
	"github.com/cfsecondary/cfsecondary/xfr"
	"github.com/cfsecondary/cfsecondary/zone"

	"github.com/miekg/dns"
)

// logBuffer captures what the plugin logs (CoreDNS's clog writes through the standard logger).
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func captureLog(t *testing.T) *logBuffer {
	l := &logBuffer{}
	golog.SetOutput(l)
	t.Cleanup(func() { golog.SetOutput(os.Stderr) })
	return l
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

var testKey = &xfr.Key{Name: "xfr-key.", Algorithm: dns.HmacSHA256, Secret: []byte("0123456789abcdef0123456789abcdef")}

// sameName returns n A records at one name: one RRset of n records.
func sameName(name string, n int) []dns.RR {
	var rrs []dns.RR
	for i := range n {
		rrs = append(rrs, &dns.A{Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 300}, A: net.IPv4(10, 9, byte(i>>8), byte(i)).To4()})
	}
	return rrs
}

// manyTypes returns one record of each of n different types at one name.
func manyTypes(name string, n int) []dns.RR {
	var rrs []dns.RR
	for i := range n {
		rrs = append(rrs, &dns.RFC3597{Hdr: dns.RR_Header{Name: name, Rrtype: uint16(65280 + i), Class: dns.ClassINET, Ttl: 300}, Rdata: "00"})
	}
	return rrs
}

// TestBadTransferKeepsServedData loads serial 1 from a fake primary, then forces a transfer of
// serial 2 that goes wrong in one way; the zone must keep serving serial 1 and say why in the
// log.
func TestBadTransferKeepsServedData(t *testing.T) {
	const origin = "example.org."
	otherKey := &xfr.Key{Name: "other-key.", Algorithm: dns.HmacSHA256, Secret: testKey.Secret}
	wrongSecret := &xfr.Key{Name: testKey.Name, Algorithm: dns.HmacSHA256, Secret: []byte("not the secret at all, not at all")}
	tight := zone.Limits{Records: 500, RecordsPerType: 20, TypesPerName: 5, Bytes: 64 << 10}

	tests := []struct {
		name    string
		mode    fakeprimary.Mode
		records []dns.RR // serial 2's zone; default: 300 A records
		perMsg  int      // records per message; default 1, so that there are many messages
		log     string   // what the log must say
	}{
		{name: "more than 99 unsigned messages", mode: fakeprimary.Mode{SignEvery: 101}, log: "more than 99 in a row"},
		{name: "final message unsigned", mode: fakeprimary.Mode{UnsignedLast: true}, log: "final message unsigned"},
		{name: "wrong key", mode: fakeprimary.Mode{SignKey: otherKey}, log: "BADKEY"},
		{name: "wrong secret", mode: fakeprimary.Mode{SignKey: wrongSecret}, log: "BADSIG"},
		{name: "wrong MAC", mode: fakeprimary.Mode{CorruptMACAt: 3}, log: "BADSIG on message 3"},
		{name: "time outside the fudge", mode: fakeprimary.Mode{TimeShift: 10 * time.Minute}, log: "BADTIME"},
		{name: "missing final SOA", mode: fakeprimary.Mode{NoFinalSOA: true}, log: "truncated"},
		{name: "connection dropped mid-transfer", mode: fakeprimary.Mode{CloseAfter: 5}, log: "truncated"},
		{name: "SOA in mid-stream", mode: fakeprimary.Mode{MidSOA: true}, perMsg: 100, log: "SOA"},
		{name: "end SOA with another serial", mode: fakeprimary.Mode{WrongEndSerial: true}, log: "serial"},
		{name: "wrong message ID", mode: fakeprimary.Mode{BadIDAt: 4}, log: "ID"},
		{name: "refused", mode: fakeprimary.Mode{Rcode: dns.RcodeRefused}, log: "REFUSED"},
		{name: "over max-records", records: fakeprimary.Zone(origin, 2, 600), log: "limit"},
		{name: "over max-records-per-type", records: append(fakeprimary.Zone(origin, 2, 10), sameName("big."+origin, 21)...), log: "limit"},
		{name: "over max-types-per-name", records: append(fakeprimary.Zone(origin, 2, 10), manyTypes("types."+origin, 6)...), log: "limit"},
		{name: "over max-zone-size", records: append(fakeprimary.Zone(origin, 2, 10), bigTXT("txt."+origin, 80)...), log: "limit"},
		{name: "serial went backwards", records: fakeprimary.Zone(origin, 0xFFFFFFF0, 10), log: "older than"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			logs := captureLog(t)
			perMsg := tc.perMsg
			if perMsg == 0 {
				perMsg = 1
			}
			primary := fakeprimary.Start(t, origin, fakeprimary.Zone(origin, 1, 300), fakeprimary.WithKey(testKey), fakeprimary.WithPerMessage(perMsg))
			e := New(0)
			z := e.Add(origin, Settings{
				Peers:   []Peer{{Addr: primary.Addr, Key: testKey}},
				Refresh: time.Hour,
				Limits:  tight,
				Xfr:     xfr.Options{IdleTimeout: 2 * time.Second},
			}, nil)
			e.Start()
			t.Cleanup(e.Stop)
			waitFor(t, "serial 1", func() bool { return z.Data() != nil })
			if got := z.Data().Serial(); got != 1 {
				t.Fatalf("serial %d, want 1", got)
			}
			before := z.Attempts()

			records := tc.records
			if records == nil {
				records = fakeprimary.Zone(origin, 2, 300)
			}
			primary.SetRecords(records)
			primary.SetMode(tc.mode)
			e.Force(z)
			waitFor(t, "the forced transfer", func() bool { return z.Attempts() > before })

			if got := z.Data().Serial(); got != 1 {
				t.Errorf("serving serial %d after a bad transfer, want 1", got)
			}
			if z.Data().Len() != 303 {
				t.Errorf("serving %d records, want the 303 of serial 1", z.Data().Len())
			}
			if !strings.Contains(z.LastError(), tc.log) {
				t.Errorf("last error %q does not say %q", z.LastError(), tc.log)
			}
			// The attempt is counted just before the failure is logged: give the log a moment.
			deadline := time.Now().Add(2 * time.Second)
			for !strings.Contains(logs.String(), "keeping the data served") || !strings.Contains(logs.String(), tc.log) {
				if time.Now().After(deadline) {
					t.Fatalf("log does not say why (%q):\n%s", tc.log, logs.String())
				}
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
}

func bigTXT(name string, n int) []dns.RR {
	var rrs []dns.RR
	for i := range n {
		rrs = append(rrs, &dns.TXT{Hdr: dns.RR_Header{Name: fmt.Sprintf("t%d.%s", i, name), Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 300},
			Txt: []string{strings.Repeat("x", 255), strings.Repeat("y", 255), strings.Repeat("z", 255), strings.Repeat("w", 255)}})
	}
	return rrs
}

// TestOutOfZoneRecordsDropped: records outside the zone never reach the served data, and the
// transfer says how many it dropped.
func TestOutOfZoneRecordsDropped(t *testing.T) {
	const origin = "example.org."
	logs := captureLog(t)
	primary := fakeprimary.Start(t, origin, fakeprimary.Zone(origin, 1, 5), fakeprimary.WithMode(fakeprimary.Mode{OutOfZone: 3}))
	e := New(0)
	z := e.Add(origin, Settings{Peers: []Peer{{Addr: primary.Addr}}, Refresh: time.Hour, Limits: DefaultTestLimits}, nil)
	e.Start()
	t.Cleanup(e.Stop)
	waitFor(t, "the zone", func() bool { return z.Data() != nil })
	if n := z.Data().Len(); n != 8 {
		t.Errorf("%d records served, want the 8 in the zone", n)
	}
	// The version is swapped in before the warning is logged: give the log a moment.
	waitFor(t, "the warning about the dropped records", func() bool {
		return strings.Contains(logs.String(), "dropped 3 records outside the zone")
	})
}

var DefaultTestLimits = zone.DefaultLimits()

// TestRefreshPicksUpNewSerial: after the refresh interval the engine checks the SOA and
// transfers the newer serial; a NOTIFY-style Check does it at once.
func TestRefreshAndCheck(t *testing.T) {
	const origin = "example.org."
	primary := fakeprimary.Start(t, origin, fakeprimary.Zone(origin, 1, 5))
	e := New(0)
	z := e.Add(origin, Settings{Peers: []Peer{{Addr: "127.0.0.1:1"}, {Addr: primary.Addr}}, Refresh: time.Hour, Limits: DefaultTestLimits, Xfr: xfr.Options{DialTimeout: 200 * time.Millisecond}}, nil)
	e.Start()
	t.Cleanup(e.Stop)
	waitFor(t, "serial 1 from the second peer, the first being down", func() bool { return z.Data() != nil })

	primary.SetRecords(fakeprimary.Zone(origin, 2, 6))
	e.Check(z)
	waitFor(t, "serial 2 after a check", func() bool { return z.Data().Serial() == 2 })
	if z.Data().Len() != 9 {
		t.Errorf("%d records, want 9", z.Data().Len())
	}
}

func TestSerialNewer(t *testing.T) {
	tests := []struct {
		a, b uint32
		want bool
	}{
		{2, 1, true},
		{1, 2, false},
		{1, 1, false},
		{0, 0xFFFFFFFF, true}, // wrapped
		{0xFFFFFFFF, 0, false},
		{1 << 31, 0, false}, // exactly 2^31 apart: undefined, not trusted
		{0, 1 << 31, false},
		{1<<31 - 1, 0, true},
	}
	for _, tc := range tests {
		if got := SerialNewer(tc.a, tc.b); got != tc.want {
			t.Errorf("SerialNewer(%d, %d) = %t, want %t", tc.a, tc.b, got, tc.want)
		}
	}
}

// TestValidateRejects: a version Settings.Validate refuses is not served, and says why.
func TestValidateRejects(t *testing.T) {
	const origin = "validate.test."
	primary := fakeprimary.Start(t, origin, fakeprimary.Zone(origin, 1, 3))
	e := New(0)
	var warned []string
	e.Observe(func(z *Zone, ev Event) {
		if ev.Kind == EventWarning {
			warned = append(warned, ev.Warning)
		}
	})
	z := e.Add(origin, Settings{Peers: []Peer{{Addr: primary.Addr}}, Refresh: time.Hour, Limits: DefaultTestLimits,
		Validate: func(d *zone.Zone, _ []string) error {
			if d.Serial() == 2 {
				return fmt.Errorf("signatures of serial 2 expire too soon")
			}
			return nil
		}}, nil)
	e.Start()
	t.Cleanup(e.Stop)
	waitFor(t, "serial 1", func() bool { return z.Data() != nil })
	attempts := z.Attempts()
	primary.SetRecords(fakeprimary.Zone(origin, 2, 3))
	e.Check(z)
	waitFor(t, "the rejected transfer", func() bool { return z.Attempts() > attempts })
	if z.Data().Serial() != 1 || !strings.Contains(z.LastError(), "expire too soon") {
		t.Errorf("serving serial %d, last error %q; want serial 1 kept and the reason", z.Data().Serial(), z.LastError())
	}
	e.Stop()
	if len(warned) != 1 || warned[0] != WarnInvalid {
		t.Errorf("warnings %v, want one %q", warned, WarnInvalid)
	}
}
