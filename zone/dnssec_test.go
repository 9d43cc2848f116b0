package zone

import (
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/coredns/coredns/plugin/test"
	"github.com/miekg/dns"
)

// The fixtures in testdata/signed are testdata/signed/dnssec.test.zone
// signed by BIND's dnssec-signzone (see gen.sh): with NSEC, with NSEC3 (salt
// abcd, 5 iterations) and with NSEC3 opt-out (salt abcd, no iterations).
const signedOrigin = "dnssec.test."

// fixture is a signed zone and the RRs it was built from, so that a test
// can name the RRs it expects rather than spell out their signatures.
type fixture struct {
	t     *testing.T
	z     *Zone
	rrs   []dns.RR
	param *dns.NSEC3PARAM
	n3    []string // NSEC3 owner hashes, lower case, sorted
}

func loadSigned(t *testing.T, file string) *fixture {
	t.Helper()
	text, err := os.ReadFile("testdata/signed/" + file)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, rrs: parse(t, signedOrigin, string(text))}
	// Build from copies: the zone owns its RRs and may change their TTLs.
	b := NewBuilder(signedOrigin, DefaultLimits())
	for _, rr := range f.rrs {
		if err := b.Add(dns.Copy(rr)); err != nil {
			t.Fatal(err)
		}
		switch x := rr.(type) {
		case *dns.NSEC3PARAM:
			f.param = x
		case *dns.NSEC3:
			f.n3 = append(f.n3, strings.ToLower(strings.SplitN(x.Hdr.Name, ".", 2)[0]))
		}
	}
	if f.z, err = b.Zone(); err != nil {
		t.Fatal(err)
	}
	sort.Strings(f.n3)
	return f
}

// fq makes a name relative to the origin absolute; "@" is the origin.
func fq(name string) string {
	if name == "@" {
		return signedOrigin
	}
	return name + "." + signedOrigin
}

// set returns the RRs of type qtype at name (relative), sigs the RRSIGs
// covering them, signed both.
func (f *fixture) set(name string, qtype uint16) []dns.RR {
	var out []dns.RR
	for _, rr := range f.rrs {
		if equalName(rr.Header().Name, fq(name)) && rr.Header().Rrtype == qtype {
			out = append(out, rr)
		}
	}
	if len(out) == 0 {
		f.t.Fatalf("fixture has no %s %s", fq(name), dns.TypeToString[qtype])
	}
	return out
}

func (f *fixture) sigs(name string, covered uint16) []dns.RR {
	var out []dns.RR
	for _, rr := range f.rrs {
		if s, ok := rr.(*dns.RRSIG); ok && equalName(s.Hdr.Name, fq(name)) && s.TypeCovered == covered {
			out = append(out, rr)
		}
	}
	if len(out) == 0 {
		f.t.Fatalf("fixture has no RRSIG %s at %s", dns.TypeToString[covered], fq(name))
	}
	return out
}

func (f *fixture) signed(name string, qtype uint16) []dns.RR {
	return join(f.set(name, qtype), f.sigs(name, qtype))
}

// synth is the signed RRset of the wildcard wild as synthesized for qname.
func (f *fixture) synth(qname, wild string, qtype uint16) []dns.RR {
	out := synthesize(f.signed(wild, qtype), fq(qname))
	return out
}

// neg is the SOA of negative answers and its RRSIG, with the SOA MINIMUM as
// TTL.
func (f *fixture) neg() []dns.RR {
	out := synthesize(f.signed("@", dns.TypeSOA), signedOrigin)
	for _, rr := range out {
		rr.Header().Ttl = 300
	}
	return out
}

// nsec is the NSEC at name with its RRSIG.
func (f *fixture) nsec(name string) []dns.RR { return f.signed(name, dns.TypeNSEC) }

func (f *fixture) hash(name string) string {
	return strings.ToLower(dns.HashName(fq(name), dns.SHA1, f.param.Iterations, f.param.Salt))
}

// n3match is the NSEC3 whose owner is the hash of name, with its RRSIG.
func (f *fixture) n3match(name string) []dns.RR {
	h := f.hash(name)
	if _, ok := slices.BinarySearch(f.n3, h); !ok {
		f.t.Fatalf("no NSEC3 matches %s (%s)", fq(name), h)
	}
	return f.signed(h, dns.TypeNSEC3)
}

// n3cover is the NSEC3 covering the hash of name: the one with the
// greatest hash below it, or the last one (whose next hash wraps around).
func (f *fixture) n3cover(name string) []dns.RR {
	h := f.hash(name)
	i, ok := slices.BinarySearch(f.n3, h)
	if ok {
		f.t.Fatalf("%s (%s) has an NSEC3, nothing covers it", fq(name), h)
	}
	if i == 0 {
		i = len(f.n3)
	}
	return f.signed(f.n3[i-1], dns.TypeNSEC3)
}

// dcase is one query against a fixture and the whole response expected.
type dcase struct {
	tcp bool
	test.Case
}

func q(name string, qtype uint16, do bool) test.Case {
	return test.Case{Qname: fq(name), Qtype: qtype, Do: do, Authoritative: true}
}

// commonCases hold for every fixture: answers that need no denial.
func commonCases(f *fixture) []dcase {
	c := func(tc test.Case, answer, ns, extra []dns.RR) dcase {
		tc.Answer, tc.Ns, tc.Extra = answer, ns, extra
		return dcase{Case: tc}
	}
	secureRef := test.Case{Qname: fq("secure"), Qtype: dns.TypeA, Do: true}
	return []dcase{
		c(q("www", dns.TypeA, true), f.signed("www", dns.TypeA), nil, nil),
		c(q("www", dns.TypeA, false), f.set("www", dns.TypeA), nil, nil),
		c(q("WWW", dns.TypeAAAA, true), f.signed("www", dns.TypeAAAA), nil, nil),
		c(q("@", dns.TypeMX, true), f.signed("@", dns.TypeMX), nil, f.signed("mail", dns.TypeA)),
		c(q("@", dns.TypeNS, true), f.signed("@", dns.TypeNS), nil, f.signed("ns1", dns.TypeA)),
		c(q("@", dns.TypeDNSKEY, true), f.signed("@", dns.TypeDNSKEY), nil, nil),
		c(q("@", dns.TypeDNSKEY, false), f.set("@", dns.TypeDNSKEY), nil, nil),
		// A CNAME and a DNAME: every RRset signed, the synthesized CNAME not.
		c(q("cname", dns.TypeA, true), join(f.signed("cname", dns.TypeCNAME), f.signed("www", dns.TypeA)), nil, nil),
		c(q("cname", dns.TypeA, false), join(f.set("cname", dns.TypeCNAME), f.set("www", dns.TypeA)), nil, nil),
		c(q("www.dn", dns.TypeA, true), join(f.signed("dn", dns.TypeDNAME),
			[]dns.RR{test.CNAME("www.dn.dnssec.test. 3600 IN CNAME www.dtarget.dnssec.test.")},
			f.signed("www.dtarget", dns.TypeA)), nil, nil),
		// Signed delegation: DS and its RRSIG with the NS (RFC 4035 3.1.4).
		c(secureRef, nil, join(f.set("secure", dns.TypeNS), f.signed("secure", dns.TypeDS)), f.set("ns.secure", dns.TypeA)),
		c(test.Case{Qname: fq("host.secure"), Qtype: dns.TypeA, Do: true}, nil,
			join(f.set("secure", dns.TypeNS), f.signed("secure", dns.TypeDS)), f.set("ns.secure", dns.TypeA)),
		c(test.Case{Qname: fq("ns.secure"), Qtype: dns.TypeA, Do: true}, nil,
			join(f.set("secure", dns.TypeNS), f.signed("secure", dns.TypeDS)), f.set("ns.secure", dns.TypeA)),
		c(test.Case{Qname: fq("secure"), Qtype: dns.TypeA}, nil, f.set("secure", dns.TypeNS), f.set("ns.secure", dns.TypeA)),
		c(test.Case{Qname: fq("insecure"), Qtype: dns.TypeA}, nil, f.set("insecure", dns.TypeNS), f.set("ns.insecure", dns.TypeA)),
		c(q("secure", dns.TypeDS, true), f.signed("secure", dns.TypeDS), nil, nil),
		c(q("secure", dns.TypeDS, false), f.set("secure", dns.TypeDS), nil, nil),
		// Without DO nothing DNSSEC is added, unless asked for by type.
		c(func() test.Case { tc := q("nothere", dns.TypeA, false); tc.Rcode = dns.RcodeNameError; return tc }(), nil, f.neg()[:1], nil),
		c(q("www", dns.TypeTXT, false), nil, f.neg()[:1], nil),
		c(q("ent", dns.TypeA, false), nil, f.neg()[:1], nil),
		c(q("foo.wild", dns.TypeTXT, false), f.synth("foo.wild", "*.wild", dns.TypeTXT)[:1], nil, nil),
		c(q("foo.wc", dns.TypeA, false), join(f.synth("foo.wc", "*.wc", dns.TypeCNAME)[:1], f.set("www", dns.TypeA)), nil, nil),
		c(q("www", dns.TypeRRSIG, false), join(f.sigs("www", dns.TypeA), f.sigs("www", dns.TypeAAAA), wwwDenialSig(f)), nil, nil),
	}
}

// wwwDenialSig is the RRSIG of www's NSEC, or nothing with NSEC3.
func wwwDenialSig(f *fixture) []dns.RR {
	if f.z.Denial() == DenialNSEC {
		return f.sigs("www", dns.TypeNSEC)
	}
	return nil
}

// nsecCases: RFC 4035 3.1.3 and 3.1.4.1 with the NSEC chain of nsec.zone:
// @ cname cnx dn www.dtarget a.ent insecure mail ns1 x.optent secure *.wc
// *.wild www (and back to @).
func nsecCases(f *fixture) []dcase {
	neg := f.neg()
	c := func(tc test.Case, answer, ns, extra []dns.RR) dcase {
		tc.Answer, tc.Ns, tc.Extra = answer, ns, extra
		return dcase{Case: tc}
	}
	nx := func(tc test.Case) test.Case { tc.Rcode = dns.RcodeNameError; return tc }
	ref := func(name string, qtype uint16) test.Case { return test.Case{Qname: fq(name), Qtype: qtype, Do: true} }
	return []dcase{
		// NXDOMAIN: the NSEC covering the name (mail -> ns1), the one
		// covering *.dnssec.test. (@ -> cname).
		c(nx(q("nothere", dns.TypeA, true)), nil, join(neg, f.nsec("mail"), f.nsec("@")), nil),
		c(nx(q("a.b.nothere", dns.TypeA, true)), nil, join(neg, f.nsec("mail"), f.nsec("@")), nil),
		c(nx(q("zzz", dns.TypeA, true)), nil, join(neg, f.nsec("www"), f.nsec("@")), nil),
		// Below an empty non-terminal: x.ent is covered by a.ent -> insecure,
		// *.ent by www.dtarget -> a.ent, the NSEC before ent.
		c(nx(q("x.ent", dns.TypeA, true)), nil, join(neg, f.nsec("a.ent"), f.nsec("www.dtarget")), nil),
		// Through a CNAME (RFC 6604).
		c(nx(q("cnx", dns.TypeA, true)), f.signed("cnx", dns.TypeCNAME), join(neg, f.nsec("mail"), f.nsec("@")), nil),
		// NODATA: the NSEC at the name; at an empty non-terminal the one
		// covering it.
		c(q("www", dns.TypeTXT, true), nil, join(neg, f.nsec("www")), nil),
		c(q("@", dns.TypeAAAA, true), nil, join(neg, f.nsec("@")), nil),
		c(q("ent", dns.TypeA, true), nil, join(neg, f.nsec("www.dtarget")), nil),
		c(q("optent", dns.TypeA, true), nil, join(neg, f.nsec("ns1")), nil),
		c(q("wc", dns.TypeA, true), nil, join(neg, f.nsec("secure")), nil),
		c(q("cname", dns.TypeA, true), join(f.signed("cname", dns.TypeCNAME), f.signed("www", dns.TypeA)), nil, nil),
		c(q("www.dn", dns.TypeAAAA, true), join(f.signed("dn", dns.TypeDNAME),
			[]dns.RR{test.CNAME("www.dn.dnssec.test. 3600 IN CNAME www.dtarget.dnssec.test.")}),
			join(neg, f.nsec("www.dtarget")), nil),
		// Wildcards: the expansion (RRSIG labels 2) and the NSEC covering
		// the name (*.wild -> www); for NODATA also the NSEC at the
		// wildcard, here the same one.
		c(q("foo.wild", dns.TypeTXT, true), f.synth("foo.wild", "*.wild", dns.TypeTXT), f.nsec("*.wild"), nil),
		c(q("a.b.wild", dns.TypeA, true), f.synth("a.b.wild", "*.wild", dns.TypeA), f.nsec("*.wild"), nil),
		c(q("foo.wild", dns.TypeAAAA, true), nil, join(neg, f.nsec("*.wild")), nil),
		c(q("foo.wild", dns.TypeANY, true), f.synth("foo.wild", "*.wild", dns.TypeA), f.nsec("*.wild"), nil),
		// A wildcard CNAME: its proof stays with the rest of the chain.
		c(q("foo.wc", dns.TypeA, true), join(f.synth("foo.wc", "*.wc", dns.TypeCNAME), f.signed("www", dns.TypeA)), f.nsec("*.wc"), nil),
		c(q("foo.wc", dns.TypeTXT, true), f.synth("foo.wc", "*.wc", dns.TypeCNAME), join(neg, f.nsec("www"), f.nsec("*.wc")), nil),
		// The wildcard itself is an ordinary name.
		c(q("*.wild", dns.TypeTXT, true), f.signed("*.wild", dns.TypeTXT), nil, nil),
		// Unsigned delegations: the NSEC at the cut (NS, no DS).
		c(ref("insecure", dns.TypeA), nil, join(f.set("insecure", dns.TypeNS), f.nsec("insecure")), f.set("ns.insecure", dns.TypeA)),
		c(ref("a.b.insecure", dns.TypeMX), nil, join(f.set("insecure", dns.TypeNS), f.nsec("insecure")), f.set("ns.insecure", dns.TypeA)),
		c(ref("x.optent", dns.TypeA), nil, join(f.set("x.optent", dns.TypeNS), f.nsec("x.optent")), nil),
		// DS at a cut without one: NODATA from the parent side.
		c(q("insecure", dns.TypeDS, true), nil, join(neg, f.nsec("insecure")), nil),
		c(q("x.optent", dns.TypeDS, true), nil, join(neg, f.nsec("x.optent")), nil),
		// By type, the chain is data.
		c(q("www", dns.TypeNSEC, false), f.set("www", dns.TypeNSEC), nil, nil),
		c(q("www", dns.TypeNSEC, true), f.nsec("www"), nil, nil),
		c(q("www", dns.TypeRRSIG, true), join(f.sigs("www", dns.TypeA), f.sigs("www", dns.TypeAAAA), f.sigs("www", dns.TypeNSEC)), nil, nil),
		// ANY over TCP: everything with DO, no DNSSEC records without.
		{tcp: true, Case: func() test.Case {
			tc := q("www", dns.TypeANY, false)
			tc.Answer = join(f.set("www", dns.TypeA), f.set("www", dns.TypeAAAA))
			return tc
		}()},
		{tcp: true, Case: func() test.Case {
			tc := q("www", dns.TypeANY, true)
			tc.Answer = join(f.signed("www", dns.TypeA), f.signed("www", dns.TypeAAAA), f.nsec("www"))
			return tc
		}()},
		{tcp: true, Case: func() test.Case {
			tc := q("foo.wild", dns.TypeANY, true)
			tc.Answer = join(f.synth("foo.wild", "*.wild", dns.TypeA), f.synth("foo.wild", "*.wild", dns.TypeTXT))
			tc.Ns = f.nsec("*.wild")
			return tc
		}()},
	}
}

// nsec3Cases: RFC 5155 7.2 with nsec3.zone, where every name, empty
// non-terminals and unsigned delegations included, has an NSEC3.
func nsec3Cases(f *fixture) []dcase {
	neg := f.neg()
	c := func(tc test.Case, answer, ns, extra []dns.RR) dcase {
		tc.Answer, tc.Ns, tc.Extra = answer, ns, extra
		return dcase{Case: tc}
	}
	nx := func(tc test.Case) test.Case { tc.Rcode = dns.RcodeNameError; return tc }
	ref := func(name string, qtype uint16) test.Case { return test.Case{Qname: fq(name), Qtype: qtype, Do: true} }
	// The closest encloser proof of NXDOMAIN for a name below ce: the NSEC3
	// matching ce, those covering the next closer name and *.ce.
	nxproof := func(ce, nc string) []dns.RR {
		wild := "*." + ce
		if ce == "@" {
			wild = "*"
		}
		return dedupe(join(f.n3match(ce), f.n3cover(nc), f.n3cover(wild)))
	}
	return []dcase{
		c(nx(q("nothere", dns.TypeA, true)), nil, join(neg, nxproof("@", "nothere")), nil),
		c(nx(q("a.b.nothere", dns.TypeA, true)), nil, join(neg, nxproof("@", "nothere")), nil),
		c(nx(q("x.ent", dns.TypeA, true)), nil, join(neg, nxproof("ent", "x.ent")), nil),
		c(nx(q("x.y.www", dns.TypeA, true)), nil, join(neg, nxproof("www", "y.www")), nil),
		c(nx(q("cnx", dns.TypeA, true)), f.signed("cnx", dns.TypeCNAME), join(neg, nxproof("@", "nothere")), nil),
		// NODATA: the NSEC3 matching the name, empty non-terminals included.
		c(q("www", dns.TypeTXT, true), nil, join(neg, f.n3match("www")), nil),
		c(q("@", dns.TypeAAAA, true), nil, join(neg, f.n3match("@")), nil),
		c(q("ent", dns.TypeA, true), nil, join(neg, f.n3match("ent")), nil),
		c(q("optent", dns.TypeA, true), nil, join(neg, f.n3match("optent")), nil),
		// Wildcard answers: the NSEC3 covering the next closer name; for
		// NODATA the closest encloser proof and the NSEC3 of the wildcard.
		c(q("foo.wild", dns.TypeTXT, true), f.synth("foo.wild", "*.wild", dns.TypeTXT), f.n3cover("foo.wild"), nil),
		c(q("a.b.wild", dns.TypeA, true), f.synth("a.b.wild", "*.wild", dns.TypeA), f.n3cover("b.wild"), nil),
		c(q("foo.wild", dns.TypeAAAA, true), nil,
			join(neg, dedupe(join(f.n3match("wild"), f.n3cover("foo.wild"), f.n3match("*.wild")))), nil),
		c(q("foo.wc", dns.TypeA, true), join(f.synth("foo.wc", "*.wc", dns.TypeCNAME), f.signed("www", dns.TypeA)), f.n3cover("foo.wc"), nil),
		c(q("foo.wc", dns.TypeTXT, true), f.synth("foo.wc", "*.wc", dns.TypeCNAME), join(neg, f.n3match("www"), f.n3cover("foo.wc")), nil),
		// Unsigned delegations: the NSEC3 matching the cut.
		c(ref("insecure", dns.TypeA), nil, join(f.set("insecure", dns.TypeNS), f.n3match("insecure")), f.set("ns.insecure", dns.TypeA)),
		c(ref("a.b.insecure", dns.TypeA), nil, join(f.set("insecure", dns.TypeNS), f.n3match("insecure")), f.set("ns.insecure", dns.TypeA)),
		c(ref("x.optent", dns.TypeA), nil, join(f.set("x.optent", dns.TypeNS), f.n3match("x.optent")), nil),
		c(q("insecure", dns.TypeDS, true), nil, join(neg, f.n3match("insecure")), nil),
		// By type.
		c(q("@", dns.TypeNSEC3PARAM, true), f.signed("@", dns.TypeNSEC3PARAM), nil, nil),
		c(q("www", dns.TypeNSEC, true), nil, join(neg, f.n3match("www")), nil),
		// NSEC3 owner names do not exist (RFC 5155 7.2.8), whatever the type.
		c(nx(q(f.hash("www"), dns.TypeNSEC3, false)), nil, neg[:1], nil),
		c(nx(q(f.hash("www"), dns.TypeNSEC3, true)), nil, join(neg, nxproof("@", f.hash("www"))), nil),
		c(nx(q(f.hash("www"), dns.TypeA, true)), nil, join(neg, nxproof("@", f.hash("www"))), nil),
		c(nx(q("x."+f.hash("www"), dns.TypeA, true)), nil, join(neg, nxproof("@", f.hash("www"))), nil),
	}
}

// optoutCases: nsec3-optout.zone has no NSEC3 for the unsigned delegations
// insecure and x.optent, nor for optent, the empty non-terminal above x.optent.
func optoutCases(f *fixture) []dcase {
	neg := f.neg()
	c := func(tc test.Case, answer, ns, extra []dns.RR) dcase {
		tc.Answer, tc.Ns, tc.Extra = answer, ns, extra
		return dcase{Case: tc}
	}
	nx := func(tc test.Case) test.Case { tc.Rcode = dns.RcodeNameError; return tc }
	ref := func(name string, qtype uint16) test.Case { return test.Case{Qname: fq(name), Qtype: qtype, Do: true} }
	return []dcase{
		c(nx(q("nothere", dns.TypeA, true)), nil,
			join(neg, dedupe(join(f.n3match("@"), f.n3cover("nothere"), f.n3cover("*")))), nil),
		c(q("ent", dns.TypeA, true), nil, join(neg, f.n3match("ent")), nil),
		// Opt-out (RFC 5155 7.2.7, 7.2.4): the closest provable encloser
		// and the opt-out NSEC3 covering the next closer name.
		c(ref("insecure", dns.TypeA), nil, join(f.set("insecure", dns.TypeNS), f.n3match("@"), f.n3cover("insecure")), f.set("ns.insecure", dns.TypeA)),
		c(ref("a.b.insecure", dns.TypeA), nil, join(f.set("insecure", dns.TypeNS), f.n3match("@"), f.n3cover("insecure")), f.set("ns.insecure", dns.TypeA)),
		c(ref("x.optent", dns.TypeA), nil, join(f.set("x.optent", dns.TypeNS), f.n3match("@"), f.n3cover("optent")), nil),
		c(q("insecure", dns.TypeDS, true), nil, join(neg, f.n3match("@"), f.n3cover("insecure")), nil),
		c(q("x.optent", dns.TypeDS, true), nil, join(neg, f.n3match("@"), f.n3cover("optent")), nil),
		c(q("optent", dns.TypeA, true), nil, join(neg, f.n3match("@"), f.n3cover("optent")), nil),
		c(q("ns1", dns.TypeAAAA, true), nil, join(neg, f.n3match("ns1")), nil),
		c(q("foo.wild", dns.TypeTXT, true), f.synth("foo.wild", "*.wild", dns.TypeTXT), f.n3cover("foo.wild"), nil),
	}
}

// dedupe drops repeated RRs, as a response holds each proof once.
func dedupe(rrs []dns.RR) []dns.RR {
	var out []dns.RR
	for _, rr := range rrs {
		if !slices.ContainsFunc(out, func(x dns.RR) bool { return x.String() == rr.String() }) {
			out = append(out, rr)
		}
	}
	return out
}

func TestLookupDNSSEC(t *testing.T) {
	for _, tc := range []struct {
		file   string
		denial string
		cases  func(*fixture) []dcase
	}{
		{"nsec.zone", DenialNSEC, nsecCases},
		{"nsec3.zone", DenialNSEC3, nsec3Cases},
		{"nsec3-optout.zone", DenialNSEC3, optoutCases},
	} {
		t.Run(tc.file, func(t *testing.T) {
			f := loadSigned(t, tc.file)
			if !f.z.Signed() || f.z.Denial() != tc.denial {
				t.Fatalf("Signed %t, Denial %q; want true, %q", f.z.Signed(), f.z.Denial(), tc.denial)
			}
			before := dump(f.z)
			cases := slices.Concat(commonCases(f), tc.cases(f))
			for _, dc := range cases {
				name := caseName(dc.Case)
				if dc.tcp {
					name += "/TCP"
				}
				t.Run(name, func(t *testing.T) {
					check(t, f.z, dc.Case, dc.tcp)
					req := Request{Name: dc.Qname, Type: dc.Qtype, DO: dc.Do, TCP: dc.tcp}
					if err := invariants(req, f.z.Lookup(req)); err != "" {
						t.Errorf("invariants: %s", err)
					}
				})
			}
			if dump(f.z) != before {
				t.Error("lookups changed the zone")
			}
		})
	}
}

// TestDenialKind: the zone kind is found at build.
func TestDenialKind(t *testing.T) {
	z := testZone(t) // RRSIGs but no DNSKEY, no chain
	if z.Signed() || z.Denial() != "" {
		t.Errorf("test zone: Signed %t, Denial %q", z.Signed(), z.Denial())
	}
	z = build(t, testOrigin, soaLine+"@ IN NSEC3PARAM 1 0 0 -\n")
	if z.Signed() || z.Denial() != "" {
		t.Errorf("NSEC3PARAM without chain: Signed %t, Denial %q", z.Signed(), z.Denial())
	}
	z = build(t, testOrigin, soaLine+"@ IN NSEC example.org. SOA NSEC\n")
	if z.Signed() || z.Denial() != DenialNSEC {
		t.Errorf("NSEC: Signed %t, Denial %q", z.Signed(), z.Denial())
	}
}

// TestNSEC3Hash holds the allocation-free hash to dns.HashName.
func TestNSEC3Hash(t *testing.T) {
	s := getScratch()
	defer putScratch(s)
	r := rand.New(rand.NewPCG(1, 2))
	names := []string{".", "example.org.", "WWW.Example.ORG.", `a\000b.example.`, `a\.x.example.`, "*.wild.example.org."}
	for range 200 {
		var b strings.Builder
		for range 1 + r.IntN(5) {
			for range 1 + r.IntN(10) {
				b.WriteByte("aZ09-_*"[r.IntN(7)])
			}
			b.WriteByte('.')
		}
		names = append(names, b.String())
	}
	// Escaped letters are letters: \065 is A, and hashes as a.
	c := &nsec3{}
	s.k.set(`\065.example.`)
	escaped := c.hash(s, false, s.k.wire[:s.k.wlen])
	if want := strings.ToLower(dns.HashName("a.example.", dns.SHA1, 0, "")) + "\x00"; escaped != want {
		t.Errorf(`hash(\065.example.) = %q, want %q`, escaped, want)
	}
	for i, name := range names {
		salt := []string{"", "ab", "ABCDEF0123", "00"}[i%4]
		c := &nsec3{iter: uint16(i % 7)}
		c.salt, _ = hex.DecodeString(salt)
		c.shex = salt
		if !s.k.set(name) {
			t.Fatalf("bad name %q", name)
		}
		want := strings.ToLower(dns.HashName(name, dns.SHA1, c.iter, salt)) + "\x00"
		if got := c.hash(s, false, s.k.wire[:s.k.wlen]); got != want {
			t.Errorf("hash(%q, %d, %q) = %q, want %q", name, c.iter, salt, got, want)
		}
		if name == "." {
			continue
		}
		want = strings.ToLower(dns.HashName("*."+name, dns.SHA1, c.iter, salt)) + "\x00"
		if got := c.hash(s, true, s.k.wire[:s.k.wlen]); got != want {
			t.Errorf("hash(*.%q) = %q, want %q", name, got, want)
		}
	}
}

// indexKeys lists the keys in z's NSEC3 index, and what a fresh build of
// the index from z's tree holds.
func indexKeys(z *Zone) (got, want []string) {
	if z.n3 == nil {
		return nil, nil
	}
	z.n3.index.ascend(nil, func(n *node) bool { got = append(got, n.key); return true })
	fresh := &nsec3{iter: z.n3.iter, salt: z.n3.salt, shex: z.n3.shex}
	fresh.build(z.tree)
	fresh.index.ascend(nil, func(n *node) bool { want = append(want, n.key); return true })
	return got, want
}

// TestApplyNSEC3: Apply keeps the NSEC3 index of each version right.
func TestApplyNSEC3(t *testing.T) {
	f := loadSigned(t, "nsec3.zone")
	old := f.z
	mail := f.hash("mail")
	var del []dns.RR
	for _, rr := range f.rrs {
		if strings.HasPrefix(strings.ToLower(rr.Header().Name), mail+".") {
			del = append(del, rr)
		}
	}
	if len(del) != 2 {
		t.Fatalf("mail's NSEC3 and RRSIG: %v", del)
	}
	soa := f.set("@", dns.TypeSOA)[0]
	soa2 := dns.Copy(soa).(*dns.SOA)
	soa2.Serial++
	z, err := old.Apply(append([]dns.RR{soa}, del...), []dns.RR{soa2})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := indexKeys(z); !slices.Equal(got, want) || len(got) != len(f.n3)-1 {
		t.Errorf("index after delete: %d keys, fresh build %d, want %d", len(got), len(want), len(f.n3)-1)
	}
	// Without its NSEC3, mail has no matching record: the closest encloser
	// proof (the NSEC3s of the apex and of the hash before mail's) is the
	// best there is. Ns[:2] are the SOA and its RRSIG.
	i, _ := slices.BinarySearch(f.n3, mail)
	want := join(f.n3match("@"), f.signed(f.n3[i-1], dns.TypeNSEC3))
	res := z.Lookup(Request{Name: "mail.dnssec.test.", Type: dns.TypeTXT, DO: true})
	if got := text(sorted(res.Ns[2:])); got != text(sorted(want)) || res.Ns[0].(*dns.SOA).Serial != soa2.Serial {
		t.Errorf("NODATA without NSEC3:%s\nwant:%s", text(res.Ns), text(want))
	}
	// The old version still has it.
	if res := old.Lookup(Request{Name: "mail.dnssec.test.", Type: dns.TypeTXT, DO: true}); text(sorted(res.Ns[2:])) != text(sorted(f.n3match("mail"))) {
		t.Errorf("old version lost mail's NSEC3:%s", text(res.Ns))
	}
	if got, want := indexKeys(old); !slices.Equal(got, want) || len(got) != len(f.n3) {
		t.Errorf("old index: %d keys, fresh build %d, want %d", len(got), len(want), len(f.n3))
	}

	// Put it back.
	z2, err := z.Apply([]dns.RR{soa2}, append([]dns.RR{soa}, copies(del)...))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := indexKeys(z2); !slices.Equal(got, want) || len(got) != len(f.n3) {
		t.Errorf("index after add: %d keys, fresh build %d, want %d", len(got), len(want), len(f.n3))
	}
	if res := z2.Lookup(Request{Name: "mail.dnssec.test.", Type: dns.TypeTXT, DO: true}); text(sorted(res.Ns[2:])) != text(sorted(f.n3match("mail"))) {
		t.Errorf("mail's NSEC3 not back:%s", text(res.Ns))
	}

	// A new salt (a new chain) rebuilds the index; no NSEC3PARAM, no chain.
	param := f.set("@", dns.TypeNSEC3PARAM)
	z3, err := z2.Apply(param, nil)
	if err != nil {
		t.Fatal(err)
	}
	if z3.Denial() != "" || !z3.Signed() {
		t.Errorf("without NSEC3PARAM: Denial %q, Signed %t", z3.Denial(), z3.Signed())
	}
	if res := z3.Lookup(Request{Name: "nothere.dnssec.test.", Type: dns.TypeA, DO: true}); len(res.Ns) != 2 {
		t.Errorf("NXDOMAIN without a chain:%s", text(res.Ns))
	}
	z4, err := z3.Apply(nil, copies(param))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := indexKeys(z4); z4.Denial() != DenialNSEC3 || !slices.Equal(got, want) || len(got) != len(f.n3) {
		t.Errorf("NSEC3PARAM back: Denial %q, %d keys, fresh build %d", z4.Denial(), len(got), len(want))
	}
	other := dns.Copy(param[0]).(*dns.NSEC3PARAM)
	other.Salt = "beef"
	z5, err := z4.Apply(param, []dns.RR{other})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := indexKeys(z5); len(got) != 0 || z5.Denial() != "" {
		t.Errorf("another salt: Denial %q, %d keys, want none", z5.Denial(), len(got))
	}
}

func copies(rrs []dns.RR) []dns.RR {
	out := make([]dns.RR, len(rrs))
	for i, rr := range rrs {
		out[i] = dns.Copy(rr)
	}
	return out
}

// TestNSECGlue: the NSEC covering a name that sorts after a cut's glue is
// the cut's, found without walking through the glue.
func TestNSECGlue(t *testing.T) {
	var b strings.Builder
	b.WriteString(soaLine + "@ IN NS ns1\n@ IN NSEC a.example.org. NS SOA NSEC\n")
	b.WriteString("a IN NS ns.a\na IN NSEC b.example.org. NS NSEC\n")
	for i := range 1000 {
		fmt.Fprintf(&b, "h%d.y.a IN A 192.0.2.1\n", i)
	}
	b.WriteString("b IN A 192.0.2.2\nb IN NSEC example.org. A NSEC\n")
	z := build(t, testOrigin, b.String())
	if z.Signed() || z.Denial() != DenialNSEC {
		t.Fatalf("Signed %t, Denial %q", z.Signed(), z.Denial())
	}
	soa := test.SOA("example.org. 300 IN SOA ns1.example.org. hostmaster.example.org. 1 7200 3600 1209600 300")
	nsecA := test.NSEC("a.example.org. 3600 IN NSEC b.example.org. NS NSEC")
	nsecApex := test.NSEC("example.org. 3600 IN NSEC a.example.org. NS SOA NSEC")
	check(t, z, test.Case{
		Qname: "az.example.org.", Qtype: dns.TypeA, Do: true, Rcode: dns.RcodeNameError, Authoritative: true,
		Ns: []dns.RR{soa, nsecA, nsecApex},
	}, false)
	check(t, z, test.Case{
		Qname: "b.example.org.", Qtype: dns.TypeTXT, Do: true, Authoritative: true,
		Ns: []dns.RR{soa, test.NSEC("b.example.org. 3600 IN NSEC example.org. A NSEC")},
	}, false)
	// Glue is not in the chain: a name below the cut gets a referral.
	check(t, z, test.Case{
		Qname: "h1.y.a.example.org.", Qtype: dns.TypeA, Do: true,
		Ns: []dns.RR{test.NS("a.example.org. 3600 IN NS ns.a.example.org."), nsecA},
	}, false)
}

// FuzzLookupSigned asks the signed fixtures random questions: Lookup must
// not panic, answers keep the shapes FuzzLookup checks, and with DO every
// NXDOMAIN and NODATA carries a proof.
func FuzzLookupSigned(f *testing.F) {
	var zones []*Zone
	for _, file := range []string{"nsec.zone", "nsec3.zone", "nsec3-optout.zone"} {
		text, err := os.ReadFile("testdata/signed/" + file)
		if err != nil {
			f.Fatal(err)
		}
		zones = append(zones, build(f, signedOrigin, string(text)))
	}
	for _, s := range []string{"", "www.", "nothere.", "a.b.nothere.", "x.ent.", "ent.", "optent.", "x.optent.", "foo.wild.",
		"*.wild.", "foo.wc.", "insecure.", "a.insecure.", "secure.", "www.dn.", "cnx.", `\042.wild.`, "A.B.C.D.E.F.",
		"vu0532eho6phupaibt5qqk9orm4kvtg3.", "x.vu0532eho6phupaibt5qqk9orm4kvtg3."} {
		for _, qt := range []uint16{dns.TypeA, dns.TypeDS, dns.TypeANY, dns.TypeNSEC3, dns.TypeRRSIG} {
			f.Add(s, qt, true, false)
		}
	}
	f.Fuzz(func(t *testing.T, prefix string, qtype uint16, do, tcp bool) {
		for _, z := range zones {
			req := Request{Name: prefix + signedOrigin, Type: qtype, DO: do, TCP: tcp}
			res := z.Lookup(req)
			if err := invariants(req, res); err != "" {
				t.Fatalf("%s %q %s DO=%t TCP=%t: %s", z.Denial(), req.Name, dns.TypeToString[qtype], do, tcp, err)
			}
			negative := res.Rcode == dns.RcodeNameError || res.Rcode == dns.RcodeSuccess && res.Authoritative && len(res.Answer) == 0
			if do && negative && !slices.ContainsFunc(res.Ns, isDenial) {
				t.Fatalf("%s %q %s: negative answer without proof: %v", z.Denial(), req.Name, dns.TypeToString[qtype], res.Ns)
			}
		}
	})
}

// TestNSEC3OwnerHidden: NSEC3 owner names are not in the name space
// (RFC 5155 7.2.8), so they block no wildcard, while the same name in an
// NSEC zone is an ordinary one.
func TestNSEC3OwnerHidden(t *testing.T) {
	apex := strings.ToLower(dns.HashName(testOrigin, dns.SHA1, 0, ""))
	wild := strings.ToLower(dns.HashName("*."+testOrigin, dns.SHA1, 0, ""))
	first, second := min(apex, wild), max(apex, wild)
	z := build(t, testOrigin, soaLine+`@ IN NSEC3PARAM 1 0 0 -
* IN TXT "wildcard"
`+first+` IN NSEC3 1 0 0 - `+second+` TXT
`+second+` IN NSEC3 1 0 0 - `+first+` SOA NSEC3PARAM
`)
	if z.Denial() != DenialNSEC3 {
		t.Fatalf("Denial %q", z.Denial())
	}
	for _, name := range []string{apex + "." + testOrigin, "x." + apex + "." + testOrigin} {
		check(t, z, test.Case{
			Qname: name, Qtype: dns.TypeTXT, Authoritative: true,
			Answer: []dns.RR{test.TXT(name + ` 3600 IN TXT "wildcard"`)},
		}, false)
	}
	z = build(t, testOrigin, soaLine+"@ IN NSEC example.org. SOA NSEC\n* IN TXT \"wildcard\"\n"+apex+" IN NSEC3 1 0 0 - "+apex+"\n")
	check(t, z, test.Case{
		Qname: apex + "." + testOrigin, Qtype: dns.TypeNSEC3, Authoritative: true,
		// The next owner comes back from the wire in the upper case of RFC 5155 3.3.
		Answer: []dns.RR{rr(apex + ".example.org. 3600 IN NSEC3 1 0 0 - " + strings.ToUpper(apex))},
	}, false)
}

// synthesize copies rrs with the owner name replaced, as a wildcard answer
// has them.
func synthesize(rrs []dns.RR, owner string) []dns.RR {
	out := make([]dns.RR, len(rrs))
	for i, rr := range rrs {
		c := dns.Copy(rr)
		c.Header().Name = owner
		out[i] = c
	}
	return out
}
