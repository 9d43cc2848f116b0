package test

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

const (
	updKey  = "upd-key."
	updSpec = "hmac-sha256 FhYZCDmyk29PuijcZkvLswm2RW5gtmWTIqCxcU/yOBg="
)

// dynZone is a primary zone with long timers: only NOTIFY or a test moves it.
const dynZone = `$ORIGIN dyn.test.
$TTL 300
@    IN SOA ns1.dyn.test. hostmaster.dyn.test. 100 3600 600 86400 300
     IN NS  ns1.dyn.test.
ns1  IN A   192.0.2.1
www  IN A   192.0.2.80
`

// startDynBind starts named with dyn.test updatable by nsupdate and notifying notifyPort.
func startDynBind(t *testing.T, notifyPort int, zoneText string) *Bind {
	return startBind(t, map[string]string{updKey: updSpec}, "allow-transfer { any; };",
		BindZone{Name: "dyn.test", Text: zoneText, Extra: fmt.Sprintf(
			`allow-update { key %q; }; notify explicit; also-notify { 127.0.0.1 port %d; };`, updKey, notifyPort)})
}

// TestNotifyIXFRFromBind: a dynamic update on a real BIND primary reaches the secondary's answers
// through NOTIFY and IXFR; with IXFR off for the peer, through AXFR. Both sides' logs say which.
func TestNotifyIXFRFromBind(t *testing.T) {
	for _, ixfr := range []bool{true, false} {
		t.Run(fmt.Sprintf("ixfr=%t", ixfr), func(t *testing.T) {
			logs := captureLogs(t)
			port := freePort(t)
			addr := fmt.Sprintf("127.0.0.1:%d", port)
			bind := startDynBind(t, port, dynZone)
			opt := ""
			if ixfr {
				opt = "ixfr"
			}
			startCoreDNS(t, fmt.Sprintf("dyn.test:%d {\n bind 127.0.0.1\n cfsecondary {\n  peer %s %s\n  dir %s\n }\n}\n", port, bind.Addr, opt, t.TempDir()))
			waitFor(t, 10*time.Second, "serial 100", func() bool { return serialAt(addr, "dyn.test") == 100 })

			for i := 1; i <= 3; i++ {
				start := time.Now()
				bind.Update(t, updKey, updSpec, "dyn.test", fmt.Sprintf("update add new%d.dyn.test. 300 A 198.51.100.%d", i, i))
				waitFor(t, 10*time.Second, "the update to be served", func() bool { return serialAt(addr, "dyn.test") == uint32(100+i) })
				t.Logf("update %d served %s after nsupdate", i, time.Since(start).Round(time.Millisecond))
				r := exchange(t, addr, fmt.Sprintf("new%d.dyn.test.", i), dns.TypeA, false)
				if len(r.Answer) != 1 || r.Answer[0].(*dns.A).A.String() != fmt.Sprintf("198.51.100.%d", i) {
					t.Fatalf("new%d not served: %v", i, r)
				}
			}
			// Old data is still there after the deltas.
			if r := exchange(t, addr, "www.dyn.test.", dns.TypeA, false); len(r.Answer) != 1 {
				t.Errorf("www lost: %v", r)
			}

			// The first load is always a full transfer; the three updates come by IXFR when the
			// peer has it on, else by AXFR.
			byIXFR, byAXFR, bindIXFR, bindAXFR := 3, 1, 3, 1
			if !ixfr {
				byIXFR, byAXFR, bindIXFR, bindAXFR = 0, 4, 0, 4
			}
			// Each version is served a moment before its transfer is logged.
			waitFor(t, 5*time.Second, "the transfers to be logged", func() bool {
				return logs.Count("dyn.test.: transferred serial") >= 4
			})
			if n := logs.Count("dyn.test.: transferred serial", "by ixfr"); n != byIXFR {
				t.Errorf("secondary logged %d transfers by IXFR, want %d:\n%s", n, byIXFR, logs)
			}
			if n := logs.Count("dyn.test.: transferred serial", "by axfr"); n != byAXFR {
				t.Errorf("secondary logged %d transfers by AXFR, want %d:\n%s", n, byAXFR, logs)
			}
			if n := strings.Count(bind.Log(), "IXFR started"); n != bindIXFR {
				t.Errorf("named logged %d IXFRs, want %d:\n%s", n, bindIXFR, bind.Log())
			}
			if n := strings.Count(bind.Log(), "AXFR started"); n != bindAXFR {
				t.Errorf("named logged %d AXFRs, want %d:\n%s", n, bindAXFR, bind.Log())
			}
		})
	}
}

// shortZone has timers short enough to watch a zone expire in a test.
const shortZone = `$ORIGIN dyn.test.
$TTL 300
@    IN SOA ns1.dyn.test. hostmaster.dyn.test. 100 1 1 4 300
     IN NS  ns1.dyn.test.
ns1  IN A   192.0.2.1
www  IN A   192.0.2.80
`

// TestExpireAndRecover: with the primary stopped the zone is served until EXPIRE, then answers
// SERVFAIL with Extended DNS Error 24, then recovers when the primary comes back.
func TestExpireAndRecover(t *testing.T) {
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	bind := startDynBind(t, port, shortZone)
	startCoreDNS(t, fmt.Sprintf(`dyn.test:%d {
		bind 127.0.0.1
		cfsecondary {
			peer %s
			dir %s
			min-refresh-time 1s
			min-retry-time 1s
			transfer-timeout 1s
		}
	}`, port, bind.Addr, t.TempDir()))
	waitFor(t, 10*time.Second, "serial 100", func() bool { return serialAt(addr, "dyn.test") == 100 })

	bind.Stop()
	stopped := time.Now()
	// Still served while the expire timer runs (4 s after the last good check).
	if r := exchange(t, addr, "www.dyn.test.", dns.TypeA, false); r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
		t.Fatalf("not served right after the primary stopped: %v", r)
	}
	var expired *dns.Msg
	waitFor(t, 15*time.Second, "SERVFAIL", func() bool {
		expired = exchange(t, addr, "www.dyn.test.", dns.TypeA, false)
		return expired.Rcode == dns.RcodeServerFailure
	})
	if since := time.Since(stopped); since < 2*time.Second {
		t.Errorf("expired %s after the primary stopped, before the 4 s EXPIRE could run out", since)
	}
	if ede := extendedError(expired); ede != dns.ExtendedErrorCodeInvalidData {
		t.Errorf("Extended DNS Error %d, want 24 (Invalid Data: zone has expired): %v", ede, expired)
	}

	bind.Start(t)
	waitFor(t, 15*time.Second, "recovery", func() bool {
		r := exchange(t, addr, "www.dyn.test.", dns.TypeA, false)
		return r.Rcode == dns.RcodeSuccess && len(r.Answer) == 1
	})
}

func extendedError(m *dns.Msg) uint16 {
	if opt := m.IsEdns0(); opt != nil {
		for _, o := range opt.Option {
			if e, ok := o.(*dns.EDNS0_EDE); ok {
				return e.InfoCode
			}
		}
	}
	return 0xffff
}

// TestFirstPrimaryDown: the first peer does not answer; the zone comes from the second.
func TestFirstPrimaryDown(t *testing.T) {
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	bind := startDynBind(t, port, dynZone)
	dead := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	startCoreDNS(t, fmt.Sprintf("dyn.test:%d {\n bind 127.0.0.1\n cfsecondary {\n  peer %s\n  peer %s\n  dir %s\n  transfer-timeout 1s\n }\n}\n", port, dead, bind.Addr, t.TempDir()))
	waitFor(t, 10*time.Second, "serial 100 from the second primary", func() bool { return serialAt(addr, "dyn.test") == 100 })
	bind.Update(t, updKey, updSpec, "dyn.test", "update add late.dyn.test. 300 A 198.51.100.1")
	waitFor(t, 10*time.Second, "serial 101 by NOTIFY from the second primary", func() bool { return serialAt(addr, "dyn.test") == 101 })
}

// TestNotifyFromStranger: a NOTIFY from an address that is not a primary is refused.
func TestNotifyFromStranger(t *testing.T) {
	logs := captureLogs(t)
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	bind := startDynBind(t, port, dynZone)
	startCoreDNS(t, fmt.Sprintf("dyn.test:%d {\n bind 127.0.0.1\n cfsecondary {\n  peer %s\n  dir %s\n }\n}\n", port, bind.Addr, t.TempDir()))
	waitFor(t, 10*time.Second, "serial 100", func() bool { return serialAt(addr, "dyn.test") == 100 })

	for _, tc := range []struct {
		from  string
		rcode int
	}{
		{"127.0.0.2", dns.RcodeRefused},
		{"127.0.0.1", dns.RcodeSuccess},
	} {
		m := new(dns.Msg)
		m.SetNotify("dyn.test.")
		c := &dns.Client{Timeout: 2 * time.Second, Dialer: &net.Dialer{LocalAddr: &net.UDPAddr{IP: net.ParseIP(tc.from)}}}
		r, _, err := c.Exchange(m, addr)
		if err != nil {
			t.Fatalf("NOTIFY from %s: %v", tc.from, err)
		}
		if r.Rcode != tc.rcode || r.Opcode != dns.OpcodeNotify || r.Id != m.Id {
			t.Errorf("NOTIFY from %s: rcode %s opcode %d; want %s", tc.from, dns.RcodeToString[r.Rcode], r.Opcode, dns.RcodeToString[tc.rcode])
		}
	}
	logs.Wait(t, time.Second, "NOTIFY from 127.0.0.2 refused")
}

// TestRestartServesFromDisk: a restarted secondary serves the zone before any transfer, with the
// serial it had, even with the primary gone.
func TestRestartServesFromDisk(t *testing.T) {
	dir := t.TempDir()
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	bind := startDynBind(t, port, dynZone)
	corefile := fmt.Sprintf("dyn.test:%d {\n bind 127.0.0.1\n cfsecondary {\n  peer %s\n  dir %s\n }\n}\n", port, bind.Addr, dir)
	inst := startCoreDNS(t, corefile)
	bind.Update(t, updKey, updSpec, "dyn.test", "update add saved.dyn.test. 300 A 198.51.100.9")
	waitFor(t, 10*time.Second, "serial 101", func() bool { return serialAt(addr, "dyn.test") == 101 })
	waitFor(t, 10*time.Second, "the zone file on disk", func() bool {
		data, err := os.ReadFile(filepath.Join(dir, "dyn.test.zone"))
		return err == nil && strings.Contains(string(data), "saved.dyn.test.")
	})
	stopCoreDNS(inst)
	bind.Stop()

	startCoreDNS(t, corefile)
	waitFor(t, 2*time.Second, "serial 101 from disk", func() bool { return serialAt(addr, "dyn.test") == 101 })
	if r := exchange(t, addr, "saved.dyn.test.", dns.TypeA, false); len(r.Answer) != 1 {
		t.Errorf("record added by the last IXFR not served after restart: %v", r)
	}
}
