package zone

import (
	"fmt"
	"net"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// benchZone generates a zone of about 100,000 names: hosts, CNAMEs to them,
// delegations with glue, and a wildcard.
const (
	benchHosts  = 70000
	benchCNAMEs = 10000
	benchCuts   = 10000
)

func benchRRs() []dns.RR {
	hdr := func(name string, t uint16) dns.RR_Header {
		return dns.RR_Header{Name: name, Rrtype: t, Class: dns.ClassINET, Ttl: 3600}
	}
	// 4 octets, as AXFR unpacks them.
	ip := func(i int) net.IP { return net.IP{10, byte(i >> 16), byte(i >> 8), byte(i)} }
	rrs := []dns.RR{
		&dns.SOA{Hdr: hdr(testOrigin, dns.TypeSOA), Ns: "ns1.example.org.", Mbox: "hostmaster.example.org.", Serial: 1, Refresh: 7200, Retry: 3600, Expire: 1209600, Minttl: 300},
		&dns.NS{Hdr: hdr(testOrigin, dns.TypeNS), Ns: "ns1.example.org."},
		&dns.A{Hdr: hdr("ns1.example.org.", dns.TypeA), A: ip(0)},
		&dns.TXT{Hdr: hdr("*.wild.example.org.", dns.TypeTXT), Txt: []string{"wildcard"}},
	}
	for i := range benchHosts {
		rrs = append(rrs, &dns.A{Hdr: hdr(fmt.Sprintf("host%d.example.org.", i), dns.TypeA), A: ip(i)})
	}
	for i := range benchCNAMEs {
		rrs = append(rrs, &dns.CNAME{Hdr: hdr(fmt.Sprintf("c%d.example.org.", i), dns.TypeCNAME), Target: fmt.Sprintf("host%d.example.org.", i)})
	}
	for i := range benchCuts {
		ns := fmt.Sprintf("ns.sub%d.example.org.", i)
		rrs = append(rrs,
			&dns.NS{Hdr: hdr(fmt.Sprintf("sub%d.example.org.", i), dns.TypeNS), Ns: ns},
			&dns.A{Hdr: hdr(ns, dns.TypeA), A: ip(i)},
		)
	}
	return rrs
}

func benchZone(b *testing.B) *Zone {
	bd := NewBuilder(testOrigin, DefaultLimits())
	for _, rr := range benchRRs() {
		if err := bd.Add(rr); err != nil {
			b.Fatal(err)
		}
	}
	z, err := bd.Zone()
	if err != nil {
		b.Fatal(err)
	}
	return z
}

func BenchmarkLookup(b *testing.B) {
	z := benchZone(b)
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
		rcode int
	}{
		{"hit", dns.TypeA, names("host%d.example.org.", benchHosts), dns.RcodeSuccess},
		{"nxdomain", dns.TypeA, names("nx%d.example.org.", 1<<30), dns.RcodeNameError},
		{"wildcard", dns.TypeTXT, names("w%d.wild.example.org.", 1<<30), dns.RcodeSuccess},
		{"referral", dns.TypeA, names("www.sub%d.example.org.", benchCuts), dns.RcodeSuccess},
		{"cname", dns.TypeA, names("c%d.example.org.", benchCNAMEs), dns.RcodeSuccess},
	} {
		b.Run(bc.name, func(b *testing.B) {
			if res := z.Lookup(Request{Name: bc.names[0], Type: bc.qtype}); res.Rcode != bc.rcode {
				b.Fatalf("%s: rcode %d, want %d", bc.names[0], res.Rcode, bc.rcode)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				z.Lookup(Request{Name: bc.names[i%n], Type: bc.qtype})
				i++
			}
		})
		// The same answers written as a whole response, as the plugin sends them when no
		// plugin before it wraps the response writer.
		b.Run(bc.name+"/wire", func(b *testing.B) {
			buf := make([]byte, 0, 1232)
			if _, rcode, ok := z.AppendResponse(buf, WireQuery{Name: bc.names[0], Type: bc.qtype}); !ok || rcode != bc.rcode {
				b.Fatalf("%s: rcode %d (written: %t), want %d", bc.names[0], rcode, ok, bc.rcode)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				z.AppendResponse(buf, WireQuery{Name: bc.names[i%n], Type: bc.qtype})
				i++
			}
		})
	}
}

// BenchmarkLookupParallel shows that queries do not contend.
func BenchmarkLookupParallel(b *testing.B) {
	z := benchZone(b)
	names := make([]string, 4096)
	for i := range names {
		names[i] = fmt.Sprintf("host%d.example.org.", i*7919%benchHosts)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			z.Lookup(Request{Name: names[i%len(names)], Type: dns.TypeA})
			i++
		}
	})
}

// BenchmarkBuild builds the zone and reports the heap the finished zone
// keeps per RR, the RRs themselves included. Transfers usually arrive in
// canonical order, the worst case for a B-tree's fill, so both are shown.
func BenchmarkBuild(b *testing.B) {
	b.Run("unsorted", func(b *testing.B) { benchBuild(b, benchRRs) })
	b.Run("sorted", func(b *testing.B) {
		benchBuild(b, func() []dns.RR {
			rrs := benchRRs()
			slices.SortStableFunc(rrs, func(a, b dns.RR) int {
				return strings.Compare(key(a.Header().Name), key(b.Header().Name))
			})
			return rrs
		})
	})
}

func benchBuild(b *testing.B, gen func() []dns.RR) {
	var perRecord float64
	records := 0
	for b.Loop() {
		b.StopTimer()
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		rrs := gen()
		records = len(rrs)
		b.StartTimer()

		bd := NewBuilder(testOrigin, DefaultLimits())
		for _, rr := range rrs {
			bd.Add(rr)
		}
		z, err := bd.Zone()
		if err != nil {
			b.Fatal(err)
		}

		b.StopTimer()
		rrs = nil
		runtime.GC()
		runtime.ReadMemStats(&after)
		perRecord = float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(records)
		runtime.KeepAlive(z)
		b.StartTimer()
	}
	b.ReportMetric(perRecord, "B/record")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*records), "ns/record")
}

// BenchmarkApply applies a 10-record change (and the SOA) to a zone of 600,000 names: the cost
// must follow the change, not the zone.
func BenchmarkApply(b *testing.B) {
	bd := NewBuilder(testOrigin, DefaultLimits())
	bd.Add(rr("example.org. 3600 IN SOA ns1.example.org. hostmaster.example.org. 1 7200 3600 1209600 300"))
	for i := range 600000 {
		bd.Add(rr(fmt.Sprintf("h%d.example.org. 3600 IN A 10.0.%d.%d", i, (i>>8)&255, i&255)))
	}
	z, err := bd.Zone()
	if err != nil {
		b.Fatal(err)
	}
	serial := 1
	b.ResetTimer()
	for b.Loop() {
		del := []dns.RR{rr(fmt.Sprintf("example.org. 3600 IN SOA ns1.example.org. hostmaster.example.org. %d 7200 3600 1209600 300", serial))}
		add := []dns.RR{rr(fmt.Sprintf("example.org. 3600 IN SOA ns1.example.org. hostmaster.example.org. %d 7200 3600 1209600 300", serial+1))}
		for j := range 10 {
			i := (serial*10 + j) * 7 % 600000
			add = append(add, rr(fmt.Sprintf("h%d.example.org. 3600 IN A 172.16.%d.%d", i, serial%256, j)))
		}
		serial++
		if z, err = z.Apply(del, add); err != nil {
			b.Fatal(err)
		}
	}
}
