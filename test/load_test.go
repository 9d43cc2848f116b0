package test

import (
	"fmt"
	"testing"
	"time"

	"github.com/cfsecondary/cfsecondary/internal/fakeprimary"

	"github.com/miekg/dns"
)

// TestLoadSizes transfers zones from one record (a lone SOA) to a million through the custom
// CoreDNS and checks each is served whole.
func TestLoadSizes(t *testing.T) {
	for _, n := range []int{1, 2, 1000, 1_000_000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			const origin = "size.test."
			var records []dns.RR
			switch n {
			case 1:
				records = []dns.RR{fakeprimary.SOA(origin, 7)}
			default:
				records = fakeprimary.Zone(origin, 7, n-3) // SOA, 2 NS and n-3 A records
				if n < 3 {
					records = records[:n]
				}
			}
			primary := fakeprimary.Start(t, origin, records)
			port := freePort(t)
			addr := fmt.Sprintf("127.0.0.1:%d", port)
			start := time.Now()
			startCoreDNS(t, fmt.Sprintf("%s:%d {\n bind 127.0.0.1\n cfsecondary {\n  peer %s\n  dir %s\n }\n}\n", origin, port, primary.Addr, t.TempDir()))
			waitFor(t, 5*time.Minute, "the zone", func() bool { return serialAt(addr, origin) == 7 })
			t.Logf("%d records served %s after start", n, time.Since(start).Round(time.Millisecond))

			if n >= 4 {
				last := fmt.Sprintf("h%d.%s", n-4, origin)
				r := exchange(t, addr, last, dns.TypeA, false)
				if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
					t.Errorf("the last record, %s, is not served: %v", last, r)
				}
			}
			r := exchange(t, addr, "nope."+origin, dns.TypeA, false)
			if r.Rcode != dns.RcodeNameError || !r.Authoritative {
				t.Errorf("NXDOMAIN expected for a name not in the zone: %v", r)
			}
		})
	}
}
