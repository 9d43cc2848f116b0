package store

import (
	"fmt"
	"net"
	"testing"

	"github.com/miekg/dns"

	"github.com/cfsecondary/cfsecondary/zone"
)

// bigRRs returns about n RRs of a plausible zone: hosts with A, some AAAA,
// TXT and MX, CNAMEs, and delegations with glue. serial goes in the SOA.
func bigRRs(origin string, serial uint32, n int) []dns.RR {
	hdr := func(name string, t uint16) dns.RR_Header {
		return dns.RR_Header{Name: name, Rrtype: t, Class: dns.ClassINET, Ttl: 3600}
	}
	ip4 := func(i int) net.IP { return net.IP{10, byte(i >> 16), byte(i >> 8), byte(i)} }
	rrs := make([]dns.RR, 0, n+8)
	rrs = append(rrs,
		&dns.SOA{Hdr: hdr(origin, dns.TypeSOA), Ns: "ns1." + origin, Mbox: "hostmaster." + origin, Serial: serial, Refresh: 7200, Retry: 3600, Expire: 1209600, Minttl: 300},
		&dns.NS{Hdr: hdr(origin, dns.TypeNS), Ns: "ns1." + origin},
		&dns.NS{Hdr: hdr(origin, dns.TypeNS), Ns: "ns2." + origin},
		&dns.A{Hdr: hdr("ns1."+origin, dns.TypeA), A: ip4(1)},
		&dns.A{Hdr: hdr("ns2."+origin, dns.TypeA), A: ip4(2)},
		&dns.MX{Hdr: hdr(origin, dns.TypeMX), Preference: 10, Mx: "mail." + origin},
		&dns.A{Hdr: hdr("mail."+origin, dns.TypeA), A: ip4(3)},
	)
	for i := 0; len(rrs) < n; i++ {
		host := fmt.Sprintf("host%d.%s", i, origin)
		switch i % 10 {
		case 0, 1, 2, 3, 4:
			rrs = append(rrs, &dns.A{Hdr: hdr(host, dns.TypeA), A: ip4(i)})
		case 5:
			rrs = append(rrs,
				&dns.A{Hdr: hdr(host, dns.TypeA), A: ip4(i)},
				&dns.AAAA{Hdr: hdr(host, dns.TypeAAAA), AAAA: net.ParseIP(fmt.Sprintf("2001:db8::%x:%x", i>>16, i&0xffff))})
		case 6:
			rrs = append(rrs, &dns.TXT{Hdr: hdr(host, dns.TypeTXT), Txt: []string{fmt.Sprintf("v=spf1 ip4:10.0.%d.0/24 -all", i%256)}})
		case 7:
			rrs = append(rrs, &dns.CNAME{Hdr: hdr(host, dns.TypeCNAME), Target: fmt.Sprintf("host%d.%s", i-7, origin)})
		case 8:
			rrs = append(rrs, &dns.MX{Hdr: hdr(host, dns.TypeMX), Preference: 10, Mx: "mail." + origin})
		case 9:
			sub := fmt.Sprintf("sub%d.%s", i, origin)
			rrs = append(rrs,
				&dns.NS{Hdr: hdr(sub, dns.TypeNS), Ns: "ns." + sub},
				&dns.A{Hdr: hdr("ns."+sub, dns.TypeA), A: ip4(i)})
		}
	}
	return rrs
}

func build(t testing.TB, origin string, rrs []dns.RR) *zone.Zone {
	t.Helper()
	b := zone.NewBuilder(origin, zone.Limits{})
	for _, rr := range rrs {
		if err := b.Add(rr); err != nil {
			t.Fatalf("Add %s: %v", rr, err)
		}
	}
	z, err := b.Zone()
	if err != nil {
		t.Fatal(err)
	}
	return z
}

func bigZone(t testing.TB, origin string, serial uint32, n int) *zone.Zone {
	return build(t, origin, bigRRs(origin, serial, n))
}
