package test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cfsecondary/cfsecondary/internal/fakeprimary"

	"github.com/coredns/caddy"
	"github.com/miekg/dns"
)

// overrideZone returns serial's version of ov.test: apex addresses, www with an A and an AAAA,
// mail, and (while withOld) the name old; plus one name per serial, so every version changes.
func overrideZone(serial uint32, withOld bool) []dns.RR {
	text := fmt.Sprintf(`$ORIGIN ov.test.
@      300 IN SOA ns1.ov.test. hostmaster.ov.test. %d 3600 600 86400 300
@      300 IN NS  ns1.ov.test.
@      300 IN A   192.0.2.10
@      300 IN AAAA 2001:db8::10
ns1    300 IN A   192.0.2.1
www    300 IN A   192.0.2.80
www    300 IN AAAA 2001:db8::80
www    300 IN TXT "kept"
mail   300 IN A   192.0.2.25
lb     300 IN A   192.0.2.200
lb     300 IN AAAA 2001:db8::200
v%d    300 IN A   192.0.2.99
`, serial, serial)
	if withOld {
		text += "old 300 IN A 192.0.2.66\n"
	}
	var rrs []dns.RR
	zp := dns.NewZoneParser(strings.NewReader(text), "", "")
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		rrs = append(rrs, rr)
	}
	return rrs
}

func answers(t *testing.T, addr, name string, qtype uint16) []string {
	t.Helper()
	r := exchange(t, addr, name, qtype, false)
	var out []string
	for _, rr := range r.Answer {
		out = append(out, strings.Join(strings.Fields(rr.String()), " "))
	}
	return out
}

// TestOverrides: override records replace the transferred addresses while the primary has the
// name, across IXFRs that change other names; they lapse when the primary deletes the name; an
// apex CNAME is served flattened.
func TestOverrides(t *testing.T) {
	primary := fakeprimary.Start(t, "ov.test.", overrideZone(1, true))
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	file := filepath.Join(t.TempDir(), "overrides.zone")
	os.WriteFile(file, []byte("old 60 IN A 198.51.100.66\n"), 0o644)
	startCoreDNS(t, fmt.Sprintf(`ov.test:%d {
		bind 127.0.0.1
		cfsecondary {
			peer %s ixfr
			dir %s
			override www 60 A 198.51.100.80
			override ov.test. 60 CNAME lb.ov.test.
			override mail 60 CNAME www.ov.test.
			override-file %s
		}
	}`, port, primary.Addr, t.TempDir(), file))
	waitFor(t, 10*time.Second, "serial 1", func() bool { return serialAt(addr, "ov.test") == 1 })

	check := func(when string) {
		t.Helper()
		for _, c := range []struct {
			name  string
			qtype uint16
			want  []string
		}{
			{"www.ov.test.", dns.TypeA, []string{"www.ov.test. 60 IN A 198.51.100.80"}},
			{"www.ov.test.", dns.TypeAAAA, nil}, // the override replaces all the addresses
			{"www.ov.test.", dns.TypeTXT, []string{`www.ov.test. 300 IN TXT "kept"`}},
			{"ov.test.", dns.TypeA, []string{"ov.test. 60 IN A 192.0.2.200"}},         // flattened lb
			{"ov.test.", dns.TypeAAAA, []string{"ov.test. 60 IN AAAA 2001:db8::200"}}, // flattened lb
			{"ov.test.", dns.TypeMX, nil},
			{"mail.ov.test.", dns.TypeA, []string{"mail.ov.test. 60 IN CNAME www.ov.test.", "www.ov.test. 300 IN A 192.0.2.80"}},
		} {
			if got := answers(t, addr, c.name, c.qtype); strings.Join(got, "|") != strings.Join(c.want, "|") {
				t.Errorf("%s: %s %s = %q, want %q", when, c.name, dns.TypeToString[c.qtype], got, c.want)
			}
		}
	}
	check("after the first transfer")
	if got := answers(t, addr, "old.ov.test.", dns.TypeA); len(got) != 1 || !strings.Contains(got[0], "198.51.100.66") {
		t.Errorf("override from the file not applied: %q", got)
	}

	// An IXFR that changes other names keeps the overrides.
	primary.SetRecords(overrideZone(2, true))
	if err := primary.Notify(addr); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "serial 2", func() bool { return serialAt(addr, "ov.test") == 2 })
	if primary.IXFRs() != 1 {
		t.Fatalf("serial 2 came by %d IXFRs, want 1", primary.IXFRs())
	}
	check("after an IXFR")

	// The primary deletes old: its override lapses.
	primary.SetRecords(overrideZone(3, false))
	if err := primary.Notify(addr); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "serial 3", func() bool { return serialAt(addr, "ov.test") == 3 })
	if r := exchange(t, addr, "old.ov.test.", dns.TypeA, false); r.Rcode != dns.RcodeNameError {
		t.Errorf("old deleted by the primary, but answered %s with %v", dns.RcodeToString[r.Rcode], r.Answer)
	}
	check("after the primary deleted another name")
}

// TestOverridesRefusedWithPresigned: overrides and pre-signed DNSSEC are a configuration error.
func TestOverridesRefusedWithPresigned(t *testing.T) {
	port := freePort(t)
	input := fmt.Sprintf("ov.test:%d {\n bind 127.0.0.1\n cfsecondary {\n  peer 127.0.0.1:1\n  dnssec presigned\n  override www A 198.51.100.80\n }\n}\n", port)
	caddyMu.Lock()
	_, err := caddy.Start(caddy.CaddyfileInput{Contents: []byte(input), Filepath: "Corefile", ServerTypeName: "dns"})
	caddyMu.Unlock()
	if err == nil || !strings.Contains(err.Error(), "override records cannot be used with dnssec presigned") {
		t.Fatalf("start = %v, want the override/presigned configuration error", err)
	}
}
