package fakeprimary

import (
	"fmt"
	"net"

	"github.com/miekg/dns"
)

// SOA returns an SOA record for zone with the given serial.
func SOA(zone string, serial uint32) *dns.SOA {
	zone = dns.Fqdn(zone)
	return &dns.SOA{
		Hdr:     dns.RR_Header{Name: zone, Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: 3600},
		Ns:      "ns1." + zone,
		Mbox:    "hostmaster." + zone,
		Serial:  serial,
		Refresh: 3600, Retry: 600, Expire: 604800, Minttl: 300,
	}
}

// Zone returns a zone of an SOA, two NS records and n A records
// (h0.zone ... h<n-1>.zone), n+3 records in all, SOA first.
func Zone(zone string, serial uint32, n int) []dns.RR {
	zone = dns.Fqdn(zone)
	rrs := []dns.RR{
		SOA(zone, serial),
		&dns.NS{Hdr: dns.RR_Header{Name: zone, Rrtype: dns.TypeNS, Class: dns.ClassINET, Ttl: 3600}, Ns: "ns1." + zone},
		&dns.NS{Hdr: dns.RR_Header{Name: zone, Rrtype: dns.TypeNS, Class: dns.ClassINET, Ttl: 3600}, Ns: "ns2." + zone},
	}
	for i := range n {
		rrs = append(rrs, &dns.A{
			Hdr: dns.RR_Header{Name: fmt.Sprintf("h%d.%s", i, zone), Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 300},
			A:   net.IPv4(10, byte(i>>16), byte(i>>8), byte(i)).To4(),
		})
	}
	return rrs
}

// outOfZone returns n A records whose owners are outside any real zone.
func outOfZone(n int) []dns.RR {
	var rrs []dns.RR
	for i := range n {
		rrs = append(rrs, &dns.A{
			Hdr: dns.RR_Header{Name: fmt.Sprintf("oz%d.out-of-zone.test.", i), Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 300},
			A:   net.IPv4(192, 0, 2, byte(i)).To4(),
		})
	}
	return rrs
}
