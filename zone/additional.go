package zone

import (
	"github.com/miekg/dns"
)

// additional returns the addresses of the names rrs point at, for the
// additional section: glue for a referral, the hosts of NS, MX, SRV, SVCB and
// HTTPS answers. Targets are looked up exactly and cuts are ignored, because
// the addresses of name servers below a cut (glue, otherwise occluded) are
// exactly what a referral needs. Names outside the zone are skipped.
func (l *lookup) additional(rrs []dns.RR) []dns.RR {
	var extra []dns.RR
	z, k := l.z, &l.s.aux
	for i, rr := range rrs {
		name := target(rr)
		if name == "" || seenTarget(rrs[:i], name) {
			continue
		}
		if !k.set(name) || !k.under(z.okey, z.olabels) {
			continue
		}
		n := z.get(l.s, k.rel(k.labels, len(z.okey)))
		if n == nil {
			continue
		}
		for _, t := range [...]uint16{dns.TypeA, dns.TypeAAAA} {
			data, sigs := l.set(n, t, "")
			extra = append(append(extra, data...), sigs...)
		}
	}
	return extra
}

// target returns the host name rr refers to, if it is of a type whose
// addresses belong in the additional section.
func target(rr dns.RR) string {
	switch x := rr.(type) {
	case *dns.NS:
		return x.Ns
	case *dns.MX:
		return x.Mx
	case *dns.SRV:
		return x.Target
	case *dns.SVCB:
		return svcbTarget(x)
	case *dns.HTTPS:
		return svcbTarget(&x.SVCB)
	}
	return ""
}

// svcbTarget: "." means the owner itself (RFC 9460 2.5), whose addresses
// the client asks for anyway.
func svcbTarget(x *dns.SVCB) string {
	if x.Target == "." {
		return ""
	}
	return x.Target
}

// seenTarget reports whether an earlier RR had the same target, e.g. two MX
// with different preferences for one host.
func seenTarget(rrs []dns.RR, name string) bool {
	for _, rr := range rrs {
		if equalName(target(rr), name) {
			return true
		}
	}
	return false
}
