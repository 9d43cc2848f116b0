package dnssec

import (
	"slices"
	"strings"

	"github.com/cfsecondary/cfsecondary/zone"

	"github.com/miekg/dns"
)

// compactNSEC makes the NSEC of a Compact Answer (RFC 9824 3): owned by the
// name, with the name's immediate successor as next name, so that it covers
// nothing but the name itself, and the given type bitmap.
func (v view) compactNSEC(owner string, types []uint16) *dns.NSEC {
	return &dns.NSEC{
		Hdr:        dns.RR_Header{Name: owner, Rrtype: dns.TypeNSEC, Class: dns.ClassINET, Ttl: v.negTTL},
		NextDomain: successor(owner),
		TypeBitMap: types,
	}
}

// successor returns the immediate successor of name in canonical order
// (RFC 4471 3.1.2): name with a \000 label prepended, or when that would be
// longer than 255 octets, name with the last octet of its first label
// increased.
func successor(name string) string {
	lower := strings.ToLower(name)
	var buf [256]byte
	n, err := dns.PackDomainName(lower, buf[:], 0, nil, false)
	if err != nil || n+2 <= 255 {
		if lower == "." {
			return "\\000."
		}
		return "\\000." + lower
	}
	l := int(buf[0])
	c := buf[l]
	switch {
	case c == 0xff:
		return "\\000." + lower // cannot happen with real names; best effort
	case c+1 == 'A':
		c = 'Z' + 1 // upper case sorts as lower case: skip it
	default:
		c++
	}
	buf[l] = c
	s, _, err := dns.UnpackDomainName(buf[:n], 0)
	if err != nil {
		return "\\000." + lower
	}
	return s
}

// typesAt returns the types of the RRsets at name, as the NSEC bitmap of a
// NODATA answer shows them: what the zone has there (a wildcard's types for
// a name it answers for, NS and DS at a delegation), the apex RRsets we add,
// without the DNSSEC records of the transferred zone. Empty for an empty
// non-terminal.
func (v view) typesAt(name string) []uint16 {
	r := v.z.Lookup(zone.Request{Name: name, Type: dns.TypeANY, DO: true, TCP: true})
	var types []uint16
	if cut := referral(r.Ns, v.origin); cut != "" {
		types = append(types, dns.TypeNS)
		for _, rr := range r.Ns {
			if rr.Header().Rrtype == dns.TypeDS {
				types = append(types, dns.TypeDS)
				break
			}
		}
		return types
	}
	apex := equalName(name, v.origin)
	for _, rr := range r.Answer {
		h := rr.Header()
		if dnssecType(h.Rrtype) || apex && apexType(h.Rrtype) || !equalName(h.Name, name) {
			continue
		}
		if !slices.Contains(types, h.Rrtype) {
			types = append(types, h.Rrtype)
		}
	}
	if apex {
		types = append(types, v.apex...)
	}
	return types
}

// bitmap returns types with RRSIG and NSEC added (the NSEC and its
// signature are at the name too), without t (unless t is NSEC: a query for
// the NSEC itself), sorted.
func bitmap(types []uint16, t uint16) []uint16 {
	out := make([]uint16, 0, len(types)+2)
	for _, x := range types {
		if x != t || t == dns.TypeNSEC {
			out = append(out, x)
		}
	}
	out = append(out, dns.TypeRRSIG, dns.TypeNSEC)
	slices.Sort(out)
	return slices.Compact(out)
}

// nxnameBitmap is the bitmap of a Compact Answer for a name that does not
// exist (RFC 9824 3.2): RRSIG, NSEC and NXNAME.
var nxnameBitmap = []uint16{dns.TypeRRSIG, dns.TypeNSEC, dns.TypeNXNAME}

// delegationBitmap is the NSEC bitmap at an insecure delegation.
var delegationBitmap = []uint16{dns.TypeNS, dns.TypeRRSIG, dns.TypeNSEC}
