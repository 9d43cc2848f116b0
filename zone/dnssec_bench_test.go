package zone

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// benchSignedRRs adds a denial chain to the benchmark zone of benchRRs:
// NSEC, or NSEC3 (no salt, no iterations, as RFC 9276 recommends) with an
// NSEC3PARAM. Nothing is signed: the chain is what the lookups search.
func benchSignedRRs(nsec3 bool) []dns.RR {
	rrs := benchRRs()
	hdr := func(name string, t uint16) dns.RR_Header {
		return dns.RR_Header{Name: name, Rrtype: t, Class: dns.ClassINET, Ttl: 300}
	}
	// The authoritative names and delegations, and the empty non-terminal
	// wild; glue below the cuts has no NSEC.
	types := map[string][]uint16{"wild.example.org.": nil}
	for _, rr := range rrs {
		h := rr.Header()
		if strings.HasPrefix(h.Name, "ns.sub") {
			continue
		}
		types[h.Name] = append(types[h.Name], h.Rrtype)
	}
	if !nsec3 {
		names := make([]string, 0, len(types))
		for name := range types {
			names = append(names, name)
		}
		slices.SortFunc(names, func(a, b string) int { return strings.Compare(key(a), key(b)) })
		for i, name := range names {
			next := names[(i+1)%len(names)]
			rrs = append(rrs, &dns.NSEC{Hdr: hdr(name, dns.TypeNSEC), NextDomain: next, TypeBitMap: append(types[name], dns.TypeNSEC)})
		}
		return rrs
	}
	type owner struct {
		hash  string
		types []uint16
	}
	owners := make([]owner, 0, len(types))
	for name, t := range types {
		owners = append(owners, owner{dns.HashName(name, dns.SHA1, 0, ""), t})
	}
	slices.SortFunc(owners, func(a, b owner) int { return strings.Compare(a.hash, b.hash) })
	for i, o := range owners {
		rrs = append(rrs, &dns.NSEC3{
			Hdr: hdr(o.hash+"."+testOrigin, dns.TypeNSEC3), Hash: dns.SHA1, HashLength: 20,
			NextDomain: owners[(i+1)%len(owners)].hash, TypeBitMap: o.types,
		})
	}
	return append(rrs, &dns.NSEC3PARAM{Hdr: hdr(testOrigin, dns.TypeNSEC3PARAM), Hash: dns.SHA1})
}

// BenchmarkLookupDNSSEC answers with DO from a zone of about 100,000 names
// with an NSEC or NSEC3 chain: the proofs are found in O(log n).
func BenchmarkLookupDNSSEC(b *testing.B) {
	for _, kind := range []string{DenialNSEC, DenialNSEC3} {
		bd := NewBuilder(testOrigin, DefaultLimits())
		for _, rr := range benchSignedRRs(kind == DenialNSEC3) {
			if err := bd.Add(rr); err != nil {
				b.Fatal(err)
			}
		}
		z, err := bd.Zone()
		if err != nil {
			b.Fatal(err)
		}
		if z.Denial() != kind {
			b.Fatalf("Denial %q, want %q", z.Denial(), kind)
		}
		const n = 4096
		names := func(format string, max int) []string {
			s := make([]string, n)
			for i := range s {
				s[i] = fmt.Sprintf(format, i*7919%max)
			}
			return s
		}
		for _, bc := range []struct {
			name  string
			qtype uint16
			names []string
			proof int // denial RRs expected in the authority section
		}{
			{"nxdomain", dns.TypeA, names("nx%d.example.org.", 1<<30), 0},
			{"nodata", dns.TypeAAAA, names("host%d.example.org.", benchHosts), 1},
			{"wildcard", dns.TypeTXT, names("w%d.wild.example.org.", 1<<30), 1},
			{"referral", dns.TypeA, names("www.sub%d.example.org.", benchCuts), 1},
		} {
			b.Run(kind+"/"+bc.name, func(b *testing.B) {
				res := z.Lookup(Request{Name: bc.names[0], Type: bc.qtype, DO: true})
				proofs := 0
				for _, rr := range res.Ns {
					if t := rr.Header().Rrtype; t == dns.TypeNSEC || t == dns.TypeNSEC3 {
						proofs++
					}
				}
				if proofs == 0 || bc.proof > 0 && proofs != bc.proof {
					b.Fatalf("%s: %d NSEC/NSEC3 in %v", bc.names[0], proofs, res.Ns)
				}
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					z.Lookup(Request{Name: bc.names[i%n], Type: bc.qtype, DO: true})
					i++
				}
			})
		}
	}
}
