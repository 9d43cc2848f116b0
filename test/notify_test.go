package test

import (
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/cfsecondary/cfsecondary/internal/fakeprimary"
	"github.com/cfsecondary/cfsecondary/xfr"

	"github.com/coredns/caddy"
	"github.com/miekg/dns"
)

var notifyKey = &xfr.Key{Name: "notify-key.", Algorithm: dns.HmacSHA256, Secret: []byte("0123456789abcdef0123456789abcdef")}

// sendNotify sends a NOTIFY for zone from the address from (127.0.0.x) to addr, signed with key
// when it is not nil, and returns the answer (nil when none came).
func sendNotify(t *testing.T, from, addr, zone string, key *xfr.Key) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetNotify(zone)
	c := &dns.Client{Timeout: 500 * time.Millisecond, Dialer: &net.Dialer{LocalAddr: &net.UDPAddr{IP: net.ParseIP(from)}}}
	if key != nil {
		m.SetTsig(key.Name, key.Algorithm, 300, time.Now().Unix())
		c.TsigSecret = map[string]string{key.Name: encodeSecret(key.Secret)}
	}
	// With a TSIG error the answer carries no MAC and the client's check fails, but the answer
	// is what the test looks at.
	r, _, _ := c.Exchange(m, addr)
	return r
}

// TestNotifyPolicy: who may NOTIFY, signed or not, and what a refused one gets.
func TestNotifyPolicy(t *testing.T) {
	const origin = "policy.test."
	primary := fakeprimary.Start(t, origin, fakeprimary.Zone(origin, 1, 3), fakeprimary.WithKey(notifyKey))
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	startCoreDNS(t, fmt.Sprintf(`%s:%d {
		bind 127.0.0.1
		cfsecondary {
			peer %s tsig notify-key.
			tsig notify-key. hmac-sha256 %s
			notify-from 127.0.0.3
			notify-require-tsig
			dir %s
		}
	}
	other.test:%d {
		bind 127.0.0.1
		cfsecondary {
			peer %s
			notify-refused drop
			dir %s
		}
	}`, origin, port, primary.Addr, encodeSecret(notifyKey.Secret), t.TempDir(), port, primary.Addr, t.TempDir()))
	waitFor(t, 10*time.Second, "the zone", func() bool { return serialAt(addr, origin) == 1 })

	tests := []struct {
		name  string
		from  string
		zone  string
		key   *xfr.Key
		rcode int // -1: no answer at all
	}{
		{"peer, signed with its key", "127.0.0.1", origin, notifyKey, dns.RcodeSuccess},
		{"peer, unsigned, notify-require-tsig", "127.0.0.1", origin, nil, dns.RcodeRefused},
		{"peer, signed with another key", "127.0.0.1", origin, &xfr.Key{Name: "notify-key.", Algorithm: dns.HmacSHA256, Secret: []byte("another secret, another secret!!")}, dns.RcodeNotAuth},
		{"in notify-from, unsigned", "127.0.0.3", origin, nil, dns.RcodeSuccess},
		{"stranger", "127.0.0.4", origin, nil, dns.RcodeRefused},
		{"stranger, notify-refused drop", "127.0.0.4", "other.test.", nil, -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := sendNotify(t, tc.from, addr, tc.zone, tc.key)
			switch {
			case tc.rcode == -1 && r != nil:
				t.Errorf("answered %s, want no answer", dns.RcodeToString[r.Rcode])
			case tc.rcode >= 0 && r == nil:
				t.Errorf("no answer, want %s", dns.RcodeToString[tc.rcode])
			case tc.rcode >= 0 && r.Rcode != tc.rcode:
				t.Errorf("answered %s, want %s", dns.RcodeToString[r.Rcode], dns.RcodeToString[tc.rcode])
			}
		})
	}

	// An accepted, signed NOTIFY brings the new serial.
	primary.SetRecords(fakeprimary.Zone(origin, 2, 3))
	if r := sendNotify(t, "127.0.0.1", addr, origin, notifyKey); r == nil || r.Rcode != dns.RcodeSuccess || !r.Authoritative {
		t.Fatalf("signed NOTIFY from the primary: %v", r)
	}
	waitFor(t, 5*time.Second, "serial 2", func() bool { return serialAt(addr, origin) == 2 })
}

// TestNotifyFloodOverUDP: a thousand NOTIFYs within a second at the real server make one or two
// transfers.
func TestNotifyFloodOverUDP(t *testing.T) {
	const origin = "flood.test."
	primary := fakeprimary.Start(t, origin, fakeprimary.Zone(origin, 1, 100))
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	startCoreDNS(t, fmt.Sprintf("%s:%d {\n bind 127.0.0.1\n cfsecondary {\n  peer %s\n  dir %s\n }\n}\n", origin, port, primary.Addr, t.TempDir()))
	waitFor(t, 10*time.Second, "the zone", func() bool { return serialAt(addr, origin) == 1 })
	before := primary.Transfers()
	primary.SetRecords(fakeprimary.Zone(origin, 2, 100))

	conn, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	for i := range 1000 {
		m := new(dns.Msg)
		m.SetNotify(origin)
		m.Id = uint16(i)
		if i%2 == 0 {
			m.Answer = []dns.RR{fakeprimary.SOA(origin, 2)}
		}
		wire, _ := m.Pack()
		conn.Write(wire)
	}
	if d := time.Since(start); d > time.Second {
		t.Logf("sending took %s", d)
	}
	waitFor(t, 5*time.Second, "serial 2", func() bool { return serialAt(addr, origin) == 2 })
	time.Sleep(300 * time.Millisecond)
	if n := primary.Transfers() - before; n < 1 || n > 2 {
		t.Errorf("%d transfers for 1000 NOTIFYs, want 1 or 2", n)
	}
}

// TestReloadKeepsZones: a Corefile reload keeps the zones and their timers: served at once by the
// new instance, without a transfer.
func TestReloadKeepsZones(t *testing.T) {
	const origin = "reload.test."
	primary := fakeprimary.Start(t, origin, fakeprimary.Zone(origin, 1, 1000))
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	corefile := fmt.Sprintf("%s:%d {\n bind 127.0.0.1\n cfsecondary {\n  peer %s\n  dir %s\n }\n}\n", origin, port, primary.Addr, t.TempDir())
	inst := startCoreDNS(t, corefile)
	waitFor(t, 10*time.Second, "the zone", func() bool { return serialAt(addr, origin) == 1 })
	transfers, queries := primary.Transfers(), primary.SOAQueries()

	caddyMu.Lock()
	next, err := inst.Restart(caddy.CaddyfileInput{Contents: []byte(corefile + "\n# reloaded\n"), Filepath: "Corefile", ServerTypeName: "dns"})
	caddyMu.Unlock()
	if err != nil {
		t.Fatalf("reload: %v", err)
	}
	t.Cleanup(func() { stopCoreDNS(next) })
	if s := serialAt(addr, origin); s != 1 {
		t.Fatalf("serial %d right after the reload, want 1", s)
	}
	time.Sleep(200 * time.Millisecond)
	if primary.Transfers() != transfers || primary.SOAQueries() != queries {
		t.Errorf("the reload made %d transfers and %d SOA queries, want none", primary.Transfers()-transfers, primary.SOAQueries()-queries)
	}
	// The new instance acts on NOTIFY.
	primary.SetRecords(fakeprimary.Zone(origin, 2, 1000))
	if err := primary.Notify(addr); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "serial 2 after the reload", func() bool { return serialAt(addr, origin) == 2 })
}
