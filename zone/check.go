package zone

import (
	"fmt"
	"strings"

	"github.com/miekg/dns"
)

// check enforces the rules one name must follow, whoever built it. n is
// packed; its name is only worked out for an error message.
func (e *editor) check(n *node) error {
	name := func() string { return ownerName(n.key, e.origin) }
	if n.empty() {
		if n.key == "" {
			return fmt.Errorf("%w: %s: no SOA record at the apex", ErrInvalid, e.origin)
		}
		return nil // empty non-terminal
	}
	f := n.flags()
	if n.key == "" {
		switch i, j, _ := n.set(dns.TypeSOA); n.count(i, j) {
		case 0:
			return fmt.Errorf("%w: %s: no SOA record at the apex", ErrInvalid, name())
		case 1:
		default:
			return fmt.Errorf("%w: %s: %d SOA records at the apex, want one", ErrInvalid, name(), n.count(i, j))
		}
	} else if f&hasSOA != 0 {
		return fmt.Errorf("%w: %s: SOA record below the apex %s", ErrInvalid, name(), e.origin)
	}

	if f&hasCNAME != 0 {
		if i, j, _ := n.set(dns.TypeCNAME); n.count(i, j) > 1 {
			return fmt.Errorf("%w: %s: %d CNAME records, a name can have only one", ErrInvalid, name(), n.count(i, j))
		}
		if other := others(n); other != "" {
			// RFC 1034 3.6.2, with the DNSSEC types RFC 4035 2.5 allows.
			return fmt.Errorf("%w: %s: CNAME and other data (%s)", ErrInvalid, name(), other)
		}
	}
	if f&hasDNAME != 0 {
		if i, j, _ := n.set(dns.TypeDNAME); n.count(i, j) > 1 {
			return fmt.Errorf("%w: %s: %d DNAME records, a name can have only one (RFC 6672 2.4)", ErrInvalid, name(), n.count(i, j))
		}
	}
	return nil
}

// others lists the types at n that may not sit beside a CNAME.
func others(n *node) string {
	var b strings.Builder
	last := uint16(0)
	for off := n.first(); off < len(n.wire); {
		x := n.rec(off)
		off = x.end
		switch x.t {
		case dns.TypeCNAME, dns.TypeRRSIG, dns.TypeNSEC, dns.TypeNSEC3:
			continue
		}
		if x.t == last {
			continue
		}
		last = x.t
		if b.Len() > 0 {
			b.WriteString(", ")
		}
		b.WriteString(typeName(x.t))
	}
	return b.String()
}
