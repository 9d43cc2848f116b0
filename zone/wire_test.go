package zone

import (
	"fmt"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// referenceMsg is the response a server builds from Lookup, as the
// cfsecondary plugin does on its dns.Msg path: SetReply, the result's
// sections, and for EDNS an OPT echoing the payload size and DO bit.
func referenceMsg(z *Zone, q WireQuery) *dns.Msg {
	res := z.Lookup(Request{Name: q.Name, Type: q.Type, DO: q.DO, TCP: q.TCP})
	m := new(dns.Msg)
	m.Id = q.ID
	m.Response = true
	m.RecursionDesired, m.CheckingDisabled = q.RD, q.CD
	m.Authoritative = res.Authoritative
	m.Rcode = res.Rcode
	m.Question = []dns.Question{{Name: q.Name, Qtype: q.Type, Qclass: dns.ClassINET}}
	m.Answer, m.Ns, m.Extra = res.Answer, res.Ns, res.Extra
	if q.EDNS {
		opt := &dns.OPT{Hdr: dns.RR_Header{Name: ".", Rrtype: dns.TypeOPT}}
		opt.SetUDPSize(q.UDPSize)
		if q.DO {
			opt.SetDo()
		}
		m.Extra = append(m.Extra[:len(m.Extra):len(m.Extra)], opt)
	}
	return m
}

// compareWire checks AppendResponse against Lookup for q. It reports
// whether AppendResponse answered at all.
func compareWire(t testing.TB, z *Zone, q WireQuery) bool {
	t.Helper()
	msg, rcode, ok := z.AppendResponse(nil, q)
	if !ok {
		return false
	}
	got := new(dns.Msg)
	if err := got.Unpack(msg); err != nil {
		t.Fatalf("%+v: response does not unpack: %v", q, err)
	}
	want := referenceMsg(z, q)
	if got.Rcode != rcode {
		t.Errorf("%+v: rcode %d in the message, %d returned", q, got.Rcode, rcode)
	}
	// Owner names may differ in case: AppendResponse points at the question.
	if g, w := strings.ToLower(got.String()), strings.ToLower(want.String()); g != w {
		t.Errorf("%s %s DO=%t EDNS=%t TCP=%t:\n got: %s\nwant: %s", q.Name, dns.TypeToString[q.Type], q.DO, q.EDNS, q.TCP, g, w)
	}
	if len(msg) > 512 && !q.TCP && !(q.EDNS && len(msg) <= int(q.UDPSize)) {
		t.Errorf("%+v: %d octets over UDP", q, len(msg))
	}
	return true
}

// wireNames returns every owner name of z and names derived from them: one
// below (a wildcard's or a cut's business), one beside that does not exist,
// and one in upper case.
func wireNames(z *Zone) []string {
	var names []string
	z.Walk(func(rrs []dns.RR) bool {
		name := rrs[0].Header().Name
		names = append(names, name, "below."+name, "x-nothere."+name, strings.ToUpper(name))
		if strings.HasPrefix(name, "*.") {
			names = append(names, "Synth."+name[2:], "a.b."+name[2:])
		}
		return true
	})
	return append(names, "nothere."+z.Origin(), "a.b.c.d."+z.Origin())
}

var wireTypes = []uint16{
	dns.TypeA, dns.TypeAAAA, dns.TypeNS, dns.TypeMX, dns.TypeTXT, dns.TypeCNAME, dns.TypeSOA,
	dns.TypeDS, dns.TypeSRV, dns.TypeHTTPS, dns.TypeDNAME, dns.TypeNSEC, dns.TypeNSEC3, dns.TypePTR,
	dns.TypeDNSKEY, dns.TypeANY, dns.TypeRRSIG,
}

// TestAppendResponseMatchesLookup: every response AppendResponse writes is
// the one Lookup gives, for every name of the test zones (and names near
// them) and every type, with and without DO, EDNS and TCP.
func TestAppendResponseMatchesLookup(t *testing.T) {
	zones := map[string]*Zone{"example.org": testZone(t)}
	for _, file := range []string{"nsec.zone", "nsec3.zone", "nsec3-optout.zone"} {
		zones[file] = loadSigned(t, file).z
	}
	zones["root"] = build(t, ".", soaLine+"@ IN NS ns\nns IN A 192.0.2.1\nwww IN A 192.0.2.1\nsub IN NS ns.sub\nns.sub IN A 192.0.2.2\n*.w IN TXT x\nc IN CNAME www\n")
	for name, z := range zones {
		fast, all := 0, 0
		for _, qname := range wireNames(z) {
			for _, qtype := range wireTypes {
				for flags := range 8 {
					q := WireQuery{
						ID: uint16(all), RD: all%3 == 0, CD: all%5 == 0, Name: qname, Type: qtype,
						DO: flags&1 != 0, EDNS: flags&2 != 0, TCP: flags&4 != 0, UDPSize: 1232,
					}
					if q.DO && !q.EDNS {
						continue
					}
					all++
					if compareWire(t, z, q) {
						fast++
					}
				}
			}
		}
		t.Logf("%s: %d of %d queries answered by AppendResponse", name, fast, all)
		if fast < all/4 { // NSEC3 owners, ANY, RRSIG and proofs go to Lookup
			t.Errorf("%s: only %d of %d queries answered by AppendResponse", name, fast, all)
		}
	}
}

// TestAppendResponseTakes lists answers that must not need Lookup, and
// that must not allocate.
func TestAppendResponseTakes(t *testing.T) {
	z := testZone(t)
	signed := loadSigned(t, "nsec3.zone").z
	buf := make([]byte, 0, 4096)
	for _, tc := range []struct {
		z     *Zone
		name  string
		qtype uint16
		do    bool
		rcode int
	}{
		{z, "www.example.org.", dns.TypeA, false, dns.RcodeSuccess},
		{z, "WWW.Example.ORG.", dns.TypeA, false, dns.RcodeSuccess},
		{z, "example.org.", dns.TypeMX, false, dns.RcodeSuccess},
		{z, "example.org.", dns.TypeNS, false, dns.RcodeSuccess},
		{z, "nothere.example.org.", dns.TypeA, false, dns.RcodeNameError},
		{z, "www.example.org.", dns.TypeSRV, false, dns.RcodeSuccess},
		{z, "host.sub.example.org.", dns.TypeA, false, dns.RcodeSuccess},
		{z, "host.sub.example.org.", dns.TypeA, true, dns.RcodeSuccess},
		{z, "anything.wild.example.org.", dns.TypeTXT, false, dns.RcodeSuccess},
		{signed, "www.dnssec.test.", dns.TypeA, true, dns.RcodeSuccess},
		{signed, "www.dnssec.test.", dns.TypeA, false, dns.RcodeSuccess},
		{signed, "nothere.dnssec.test.", dns.TypeA, false, dns.RcodeNameError},
	} {
		q := WireQuery{Name: tc.name, Type: tc.qtype, DO: tc.do, EDNS: tc.do, UDPSize: 1232}
		if !compareWire(t, tc.z, q) {
			t.Errorf("%s %s DO=%t: not answered by AppendResponse", tc.name, dns.TypeToString[tc.qtype], tc.do)
			continue
		}
		if _, rcode, _ := tc.z.AppendResponse(buf, q); rcode != tc.rcode {
			t.Errorf("%s %s: rcode %d, want %d", tc.name, dns.TypeToString[tc.qtype], rcode, tc.rcode)
		}
		if n := testing.AllocsPerRun(100, func() { tc.z.AppendResponse(buf, q) }); n != 0 {
			t.Errorf("%s %s DO=%t: %.1f allocations, want none", tc.name, dns.TypeToString[tc.qtype], tc.do, n)
		}
	}
}

// TestAppendResponseChains: CNAME chains through the zone, loops and a
// chain longer than Lookup follows come out as Lookup has them.
func TestAppendResponseChains(t *testing.T) {
	var b strings.Builder
	b.WriteString(soaLine + "loop1 IN CNAME loop2\nloop2 IN CNAME LOOP1\nout IN CNAME www.example.net.\n")
	for i := range maxChain + 3 {
		fmt.Fprintf(&b, "c%d IN CNAME c%d\n", i, i+1)
	}
	b.WriteString("*.w IN CNAME c0\nend IN MX 10 mx\nmx IN A 192.0.2.1\nmx IN AAAA 2001:db8::1\nm2 IN CNAME end\n")
	z := build(t, testOrigin, b.String())
	for _, name := range []string{"loop1", "out", "c0", "c5", "x.w", "m2"} {
		for _, qtype := range []uint16{dns.TypeA, dns.TypeMX, dns.TypeCNAME} {
			// Over TCP: the longest chain does not fit 512 octets.
			q := WireQuery{Name: name + "." + testOrigin, Type: qtype, TCP: true}
			if !compareWire(t, z, q) {
				t.Errorf("%s %s: not answered by AppendResponse", q.Name, dns.TypeToString[qtype])
			}
		}
	}
}

// TestAppendResponseTruncation: an answer too big for the transport is
// left to Lookup's caller, which truncates it.
func TestAppendResponseTruncation(t *testing.T) {
	var b strings.Builder
	b.WriteString(soaLine)
	for i := range 60 {
		fmt.Fprintf(&b, "big IN TXT \"%s\"\n", strings.Repeat(string(rune('a'+i%26)), 40)+fmt.Sprint(i))
	}
	z := build(t, testOrigin, b.String())
	for _, tc := range []struct {
		q    WireQuery
		fast bool
	}{
		{WireQuery{Name: "big.example.org.", Type: dns.TypeTXT}, false},
		{WireQuery{Name: "big.example.org.", Type: dns.TypeTXT, EDNS: true, UDPSize: 1232}, false},
		{WireQuery{Name: "big.example.org.", Type: dns.TypeTXT, EDNS: true, UDPSize: 4096}, true},
		{WireQuery{Name: "big.example.org.", Type: dns.TypeTXT, TCP: true}, true},
	} {
		if got := compareWire(t, z, tc.q); got != tc.fast {
			t.Errorf("%+v: answered %t, want %t", tc.q, got, tc.fast)
		}
	}
}

// TestAppendResponseManyTargets: an RRset with more host names than
// AppendResponse notes for the additional section is left to Lookup, which
// adds the addresses of all of them; a DO referral does not carry the
// RRSIG of a DS that is not there.
func TestAppendResponseManyTargets(t *testing.T) {
	var b strings.Builder
	b.WriteString(soaLine)
	for i := range 16 {
		fmt.Fprintf(&b, "sub IN NS ns%d.example.net.\n", i)
	}
	b.WriteString("sub IN NS zz.sub\nzz.sub IN A 192.0.2.1\n")
	for i := range 20 {
		fmt.Fprintf(&b, "@ IN MX %d mx%d\nmx%d IN A 192.0.2.%d\n", i, i, i, i+10)
	}
	b.WriteString("orphan IN NS ns.example.net.\norphan IN RRSIG DS 13 3 3600 20300101000000 20200101000000 12345 example.org. ZHNzaWc=\n")
	z := build(t, testOrigin, b.String())
	for _, q := range []WireQuery{
		{Name: "www.sub.example.org.", Type: dns.TypeA, EDNS: true, UDPSize: 4096},
		{Name: "example.org.", Type: dns.TypeMX, TCP: true},
		{Name: "x.orphan.example.org.", Type: dns.TypeA, DO: true, EDNS: true, UDPSize: 1232},
	} {
		compareWire(t, z, q)
	}
}

// FuzzAppendResponse throws arbitrary names and types at both paths.
func FuzzAppendResponse(f *testing.F) {
	z := testZone(f)
	f.Add("www.example.org.", uint16(dns.TypeA), uint8(0))
	f.Add("a.b.wild.example.org.", uint16(dns.TypeTXT), uint8(3))
	f.Add("x.sub.example.org.", uint16(dns.TypeAAAA), uint8(7))
	f.Add("\\000.example.org.", uint16(dns.TypeA), uint8(1))
	f.Fuzz(func(t *testing.T, name string, qtype uint16, flags uint8) {
		// A server sees names as unpacked from the wire, escapes spelled
		// one way.
		buf := make([]byte, 256)
		end, err := dns.PackDomainName(name, buf, 0, nil, false)
		if err != nil || !dns.IsFqdn(name) {
			return
		}
		if name, _, err = dns.UnpackDomainName(buf[:end], 0); err != nil {
			return
		}
		q := WireQuery{Name: name, Type: qtype, DO: flags&1 != 0, EDNS: flags&2 != 0, TCP: flags&4 != 0, UDPSize: 1232}
		compareWire(t, z, q)
	})
}
