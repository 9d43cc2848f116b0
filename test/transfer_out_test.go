package test

import (
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/cfsecondary/cfsecondary/internal/fakeprimary"

	"github.com/miekg/dns"
)

// TestTransferOut: with a transfer block beside it, the custom CoreDNS hands the zone it
// transferred on to a downstream secondary, signed with TSIG when the request is.
func TestTransferOut(t *testing.T) {
	const origin = "out.test."
	records := fakeprimary.Zone(origin, 42, 500)
	primary := fakeprimary.Start(t, origin, records)
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	startCoreDNS(t, fmt.Sprintf(`%s:%d {
		bind 127.0.0.1
		tsig {
			secret down-key. icZaaOG4phnFi2roPJEXTaeTrc0AEQC13ktQP4qnnEE=
		}
		transfer {
			to *
		}
		cfsecondary {
			peer %s
			dir %s
		}
	}`, origin, port, primary.Addr, t.TempDir()))
	waitFor(t, 10*time.Second, "the zone", func() bool { return serialAt(addr, origin) == 42 })

	for _, signed := range []bool{false, true} {
		t.Run(fmt.Sprintf("tsig=%t", signed), func(t *testing.T) {
			m := new(dns.Msg)
			m.SetAxfr(origin)
			tr := new(dns.Transfer)
			if signed {
				m.SetTsig("down-key.", dns.HmacSHA256, 300, time.Now().Unix())
				tr.TsigSecret = map[string]string{"down-key.": "icZaaOG4phnFi2roPJEXTaeTrc0AEQC13ktQP4qnnEE="}
			}
			env, err := tr.In(m, addr)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for e := range env {
				if e.Error != nil {
					t.Fatalf("AXFR from the secondary: %v", e.Error)
				}
				for _, rr := range e.RR {
					got = append(got, rr.String())
				}
			}
			// The stream is SOA, the zone, SOA: the zone once plus the closing SOA.
			if len(got) != len(records)+1 || got[0] != got[len(got)-1] || got[0] != records[0].String() {
				t.Fatalf("transfer out: %d records, first %q last %q", len(got), got[0], got[len(got)-1])
			}
			want := make([]string, len(records))
			for i, rr := range records {
				want[i] = rr.String()
			}
			got = got[:len(got)-1]
			sort.Strings(got)
			sort.Strings(want)
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("record %d: got %q, want %q", i, got[i], want[i])
				}
			}
		})
	}

	t.Run("IXFR from an up-to-date client", func(t *testing.T) {
		m := new(dns.Msg)
		m.SetIxfr(origin, 42, "ns1."+origin, "hostmaster."+origin)
		r, _, err := (&dns.Client{Net: "tcp", Timeout: 2 * time.Second}).Exchange(m, addr)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Answer) != 1 || r.Answer[0].(*dns.SOA).Serial != 42 {
			t.Errorf("want the single SOA that says up to date, got %v", r.Answer)
		}
	})
}
