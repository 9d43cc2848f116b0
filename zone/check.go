package zone

import (
	"fmt"
	"strings"

	"github.com/miekg/dns"
)

// check enforces the rules one name must follow, whoever built it.
func (e *editor) check(n *node) error {
	name := n.name()
	if name == "" {
		if n.key == "" {
			return fmt.Errorf("%w: %s: no SOA record at the apex", ErrInvalid, e.origin)
		}
		return nil // empty non-terminal
	}
	apex := n.key == ""
	if apex {
		switch soa, _ := n.set(dns.TypeSOA); len(soa) {
		case 0:
			return fmt.Errorf("%w: %s: no SOA record at the apex", ErrInvalid, name)
		case 1:
		default:
			return fmt.Errorf("%w: %s: %d SOA records at the apex, want one", ErrInvalid, name, len(soa))
		}
	} else if n.flags&hasSOA != 0 {
		return fmt.Errorf("%w: %s: SOA record below the apex %s", ErrInvalid, name, e.origin)
	}

	if n.flags&hasCNAME != 0 {
		if cname, _ := n.set(dns.TypeCNAME); len(cname) > 1 {
			return fmt.Errorf("%w: %s: %d CNAME records, a name can have only one", ErrInvalid, name, len(cname))
		}
		if other := others(n); other != "" {
			// RFC 1034 3.6.2, with the DNSSEC types RFC 4035 2.5 allows.
			return fmt.Errorf("%w: %s: CNAME and other data (%s)", ErrInvalid, name, other)
		}
	}
	if n.flags&hasDNAME != 0 {
		if dname, _ := n.set(dns.TypeDNAME); len(dname) > 1 {
			return fmt.Errorf("%w: %s: %d DNAME records, a name can have only one (RFC 6672 2.4)", ErrInvalid, name, len(dname))
		}
	}
	return nil
}

// others lists the types at n that may not sit beside a CNAME.
func others(n *node) string {
	var b strings.Builder
	last := uint16(0)
	for _, rr := range n.rrs {
		t := rr.Header().Rrtype
		switch t {
		case dns.TypeCNAME, dns.TypeRRSIG, dns.TypeNSEC, dns.TypeNSEC3:
			continue
		}
		if t == last {
			continue
		}
		last = t
		if b.Len() > 0 {
			b.WriteString(", ")
		}
		b.WriteString(typeName(t))
	}
	return b.String()
}
