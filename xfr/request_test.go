package xfr

import (
	"testing"

	"github.com/miekg/dns"
)

// TestRequestWire checks what our requests look like on the wire: the OPT
// record (UDP size 1232, no DO, an empty EXPIRE option) before the TSIG RR,
// the IXFR query's SOA in the authority section, and that a signed request
// verifies with the OPT record in it.
func TestRequestWire(t *testing.T) {
	k := testKey(dns.HmacSHA256)
	opt := Options{}.withDefaults()
	for _, tt := range []struct {
		qtype uint16
		edns  bool
	}{{dns.TypeSOA, true}, {dns.TypeAXFR, true}, {dns.TypeIXFR, true}, {dns.TypeAXFR, false}, {dns.TypeIXFR, false}} {
		req := newRequest("Example.COM", tt.qtype, tt.edns)
		if tt.qtype == dns.TypeIXFR {
			req.Ns = []dns.RR{fuzzSOA(7)}
		}
		wire, _, err := sign(req, k, opt)
		if err != nil {
			t.Fatal(err)
		}
		m := new(dns.Msg)
		if err := m.Unpack(wire); err != nil {
			t.Fatal(err)
		}
		if q := m.Question[0]; q.Name != "example.com." || q.Qtype != tt.qtype || q.Qclass != dns.ClassINET || m.RecursionDesired {
			t.Errorf("question %v, RD %t", q, m.RecursionDesired)
		}
		want := 1
		if tt.edns {
			want = 2
		}
		if len(m.Extra) != want || m.Extra[len(m.Extra)-1].Header().Rrtype != dns.TypeTSIG {
			t.Fatalf("%s: additional section %v, want [OPT] TSIG", dns.Type(tt.qtype), m.Extra)
		}
		if tt.edns {
			o, ok := m.Extra[0].(*dns.OPT)
			if !ok || o.UDPSize() != 1232 || o.Do() || o.Version() != 0 || len(o.Option) != 1 {
				t.Fatalf("OPT %v", m.Extra[0])
			}
			if e, ok := o.Option[0].(*dns.EDNS0_EXPIRE); !ok || !e.Empty {
				t.Errorf("option %v, want an empty EXPIRE", o.Option[0])
			}
		}
		if tt.qtype == dns.TypeIXFR {
			if len(m.Ns) != 1 || m.Ns[0].(*dns.SOA).Serial != 7 {
				t.Errorf("authority %v", m.Ns)
			}
		}
		v, _ := NewVerifier(k, nil)
		if _, err := v.Verify(wire); err != nil {
			t.Errorf("%s: request does not verify: %v", dns.Type(tt.qtype), err)
		}
	}
}

func TestSerialNewer(t *testing.T) {
	for _, tt := range []struct {
		a, b uint32
		want bool
	}{
		{2, 1, true}, {1, 2, false}, {1, 1, false},
		{0, 4294967295, true}, {4294967295, 0, false},
		{1 << 31, 0, false}, {0, 1 << 31, false}, // undefined: not newer either way
		{1<<31 - 1, 0, true}, {1<<31 + 1, 0, false},
	} {
		if got := serialNewer(tt.a, tt.b); got != tt.want {
			t.Errorf("serialNewer(%d, %d) = %t", tt.a, tt.b, got)
		}
	}
}
