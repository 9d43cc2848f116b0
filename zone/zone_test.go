package zone

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/coredns/coredns/plugin/test"
	"github.com/miekg/dns"
)

const testOrigin = "example.org."

// parse reads a zone in RFC 1035 text format.
func parse(t testing.TB, origin, text string) []dns.RR {
	t.Helper()
	zp := dns.NewZoneParser(strings.NewReader(text), origin, "test")
	var rrs []dns.RR
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		rrs = append(rrs, rr)
	}
	if err := zp.Err(); err != nil {
		t.Fatalf("parse: %v", err)
	}
	return rrs
}

// build makes a zone from text, failing the test on any error.
func build(t testing.TB, origin, text string) *Zone {
	t.Helper()
	return buildLimits(t, origin, text, DefaultLimits())
}

func buildLimits(t testing.TB, origin, text string, lim Limits) *Zone {
	t.Helper()
	b := NewBuilder(origin, lim)
	for _, rr := range parse(t, origin, text) {
		if err := b.Add(rr); err != nil {
			t.Fatalf("Add(%s): %v", rr, err)
		}
	}
	z, err := b.Zone()
	if err != nil {
		t.Fatalf("Zone: %v", err)
	}
	return z
}

func testZone(t testing.TB) *Zone {
	t.Helper()
	return testZoneLimits(t, DefaultLimits())
}

func testZoneLimits(t testing.TB, lim Limits) *Zone {
	t.Helper()
	text, err := os.ReadFile("testdata/example.org.zone")
	if err != nil {
		t.Fatal(err)
	}
	return buildLimits(t, testOrigin, string(text), lim)
}

// check runs tc against z and compares the whole response: rcode, AA flag
// and every RR of every section, TTLs included.
func check(t *testing.T, z *Zone, tc test.Case, tcp bool) {
	t.Helper()
	res := z.Lookup(Request{Name: tc.Qname, Type: tc.Qtype, DO: tc.Do, TCP: tcp})

	m := new(dns.Msg)
	m.SetQuestion(tc.Qname, tc.Qtype)
	m.Rcode, m.Authoritative = res.Rcode, res.Authoritative
	// Clone: the sections share the zone's slices and SortAndCheck sorts.
	m.Answer, m.Ns, m.Extra = slices.Clone(res.Answer), slices.Clone(res.Ns), slices.Clone(res.Extra)

	want := tc
	want.Answer, want.Ns, want.Extra = sorted(tc.Answer), sorted(tc.Ns), sorted(tc.Extra)
	if err := test.SortAndCheck(m, want); err != nil {
		t.Error(err)
	}
	if m.Authoritative != tc.Authoritative {
		t.Errorf("AA is %t, want %t", m.Authoritative, tc.Authoritative)
	}
	// SortAndCheck looks at some fields only; compare the full text too.
	for _, s := range []struct {
		name      string
		got, want []dns.RR
	}{{"answer", m.Answer, want.Answer}, {"authority", m.Ns, want.Ns}, {"additional", m.Extra, want.Extra}} {
		if g, w := text(s.got), text(s.want); g != w {
			t.Errorf("%s section:\n got: %s\nwant: %s", s.name, g, w)
		}
	}
}

func sorted(rrs []dns.RR) []dns.RR {
	s := slices.Clone(rrs)
	slices.SortFunc(s, func(a, b dns.RR) int { return strings.Compare(a.String(), b.String()) })
	return s
}

func text(rrs []dns.RR) string {
	var b strings.Builder
	for _, rr := range rrs {
		b.WriteString("\n\t" + rr.String())
	}
	return b.String()
}

func caseName(tc test.Case) string {
	name := tc.Qname + "/" + dns.TypeToString[tc.Qtype]
	if tc.Do {
		name += "/DO"
	}
	return name
}

// Expected records, as the test zone holds them.
var (
	soaNeg    = test.SOA("example.org. 300 IN SOA ns1.example.org. hostmaster.example.org. 2024010101 7200 3600 1209600 300")
	soaSigNeg = test.RRSIG("example.org. 300 IN RRSIG SOA 13 2 3600 20300101000000 20200101000000 12345 example.org. c29hc2ln")
	apexNS    = []dns.RR{
		test.NS("example.org. 3600 IN NS ns1.example.org."),
		test.NS("example.org. 3600 IN NS ns2.example.net."),
	}
	ns1Addr = []dns.RR{
		test.A("ns1.example.org. 3600 IN A 192.0.2.53"),
		test.AAAA("ns1.example.org. 3600 IN AAAA 2001:db8::53"),
	}
	mailAddr = []dns.RR{
		test.A("mail.example.org. 3600 IN A 192.0.2.25"),
		test.AAAA("mail.example.org. 3600 IN AAAA 2001:db8::25"),
	}
	wwwA   = test.A("www.example.org. 3600 IN A 192.0.2.80")
	wwwSig = test.RRSIG("www.example.org. 3600 IN RRSIG A 13 3 3600 20300101000000 20200101000000 12345 example.org. d3d3c2ln")
	wwwTXT = test.TXT(`www.example.org. 3600 IN TXT "www"`)
	subNS  = []dns.RR{
		test.NS("sub.example.org. 3600 IN NS ns.sub.example.org."),
		test.NS("sub.example.org. 3600 IN NS ns.example.net."),
	}
	subGlue = []dns.RR{
		test.A("ns.sub.example.org. 3600 IN A 192.0.2.99"),
		test.AAAA("ns.sub.example.org. 3600 IN AAAA 2001:db8::99"),
	}
	subDS    = test.DS("sub.example.org. 3600 IN DS 12345 13 2 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF")
	subDSSig = test.RRSIG("sub.example.org. 3600 IN RRSIG DS 13 3 3600 20300101000000 20200101000000 12345 example.org. ZHNzaWc=")
	sub2NS   = test.NS("sub2.example.org. 3600 IN NS ns1.example.org.")
	dnDNAME  = test.DNAME("dn.example.org. 3600 IN DNAME dtarget.example.org.")
	yxDNAME  = test.DNAME("yx.example.org. 3600 IN DNAME " + yxTarget)
	yxTarget = strings.Repeat("a", 63) + "." + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + ".example.net."
)

func join(sets ...[]dns.RR) []dns.RR { return slices.Concat(sets...) }

// lookupCases go over UDP. Each asserts the complete response.
var lookupCases = []test.Case{
	// The apex is an ordinary authoritative name, not a cut.
	{
		Qname: "example.org.", Qtype: dns.TypeSOA, Authoritative: true,
		Answer: []dns.RR{test.SOA("example.org. 3600 IN SOA ns1.example.org. hostmaster.example.org. 2024010101 7200 3600 1209600 300")},
	},
	{
		Qname: "example.org.", Qtype: dns.TypeNS, Authoritative: true,
		Answer: apexNS,
		Extra:  ns1Addr,
	},
	{
		Qname: "example.org.", Qtype: dns.TypeMX, Authoritative: true,
		Answer: []dns.RR{
			test.MX("example.org. 3600 IN MX 10 mail.example.org."),
			test.MX("example.org. 3600 IN MX 20 mail.example.net."),
		},
		Extra: mailAddr,
	},
	{
		Qname: "_sip._udp.example.org.", Qtype: dns.TypeSRV, Authoritative: true,
		Answer: []dns.RR{
			test.SRV("_sip._udp.example.org. 3600 IN SRV 10 5 5060 mail.example.org."),
			test.SRV("_sip._udp.example.org. 3600 IN SRV 20 5 5060 sip.example.net."),
		},
		Extra: mailAddr,
	},
	// Existing data, with and without DNSSEC.
	{
		Qname: "www.example.org.", Qtype: dns.TypeA, Authoritative: true,
		Answer: []dns.RR{wwwA},
	},
	{
		Qname: "www.example.org.", Qtype: dns.TypeA, Do: true, Authoritative: true,
		Answer: []dns.RR{wwwA, wwwSig},
	},
	{
		Qname: "www.example.org.", Qtype: dns.TypeTXT, Do: true, Authoritative: true, // no RRSIG for TXT
		Answer: []dns.RR{wwwTXT},
	},
	{
		Qname: "www.example.org.", Qtype: dns.TypeRRSIG, Authoritative: true, // RRSIG without DO
		Answer: []dns.RR{wwwSig},
	},
	// NODATA and NXDOMAIN: SOA with TTL min(SOA TTL, MINIMUM).
	{
		Qname: "www.example.org.", Qtype: dns.TypeAAAA, Authoritative: true,
		Ns: []dns.RR{soaNeg},
	},
	{
		Qname: "www.example.org.", Qtype: dns.TypeAAAA, Do: true, Authoritative: true,
		Ns: []dns.RR{soaNeg, soaSigNeg},
	},
	{
		Qname: "nothere.example.org.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Authoritative: true,
		Ns: []dns.RR{soaNeg},
	},
	{
		Qname: "a.b.c.nothere.example.org.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Authoritative: true,
		Ns: []dns.RR{soaNeg},
	},
	{
		Qname: "nothere.example.org.", Qtype: dns.TypeANY, Rcode: dns.RcodeNameError, Authoritative: true,
		Ns: []dns.RR{soaNeg},
	},
	// Case: match any case, answer with the owner as stored.
	{
		Qname: "WwW.ExAmPlE.oRg.", Qtype: dns.TypeA, Authoritative: true,
		Answer: []dns.RR{wwwA},
	},
	{
		Qname: "mixed.CASE.example.org.", Qtype: dns.TypeA, Authoritative: true,
		Answer: []dns.RR{test.A("Mixed.Case.example.org. 3600 IN A 192.0.2.81")},
	},
	// Delegation: a referral, not authoritative, with glue below the cut.
	{
		Qname: "sub.example.org.", Qtype: dns.TypeNS,
		Ns: subNS, Extra: subGlue,
	},
	{
		Qname: "sub.example.org.", Qtype: dns.TypeA,
		Ns: subNS, Extra: subGlue,
	},
	{
		Qname: "host.sub.example.org.", Qtype: dns.TypeA,
		Ns: subNS, Extra: subGlue,
	},
	{
		Qname: "ns.sub.example.org.", Qtype: dns.TypeA, // glue is not answered
		Ns: subNS, Extra: subGlue,
	},
	{
		Qname: "deep.sub.example.org.", Qtype: dns.TypeA, // occluded
		Ns: subNS, Extra: subGlue,
	},
	{
		Qname: "x.deep.sub.example.org.", Qtype: dns.TypeDS, // DS below the cut is the child's
		Ns: subNS, Extra: subGlue,
	},
	{
		Qname: "sub.example.org.", Qtype: dns.TypeA, Do: true, // RFC 4035 3.1.4: DS with the NS
		Ns: join(subNS, []dns.RR{subDS, subDSSig}), Extra: subGlue,
	},
	// DS at the cut is the parent's data: authoritative.
	{
		Qname: "sub.example.org.", Qtype: dns.TypeDS, Authoritative: true,
		Answer: []dns.RR{subDS},
	},
	{
		Qname: "sub.example.org.", Qtype: dns.TypeDS, Do: true, Authoritative: true,
		Answer: []dns.RR{subDS, subDSSig},
	},
	{
		Qname: "sub2.example.org.", Qtype: dns.TypeDS, Authoritative: true, // no DS: NODATA
		Ns: []dns.RR{soaNeg},
	},
	// Glue elsewhere in the zone.
	{
		Qname: "www.sub2.example.org.", Qtype: dns.TypeA,
		Ns: []dns.RR{sub2NS}, Extra: ns1Addr,
	},
	// Wildcards.
	{
		Qname: "foo.wild.example.org.", Qtype: dns.TypeTXT, Authoritative: true,
		Answer: []dns.RR{test.TXT(`foo.wild.example.org. 3600 IN TXT "wildcard"`)},
	},
	{
		Qname: "a.b.foo.wild.example.org.", Qtype: dns.TypeTXT, Authoritative: true,
		Answer: []dns.RR{test.TXT(`a.b.foo.wild.example.org. 3600 IN TXT "wildcard"`)},
	},
	{
		Qname: "FOO.Wild.example.org.", Qtype: dns.TypeTXT, Do: true, Authoritative: true, // owner as asked
		Answer: []dns.RR{
			test.TXT(`FOO.Wild.example.org. 3600 IN TXT "wildcard"`),
			test.RRSIG("FOO.Wild.example.org. 3600 IN RRSIG TXT 13 3 3600 20300101000000 20200101000000 12345 example.org. d2lsZA=="),
		},
	},
	{
		Qname: "foo.wild.example.org.", Qtype: dns.TypeMX, Authoritative: true,
		Answer: []dns.RR{test.MX("foo.wild.example.org. 3600 IN MX 10 mail.example.org.")},
		Extra:  mailAddr,
	},
	{
		Qname: "foo.wild.example.org.", Qtype: dns.TypeAAAA, Authoritative: true, // wildcard NODATA
		Ns: []dns.RR{soaNeg},
	},
	{
		Qname: "*.wild.example.org.", Qtype: dns.TypeTXT, Authoritative: true, // the wildcard itself
		Answer: []dns.RR{test.TXT(`*.wild.example.org. 3600 IN TXT "wildcard"`)},
	},
	{
		Qname: "exists.wild.example.org.", Qtype: dns.TypeTXT, Authoritative: true, // blocked by the name
		Ns: []dns.RR{soaNeg},
	},
	{
		Qname: "b.wild.example.org.", Qtype: dns.TypeTXT, Authoritative: true, // an ENT blocks too
		Ns: []dns.RR{soaNeg},
	},
	{
		Qname: "x.b.wild.example.org.", Qtype: dns.TypeTXT, Rcode: dns.RcodeNameError, Authoritative: true, // RFC 4592 3.3
		Ns: []dns.RR{soaNeg},
	},
	{
		Qname: "foo.wc.example.org.", Qtype: dns.TypeA, Authoritative: true, // wildcard CNAME, followed
		Answer: []dns.RR{test.CNAME("foo.wc.example.org. 3600 IN CNAME www.example.org."), wwwA},
	},
	// Empty non-terminals.
	{
		Qname: "ent.example.org.", Qtype: dns.TypeA, Authoritative: true,
		Ns: []dns.RR{soaNeg},
	},
	{
		Qname: "x.ent.example.org.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Authoritative: true,
		Ns: []dns.RR{soaNeg},
	},
	{
		Qname: "went.example.org.", Qtype: dns.TypeA, Authoritative: true,
		Ns: []dns.RR{soaNeg},
	},
	{
		Qname: "x.went.example.org.", Qtype: dns.TypeA, Authoritative: true, // wildcard below an ENT
		Answer: []dns.RR{test.A("x.went.example.org. 3600 IN A 192.0.2.11")},
	},
	// CNAMEs.
	{
		Qname: "c1.example.org.", Qtype: dns.TypeA, Authoritative: true,
		Answer: []dns.RR{
			test.CNAME("c1.example.org. 3600 IN CNAME c2.example.org."),
			test.CNAME("c2.example.org. 3600 IN CNAME www.example.org."),
			wwwA,
		},
	},
	{
		Qname: "c1.example.org.", Qtype: dns.TypeAAAA, Authoritative: true, // chain ends in NODATA
		Answer: []dns.RR{
			test.CNAME("c1.example.org. 3600 IN CNAME c2.example.org."),
			test.CNAME("c2.example.org. 3600 IN CNAME www.example.org."),
		},
		Ns: []dns.RR{soaNeg},
	},
	{
		Qname: "c1.example.org.", Qtype: dns.TypeCNAME, Authoritative: true,
		Answer: []dns.RR{test.CNAME("c1.example.org. 3600 IN CNAME c2.example.org.")},
	},
	{
		Qname: "cext.example.org.", Qtype: dns.TypeA, Authoritative: true,
		Answer: []dns.RR{test.CNAME("cext.example.org. 3600 IN CNAME www.example.net.")},
	},
	{
		Qname: "cnx.example.org.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Authoritative: true, // RFC 6604
		Answer: []dns.RR{test.CNAME("cnx.example.org. 3600 IN CNAME nothere.example.org.")},
		Ns:     []dns.RR{soaNeg},
	},
	{
		Qname: "csub.example.org.", Qtype: dns.TypeA, Authoritative: true,
		Answer: []dns.RR{test.CNAME("csub.example.org. 3600 IN CNAME host.sub.example.org.")},
		Ns:     subNS, Extra: subGlue,
	},
	{
		Qname: "loop1.example.org.", Qtype: dns.TypeA, Authoritative: true,
		Answer: []dns.RR{
			test.CNAME("loop1.example.org. 3600 IN CNAME loop2.example.org."),
			test.CNAME("loop2.example.org. 3600 IN CNAME loop1.example.org."),
		},
	},
	// DNAME.
	{
		Qname: "www.dn.example.org.", Qtype: dns.TypeA, Authoritative: true,
		Answer: []dns.RR{
			dnDNAME,
			test.CNAME("www.dn.example.org. 3600 IN CNAME www.dtarget.example.org."),
			test.A("www.dtarget.example.org. 3600 IN A 192.0.2.70"),
		},
	},
	{
		Qname: "alias.dn.example.org.", Qtype: dns.TypeA, Authoritative: true,
		Answer: []dns.RR{
			dnDNAME,
			test.CNAME("alias.dn.example.org. 3600 IN CNAME alias.dtarget.example.org."),
			test.CNAME("alias.dtarget.example.org. 3600 IN CNAME www.example.org."),
			wwwA,
		},
	},
	{
		Qname: "nothere.dn.example.org.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Authoritative: true,
		Answer: []dns.RR{
			dnDNAME,
			test.CNAME("nothere.dn.example.org. 3600 IN CNAME nothere.dtarget.example.org."),
		},
		Ns: []dns.RR{soaNeg},
	},
	{
		Qname: "www.dn.example.org.", Qtype: dns.TypeCNAME, Authoritative: true, // not followed
		Answer: []dns.RR{
			dnDNAME,
			test.CNAME("www.dn.example.org. 3600 IN CNAME www.dtarget.example.org."),
		},
	},
	{
		Qname: "dn.example.org.", Qtype: dns.TypeDNAME, Authoritative: true, // the owner is not redirected
		Answer: []dns.RR{dnDNAME},
	},
	{
		Qname: "dn.example.org.", Qtype: dns.TypeA, Authoritative: true,
		Ns: []dns.RR{soaNeg},
	},
	{
		Qname: "short.yx.example.org.", Qtype: dns.TypeA, Authoritative: true,
		Answer: []dns.RR{
			yxDNAME,
			test.CNAME("short.yx.example.org. 3600 IN CNAME short." + yxTarget),
		},
	},
	{
		Qname: strings.Repeat("x", 50) + ".yx.example.org.", Qtype: dns.TypeA, Rcode: dns.RcodeYXDomain, Authoritative: true,
		Answer: []dns.RR{yxDNAME},
	},
	// ANY over UDP: one RRset, the lowest type.
	{
		Qname: "www.example.org.", Qtype: dns.TypeANY, Authoritative: true,
		Answer: []dns.RR{wwwA},
	},
	{
		Qname: "www.example.org.", Qtype: dns.TypeANY, Do: true, Authoritative: true,
		Answer: []dns.RR{wwwA, wwwSig},
	},
	{
		Qname: "example.org.", Qtype: dns.TypeANY, Authoritative: true,
		Answer: []dns.RR{test.A("example.org. 3600 IN A 192.0.2.1")},
	},
	{
		Qname: "ent.example.org.", Qtype: dns.TypeANY, Authoritative: true,
		Ns: []dns.RR{soaNeg},
	},
}

// tcpCases go over TCP, which only changes ANY.
var tcpCases = []test.Case{
	{
		Qname: "www.example.org.", Qtype: dns.TypeANY, Authoritative: true,
		Answer: []dns.RR{wwwA, wwwTXT},
	},
	{
		Qname: "www.example.org.", Qtype: dns.TypeANY, Do: true, Authoritative: true,
		Answer: []dns.RR{wwwA, wwwSig, wwwTXT},
	},
	{
		Qname: "example.org.", Qtype: dns.TypeANY, Authoritative: true,
		Answer: join(apexNS, []dns.RR{
			test.SOA("example.org. 3600 IN SOA ns1.example.org. hostmaster.example.org. 2024010101 7200 3600 1209600 300"),
			test.MX("example.org. 3600 IN MX 10 mail.example.org."),
			test.MX("example.org. 3600 IN MX 20 mail.example.net."),
			test.A("example.org. 3600 IN A 192.0.2.1"),
		}),
	},
	{
		Qname: "x.wild.example.org.", Qtype: dns.TypeANY, Authoritative: true,
		Answer: []dns.RR{
			test.TXT(`x.wild.example.org. 3600 IN TXT "wildcard"`),
			test.MX("x.wild.example.org. 3600 IN MX 10 mail.example.org."),
		},
	},
	{
		Qname: "sub.example.org.", Qtype: dns.TypeANY,
		Ns: subNS, Extra: subGlue,
	},
	{
		Qname: "www.example.org.", Qtype: dns.TypeA, Authoritative: true,
		Answer: []dns.RR{wwwA},
	},
}

func TestLookup(t *testing.T) {
	z := testZone(t)
	for _, tc := range lookupCases {
		t.Run(caseName(tc), func(t *testing.T) { check(t, z, tc, false) })
	}
}

func TestLookupTCP(t *testing.T) {
	z := testZone(t)
	for _, tc := range tcpCases {
		t.Run(caseName(tc), func(t *testing.T) { check(t, z, tc, true) })
	}
}

// TestLookupNoMutation makes sure answering, wildcards in particular, leaves
// the zone as it was.
func TestLookupNoMutation(t *testing.T) {
	z := testZone(t)
	before := dump(z)
	for _, tc := range slices.Concat(lookupCases, tcpCases) {
		for _, tcp := range []bool{false, true} {
			z.Lookup(Request{Name: tc.Qname, Type: tc.Qtype, DO: tc.Do, TCP: tcp})
		}
	}
	if after := dump(z); after != before {
		t.Errorf("zone changed by lookups:\nbefore:%s\nafter:%s", before, after)
	}
}

// TestLookupConcurrent runs all cases from many goroutines; with -race it
// proves queries need no locks.
func TestLookupConcurrent(t *testing.T) {
	z := testZone(t)
	done := make(chan struct{})
	for range 8 {
		go func() {
			defer func() { done <- struct{}{} }()
			for range 20 {
				for _, tc := range lookupCases {
					z.Lookup(Request{Name: tc.Qname, Type: tc.Qtype, DO: tc.Do})
				}
			}
		}()
	}
	for range 8 {
		<-done
	}
}

func TestLookupBadName(t *testing.T) {
	z := testZone(t)
	for _, tc := range []struct {
		name  string
		rcode int
	}{
		{"www.example.com.", dns.RcodeRefused},
		{"org.", dns.RcodeRefused},
		{".", dns.RcodeRefused},
		{"www.example.org", dns.RcodeFormatError}, // not fully qualified
		{"", dns.RcodeFormatError},
		{"a..example.org.", dns.RcodeFormatError},
		{strings.Repeat("a", 64) + ".example.org.", dns.RcodeFormatError},
	} {
		res := z.Lookup(Request{Name: tc.name, Type: dns.TypeA})
		if res.Rcode != tc.rcode || res.Authoritative || len(res.Answer)+len(res.Ns)+len(res.Extra) > 0 {
			t.Errorf("Lookup(%q) = %+v, want empty %s", tc.name, res, dns.RcodeToString[tc.rcode])
		}
	}
}

// TestLookupRootZone checks the corner where the origin is the root and
// keys are empty.
func TestLookupRootZone(t *testing.T) {
	z := build(t, ".", `
.       86400 IN SOA a.root-servers.net. nstld.verisign-grs.com. 2024010101 1800 900 604800 86400
.       518400 IN NS a.root-servers.net.
org.    172800 IN NS a0.org.afilias-nst.info.
`)
	check(t, z, test.Case{
		Qname: "www.example.org.", Qtype: dns.TypeA,
		Ns: []dns.RR{test.NS("org. 172800 IN NS a0.org.afilias-nst.info.")},
	}, false)
	check(t, z, test.Case{
		Qname: "nothere.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Authoritative: true,
		Ns: []dns.RR{test.SOA(". 86400 IN SOA a.root-servers.net. nstld.verisign-grs.com. 2024010101 1800 900 604800 86400")},
	}, false)
}

// TestLookupCNAMELimit follows a chain longer than maxChain.
func TestLookupCNAMELimit(t *testing.T) {
	var b strings.Builder
	b.WriteString("@ IN SOA ns hostmaster 1 2 3 4 5\n")
	for i := range 20 {
		fmt.Fprintf(&b, "c%d IN CNAME c%d\n", i, i+1)
	}
	b.WriteString("c20 IN A 192.0.2.1\n")
	z := build(t, testOrigin, b.String())
	res := z.Lookup(Request{Name: "c0.example.org.", Type: dns.TypeA})
	if len(res.Answer) != maxChain+1 || res.Rcode != dns.RcodeSuccess || !res.Authoritative {
		t.Errorf("got %d answers, rcode %d, want %d CNAMEs and NOERROR", len(res.Answer), res.Rcode, maxChain+1)
	}
	res = z.Lookup(Request{Name: "c10.example.org.", Type: dns.TypeA})
	if len(res.Answer) != 11 {
		t.Errorf("got %d answers, want 10 CNAMEs and an A", len(res.Answer))
	}
}

// TestLookupDNAMEApex: a DNAME at the apex redirects every name below it.
func TestLookupDNAMEApex(t *testing.T) {
	z := build(t, "old.example.", `
@ 300 IN SOA ns.new.example. hostmaster.new.example. 1 2 3 4 5
@ 300 IN NS ns.new.example.
@ 300 IN DNAME new.example.
`)
	check(t, z, test.Case{
		Qname: "www.old.example.", Qtype: dns.TypeA, Authoritative: true,
		Answer: []dns.RR{
			test.DNAME("old.example. 300 IN DNAME new.example."),
			test.CNAME("www.old.example. 300 IN CNAME www.new.example."),
		},
	}, false)
	check(t, z, test.Case{
		Qname: "old.example.", Qtype: dns.TypeNS, Authoritative: true,
		Answer: []dns.RR{test.NS("old.example. 300 IN NS ns.new.example.")},
	}, false)
}

// TestLookupWildcardCut: NS at a wildcard make it a cut, and a name it
// matches gets a referral as if the cut were at that name.
func TestLookupWildcardCut(t *testing.T) {
	z := build(t, testOrigin, soaLine+"*.w IN NS ns.example.net.\n*.w IN DS 1 13 2 00\n")
	check(t, z, test.Case{
		Qname: "a.w.example.org.", Qtype: dns.TypeA,
		Ns: []dns.RR{test.NS("a.w.example.org. 3600 IN NS ns.example.net.")},
	}, false)
	check(t, z, test.Case{
		Qname: "a.w.example.org.", Qtype: dns.TypeDS, Authoritative: true,
		Answer: []dns.RR{test.DS("a.w.example.org. 3600 IN DS 1 13 2 00")},
	}, false)
}

func dump(z *Zone) string {
	var b strings.Builder
	z.Walk(func(rrs []dns.RR) bool {
		for _, rr := range rrs {
			b.WriteString(rr.String() + "\n")
		}
		return true
	})
	return b.String()
}
