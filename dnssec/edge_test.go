package dnssec

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cfsecondary/cfsecondary/zone"

	"github.com/miekg/dns"
)

// TestANY: over UDP one RRset, signed; over TCP every RRset at the name,
// at the apex ours (DNSKEY signed by the KSK, CDS, CDNSKEY) included.
func TestANY(t *testing.T) {
	z := buildZone(t, testOrigin, testZone)
	keys := testKeys(t, testOrigin, dns.ECDSAP256SHA256)
	s := newTestSigner(t, keys, Options{})
	v := &validator{t: t, anchors: s.DS(), now: time.Now()}
	v.trust(s.Answer(z, zone.Request{Name: testOrigin, Type: dns.TypeDNSKEY, DO: true}).Answer)

	udp := s.Answer(z, zone.Request{Name: "www.example.com.", Type: dns.TypeANY, DO: true})
	if c := v.check(udp); len(c.labels) != 1 {
		t.Errorf("UDP ANY: %d RRsets, want 1\n%s", len(c.labels), dumpResult(udp))
	}
	tcp := s.Answer(z, zone.Request{Name: testOrigin, Type: dns.TypeANY, DO: true, TCP: true})
	c := v.check(tcp)
	for _, tp := range []string{"SOA", "NS", "A", "MX", "DNSKEY", "CDS", "CDNSKEY"} {
		if _, ok := c.labels[testOrigin+"/"+tp]; !ok {
			t.Errorf("TCP ANY at the apex lacks %s\n%s", tp, dumpResult(tcp))
		}
	}
	for _, rr := range tcp.Answer {
		if sig, ok := rr.(*dns.RRSIG); ok && sig.TypeCovered == dns.TypeDNSKEY && sig.KeyTag != keys[0].Tag {
			t.Errorf("DNSKEY signed by %d in ANY", sig.KeyTag)
		}
	}
}

// TestCNAMEToApex: a CNAME whose target is the apex gets our DNSKEY RRset,
// after the CNAME.
func TestCNAMEToApex(t *testing.T) {
	z := buildZone(t, testOrigin, testZone+"top CNAME example.com.\n")
	s := newTestSigner(t, testKeys(t, testOrigin, dns.ED25519), Options{})
	v := &validator{t: t, anchors: s.DS(), now: time.Now()}
	v.trust(s.Answer(z, zone.Request{Name: testOrigin, Type: dns.TypeDNSKEY, DO: true}).Answer)
	res := s.Answer(z, zone.Request{Name: "top.example.com.", Type: dns.TypeDNSKEY, DO: true})
	c := v.check(res)
	if _, ok := c.labels["top.example.com./CNAME"]; !ok {
		t.Fatalf("no signed CNAME\n%s", dumpResult(res))
	}
	if _, ok := c.labels[testOrigin+"/DNSKEY"]; !ok {
		t.Fatalf("no signed DNSKEY after the CNAME\n%s", dumpResult(res))
	}
}

// TestLongNameSuccessor: the compact NSEC of a name too long for a \000
// label covers it with the next name in canonical order.
func TestLongNameSuccessor(t *testing.T) {
	label := strings.Repeat("a", 63)
	name := label + "." + label + "." + label + "." + strings.Repeat("b", 48) + ".example.com." // 254 octets on the wire
	if n := len(name); n != 253 {
		t.Fatalf("test name of %d characters", n)
	}
	// No label can be added, and the first label is as long as can be: the
	// next name in canonical order has the first label's last octet one up.
	next := successor(name)
	if _, ok := dns.IsDomainName(next); !ok {
		t.Fatalf("successor %q is not a name", next)
	}
	if want := strings.Repeat("a", 62) + "b" + name[63:]; next != want {
		t.Errorf("successor %s, want %s", next, want)
	}
	if got := successor("www.example.com."); got != "\\000.www.example.com." {
		t.Errorf("successor %s", got)
	}
	if got := successor("WWW.Example.com."); got != "\\000.www.example.com." {
		t.Errorf("successor %s", got)
	}
	if got := successor("."); got != "\\000." {
		t.Errorf("successor of the root %s", got)
	}
	z := buildZone(t, testOrigin, testZone)
	s := newTestSigner(t, testKeys(t, testOrigin, dns.ED25519), Options{})
	res := s.Answer(z, zone.Request{Name: name, Type: dns.TypeA, DO: true})
	if !slices.ContainsFunc(res.Ns, func(rr dns.RR) bool {
		n, ok := rr.(*dns.NSEC)
		return ok && n.NextDomain == next
	}) {
		t.Errorf("long name:\n%s", dumpResult(res))
	}
}
