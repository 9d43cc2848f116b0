package dnssec

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/cfsecondary/cfsecondary/zone"

	"github.com/miekg/dns"
)

var benchAlgs = []uint8{dns.ECDSAP256SHA256, dns.ED25519}

// BenchmarkLookup is the unsigned answer, for comparison.
func BenchmarkLookup(b *testing.B) {
	z := buildZone(b, testOrigin, testZone)
	req := zone.Request{Name: "www.example.com.", Type: dns.TypeA, DO: true}
	b.ReportAllocs()
	for b.Loop() {
		z.Lookup(req)
	}
}

// BenchmarkSignCached: answers whose signatures are in the cache, the
// steady state: the lookup, hashing each RRset and one slice for the
// signed section.
func BenchmarkSignCached(b *testing.B) {
	z := buildZone(b, testOrigin, testZone)
	for _, alg := range benchAlgs {
		s := newTestSigner(b, testKeys(b, testOrigin, alg), Options{})
		for _, q := range []struct {
			name  string
			qtype uint16
		}{
			{"www.example.com.", dns.TypeA},
			{"www.example.com.", dns.TypeTXT},       // NODATA: SOA and NSEC
			{"nope.example.com.", dns.TypeA},        // NXDOMAIN: SOA and NXNAME NSEC
			{"example.com.", dns.TypeDNSKEY},        // the KSK's signature
			{"host.secure.example.com.", dns.TypeA}, // referral with DS
		} {
			req := zone.Request{Name: q.name, Type: q.qtype, DO: true}
			s.Answer(z, req)
			b.Run(dns.AlgorithmToString[alg]+"/"+strings.TrimSuffix(q.name, ".example.com.")+"/"+dns.TypeToString[q.qtype], func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					s.Answer(z, req)
				}
			})
		}
	}
}

// BenchmarkSignCachedParallel: the cached answer from all CPUs, to see that
// the shards keep queries apart.
func BenchmarkSignCachedParallel(b *testing.B) {
	z := buildZone(b, testOrigin, testZone)
	s := newTestSigner(b, testKeys(b, testOrigin, dns.ECDSAP256SHA256), Options{})
	reqs := []zone.Request{
		{Name: "www.example.com.", Type: dns.TypeA, DO: true},
		{Name: "txt.example.com.", Type: dns.TypeTXT, DO: true},
		{Name: "mail.example.com.", Type: dns.TypeA, DO: true},
		{Name: "example.com.", Type: dns.TypeMX, DO: true},
	}
	for _, r := range reqs {
		s.Answer(z, r)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			s.Answer(z, reqs[i%len(reqs)])
			i++
		}
	})
}

// BenchmarkSignCold: every answer needs a new signature (a new name under
// compact denial: one NSEC signed per answer), the cost of a cache miss.
func BenchmarkSignCold(b *testing.B) {
	z := buildZone(b, testOrigin, testZone)
	for _, alg := range benchAlgs {
		s := newTestSigner(b, testKeys(b, testOrigin, alg), Options{})
		b.Run(dns.AlgorithmToString[alg], func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				s.Answer(z, zone.Request{Name: "n" + strconv.Itoa(i) + ".example.com.", Type: dns.TypeA, DO: true})
				i++
			}
		})
	}
}

// BenchmarkNSEC3 answers NXDOMAIN with its three NSEC3 records, cached.
func BenchmarkNSEC3NXDOMAIN(b *testing.B) {
	z := buildZone(b, testOrigin, testZone)
	s := newTestSigner(b, testKeys(b, testOrigin, dns.ECDSAP256SHA256), Options{Denial: DenialNSEC3})
	req := zone.Request{Name: "nope.example.com.", Type: dns.TypeA, DO: true}
	s.Answer(z, req)
	b.ReportAllocs()
	for b.Loop() {
		s.Answer(z, req)
	}
}

// BenchmarkNSEC3Chain builds the chain of a zone of 100,000 names, the work
// Prepare does per version in NSEC3 mode.
func BenchmarkNSEC3Chain(b *testing.B) {
	var text strings.Builder
	text.WriteString("$ORIGIN example.com.\n$TTL 300\n@ SOA ns1 h 1 2 3 4 300\n@ NS ns1\nns1 A 192.0.2.1\n")
	for i := range 100000 {
		fmt.Fprintf(&text, "h%d.g%d A 192.0.2.%d\n", i, i%1000, i%250)
	}
	z := buildZone(b, testOrigin, text.String())
	s := newTestSigner(b, testKeys(b, testOrigin, dns.ECDSAP256SHA256), Options{Denial: DenialNSEC3})
	b.ReportAllocs()
	for b.Loop() {
		v := view{s.newVersion(z), z}
		if n := len(v.nsec3().recs); n != 101002 {
			b.Fatalf("%d NSEC3 records", n)
		}
	}
}
