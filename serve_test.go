package cfsecondary

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/cfsecondary/cfsecondary/engine"
	"github.com/cfsecondary/cfsecondary/internal/testutil"
	"github.com/cfsecondary/cfsecondary/zone"

	"github.com/coredns/coredns/plugin/pkg/dnstest"
	"github.com/coredns/coredns/plugin/test"
	"github.com/coredns/coredns/request"

	"github.com/miekg/dns"
)

// exampleOrg holds every form of answer the plugin must get right.
const exampleOrg = `$ORIGIN example.org.
$TTL 3600
@             IN SOA   ns1.example.org. hostmaster.example.org. 2026112601 300 60 1209600 600
              IN NS    ns1.example.org.
              IN NS    ns2.example.org.
              IN MX    10 mail.example.org.
              IN A     192.0.2.10
ns1           IN A     192.0.2.1
ns2           IN A     192.0.2.2
mail          IN A     192.0.2.25
www           IN CNAME web.example.org.
web           IN A     192.0.2.80
chain1        IN CNAME chain2.example.org.
chain2        IN CNAME www.example.org.
out           IN CNAME www.example.net.
dangling      IN CNAME missing.example.org.
tosub         IN CNAME host.sub.example.org.
*.wild        IN A     192.0.2.90
              IN TXT   "wildcard"
a.b.ent       IN A     192.0.2.100
sub           IN NS    ns.sub.example.org.
              IN NS    ns.example.net.
ns.sub        IN A     192.0.2.53
legacy        IN DNAME example.net.
old           IN DNAME new.example.org.
host.new      IN A     192.0.2.120
`

func newTestSecondary(t *testing.T, fall bool) *Secondary {
	t.Helper()
	zp := dns.NewZoneParser(strings.NewReader(exampleOrg), "example.org.", "")
	b := zone.NewBuilder("example.org.", zone.DefaultLimits())
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		if err := b.Add(rr); err != nil {
			t.Fatal(err)
		}
	}
	if err := zp.Err(); err != nil {
		t.Fatal(err)
	}
	z, err := b.Zone()
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Zones: []string{"example.org."}, Peers: []engine.Peer{{Addr: "192.0.2.1:53"}}}
	if fall {
		cfg.Fall.SetZonesFromArgs(nil)
	}
	s, err := New([]Config{cfg}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.zones["example.org."].SetData(z)
	s.Next = test.NextHandler(dns.RcodeRefused, nil) // "the next plugin was asked"
	return s
}

var soaNeg = "example.org. 600 IN SOA ns1.example.org. hostmaster.example.org. 2026112601 300 60 1209600 600"

// TestServe asserts whole responses: rcode, flags and all three sections, for every answer form.
func TestServe(t *testing.T) {
	s := newTestSecondary(t, false)
	cases := []test.Case{
		// Apex.
		{Qname: "example.org.", Qtype: dns.TypeSOA, Authoritative: true,
			Answer: []dns.RR{test.SOA("example.org. 3600 IN SOA ns1.example.org. hostmaster.example.org. 2026112601 300 60 1209600 600")}},
		{Qname: "example.org.", Qtype: dns.TypeNS, Authoritative: true,
			Answer: []dns.RR{test.NS("example.org. 3600 IN NS ns1.example.org."), test.NS("example.org. 3600 IN NS ns2.example.org.")},
			Extra:  []dns.RR{test.A("ns1.example.org. 3600 IN A 192.0.2.1"), test.A("ns2.example.org. 3600 IN A 192.0.2.2")}},
		{Qname: "EXAMPLE.org.", Qtype: dns.TypeMX, Authoritative: true,
			Answer: []dns.RR{test.MX("example.org. 3600 IN MX 10 mail.example.org.")},
			Extra:  []dns.RR{test.A("mail.example.org. 3600 IN A 192.0.2.25")}},
		// NODATA: the name exists, the type does not.
		{Qname: "example.org.", Qtype: dns.TypeAAAA, Authoritative: true, Ns: []dns.RR{test.SOA(soaNeg)}},
		{Qname: "web.example.org.", Qtype: dns.TypeTXT, Authoritative: true, Ns: []dns.RR{test.SOA(soaNeg)}},
		// NXDOMAIN.
		{Qname: "nope.example.org.", Qtype: dns.TypeA, Authoritative: true, Rcode: dns.RcodeNameError, Ns: []dns.RR{test.SOA(soaNeg)}},
		{Qname: "a.nope.example.org.", Qtype: dns.TypeA, Authoritative: true, Rcode: dns.RcodeNameError, Ns: []dns.RR{test.SOA(soaNeg)}},
		// Delegation: a referral with glue, no AA; below the cut too; DS at the cut is ours.
		{Qname: "sub.example.org.", Qtype: dns.TypeA,
			Ns:    []dns.RR{test.NS("sub.example.org. 3600 IN NS ns.sub.example.org."), test.NS("sub.example.org. 3600 IN NS ns.example.net.")},
			Extra: []dns.RR{test.A("ns.sub.example.org. 3600 IN A 192.0.2.53")}},
		{Qname: "deep.host.sub.example.org.", Qtype: dns.TypeAAAA,
			Ns:    []dns.RR{test.NS("sub.example.org. 3600 IN NS ns.sub.example.org."), test.NS("sub.example.org. 3600 IN NS ns.example.net.")},
			Extra: []dns.RR{test.A("ns.sub.example.org. 3600 IN A 192.0.2.53")}},
		{Qname: "ns.sub.example.org.", Qtype: dns.TypeA,
			Ns:    []dns.RR{test.NS("sub.example.org. 3600 IN NS ns.sub.example.org."), test.NS("sub.example.org. 3600 IN NS ns.example.net.")},
			Extra: []dns.RR{test.A("ns.sub.example.org. 3600 IN A 192.0.2.53")}},
		{Qname: "sub.example.org.", Qtype: dns.TypeDS, Authoritative: true, Ns: []dns.RR{test.SOA(soaNeg)}},
		// Wildcard: synthesized answer, NODATA at the wildcard, and the wildcard itself.
		{Qname: "host.wild.example.org.", Qtype: dns.TypeA, Authoritative: true,
			Answer: []dns.RR{test.A("host.wild.example.org. 3600 IN A 192.0.2.90")}},
		{Qname: "a.b.wild.example.org.", Qtype: dns.TypeTXT, Authoritative: true,
			Answer: []dns.RR{test.TXT(`a.b.wild.example.org. 3600 IN TXT "wildcard"`)}},
		{Qname: "host.wild.example.org.", Qtype: dns.TypeMX, Authoritative: true, Ns: []dns.RR{test.SOA(soaNeg)}},
		{Qname: "wild.example.org.", Qtype: dns.TypeA, Authoritative: true, Ns: []dns.RR{test.SOA(soaNeg)}},
		// Empty non-terminals: b.ent exists without data; below it nothing matches.
		{Qname: "b.ent.example.org.", Qtype: dns.TypeA, Authoritative: true, Ns: []dns.RR{test.SOA(soaNeg)}},
		{Qname: "ent.example.org.", Qtype: dns.TypeA, Authoritative: true, Ns: []dns.RR{test.SOA(soaNeg)}},
		{Qname: "c.b.ent.example.org.", Qtype: dns.TypeA, Authoritative: true, Rcode: dns.RcodeNameError, Ns: []dns.RR{test.SOA(soaNeg)}},
		{Qname: "a.b.ent.example.org.", Qtype: dns.TypeA, Authoritative: true,
			Answer: []dns.RR{test.A("a.b.ent.example.org. 3600 IN A 192.0.2.100")}},
		// CNAME chains: inside the zone, out of it, to a missing name, into a delegation.
		{Qname: "chain1.example.org.", Qtype: dns.TypeA, Authoritative: true,
			Answer: []dns.RR{
				test.CNAME("chain1.example.org. 3600 IN CNAME chain2.example.org."),
				test.CNAME("chain2.example.org. 3600 IN CNAME www.example.org."),
				test.CNAME("www.example.org. 3600 IN CNAME web.example.org."),
				test.A("web.example.org. 3600 IN A 192.0.2.80"),
			}},
		{Qname: "www.example.org.", Qtype: dns.TypeCNAME, Authoritative: true,
			Answer: []dns.RR{test.CNAME("www.example.org. 3600 IN CNAME web.example.org.")}},
		{Qname: "out.example.org.", Qtype: dns.TypeA, Authoritative: true,
			Answer: []dns.RR{test.CNAME("out.example.org. 3600 IN CNAME www.example.net.")}},
		{Qname: "dangling.example.org.", Qtype: dns.TypeA, Authoritative: true, Rcode: dns.RcodeNameError,
			Answer: []dns.RR{test.CNAME("dangling.example.org. 3600 IN CNAME missing.example.org.")},
			Ns:     []dns.RR{test.SOA(soaNeg)}},
		{Qname: "tosub.example.org.", Qtype: dns.TypeA, Authoritative: true,
			Answer: []dns.RR{test.CNAME("tosub.example.org. 3600 IN CNAME host.sub.example.org.")},
			Ns:     []dns.RR{test.NS("sub.example.org. 3600 IN NS ns.sub.example.org."), test.NS("sub.example.org. 3600 IN NS ns.example.net.")},
			Extra:  []dns.RR{test.A("ns.sub.example.org. 3600 IN A 192.0.2.53")}},
		// DNAME: out of the zone, and into it (followed).
		{Qname: "www.legacy.example.org.", Qtype: dns.TypeA, Authoritative: true,
			Answer: []dns.RR{
				test.DNAME("legacy.example.org. 3600 IN DNAME example.net."),
				test.CNAME("www.legacy.example.org. 3600 IN CNAME www.example.net."),
			}},
		{Qname: "host.old.example.org.", Qtype: dns.TypeA, Authoritative: true,
			Answer: []dns.RR{
				test.DNAME("old.example.org. 3600 IN DNAME new.example.org."),
				test.CNAME("host.old.example.org. 3600 IN CNAME host.new.example.org."),
				test.A("host.new.example.org. 3600 IN A 192.0.2.120"),
			}},
		{Qname: "legacy.example.org.", Qtype: dns.TypeDNAME, Authoritative: true,
			Answer: []dns.RR{test.DNAME("legacy.example.org. 3600 IN DNAME example.net.")}},
		// ANY over UDP: one RRset (RFC 8482).
		{Qname: "web.example.org.", Qtype: dns.TypeANY, Authoritative: true,
			Answer: []dns.RR{test.A("web.example.org. 3600 IN A 192.0.2.80")}},
	}
	wired := 0
	for _, tc := range cases {
		// Each case goes both ways: behind another plugin's writer (the dns.Msg path) and
		// straight to the server's writer (written from the zone's wire data when it can be).
		for _, bare := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/%s/bare=%t", tc.Qname, dns.TypeToString[tc.Qtype], bare), func(t *testing.T) {
				var w dns.ResponseWriter
				cw := &captureWriter{}
				rec := dnstest.NewRecorder(cw)
				w = rec
				if bare {
					w = request.NewScrubWriter(tc.Msg(), cw)
				}
				if _, err := s.ServeDNS(context.Background(), w, tc.Msg()); err != nil {
					t.Fatal(err)
				}
				m := cw.msg
				if m == nil {
					t.Fatal("no response written")
				}
				if cw.raw {
					wired++
				}
				if !m.Response || m.Truncated || m.RecursionAvailable || m.Opcode != dns.OpcodeQuery {
					t.Errorf("flags: qr=%v tc=%v ra=%v opcode=%d", m.Response, m.Truncated, m.RecursionAvailable, m.Opcode)
				}
				// The wire path's owner names point at the question and take its case.
				for _, rr := range slices.Concat(m.Answer, m.Ns, m.Extra) {
					rr.Header().Name = strings.ToLower(rr.Header().Name)
				}
				if err := testutil.CheckResponse(m, tc); err != nil {
					t.Errorf("%v\n%s", err, m)
				}
			})
		}
	}
	// Most forms of answer are written from wire data; DNAME and ANY are not.
	if wired < len(cases)-4 {
		t.Errorf("%d of %d answers written from wire data", wired, len(cases))
	}
}

// captureWriter keeps the response, whether it comes as a dns.Msg or as bytes.
type captureWriter struct {
	test.ResponseWriter
	msg *dns.Msg
	raw bool // it came as bytes
}

func (c *captureWriter) WriteMsg(m *dns.Msg) error {
	c.msg = m
	return nil
}

func (c *captureWriter) Write(b []byte) (int, error) {
	c.msg, c.raw = new(dns.Msg), true
	return len(b), c.msg.Unpack(b)
}

func TestServeNotOurs(t *testing.T) {
	s := newTestSecondary(t, false)
	for _, tc := range []struct {
		name  string
		msg   *dns.Msg
		rcode int
	}{
		{"other zone goes to the next plugin", (&dns.Msg{}).SetQuestion("example.net.", dns.TypeA), dns.RcodeRefused},
		{"parent of the zone", (&dns.Msg{}).SetQuestion("org.", dns.TypeA), dns.RcodeRefused},
		{"AXFR without the transfer plugin", (&dns.Msg{}).SetQuestion("example.org.", dns.TypeAXFR), dns.RcodeRefused},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := dnstest.NewRecorder(&test.ResponseWriter{})
			rcode, _ := s.ServeDNS(context.Background(), rec, tc.msg)
			if rcode != tc.rcode {
				t.Errorf("rcode = %s, want %s", dns.RcodeToString[rcode], dns.RcodeToString[tc.rcode])
			}
		})
	}
}

func TestServeFallthrough(t *testing.T) {
	s := newTestSecondary(t, true)
	rec := dnstest.NewRecorder(&test.ResponseWriter{})
	rcode, _ := s.ServeDNS(context.Background(), rec, (&dns.Msg{}).SetQuestion("nope.example.org.", dns.TypeA))
	if rcode != dns.RcodeRefused || rec.Msg != nil {
		t.Errorf("NXDOMAIN with fallthrough: rcode %d, written %v; want the next plugin asked", rcode, rec.Msg)
	}
	rec = dnstest.NewRecorder(&test.ResponseWriter{})
	s.ServeDNS(context.Background(), rec, (&dns.Msg{}).SetQuestion("www.example.org.", dns.TypeA))
	if rec.Msg == nil || rec.Msg.Rcode != dns.RcodeSuccess || len(rec.Msg.Answer) != 2 {
		t.Errorf("existing name with fallthrough: %v", rec.Msg)
	}
}

func TestServeNotLoaded(t *testing.T) {
	s, err := New([]Config{{Zones: []string{"example.org."}, Peers: []engine.Peer{{Addr: "192.0.2.1:53"}}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.Ready() {
		t.Error("Ready before any transfer")
	}
	req := (&dns.Msg{}).SetQuestion("www.example.org.", dns.TypeA)
	req.SetEdns0(1232, false)
	rec := dnstest.NewRecorder(&test.ResponseWriter{})
	s.ServeDNS(context.Background(), rec, req)
	m := rec.Msg
	if m == nil || m.Rcode != dns.RcodeServerFailure || m.Authoritative || len(m.Answer)+len(m.Ns) != 0 {
		t.Fatalf("before the first transfer: %v; want SERVFAIL, no data", m)
	}
	opt := m.IsEdns0()
	if opt == nil || len(opt.Option) != 1 || opt.Option[0].(*dns.EDNS0_EDE).InfoCode != dns.ExtendedErrorCodeNotReady {
		t.Errorf("want Extended DNS Error 14 (Not Ready), got %v", opt)
	}
}
