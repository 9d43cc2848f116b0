package zone

import "github.com/miekg/dns"

// HasName reports whether name owns records in the zone. An empty non-terminal, a name only a
// wildcard would answer for, and a name outside the zone do not. Override records use it: an
// override applies only while the primary has its name.
func (z *Zone) HasName(name string) bool {
	s := getScratch()
	defer putScratch(s)
	k := &s.k
	if !k.set(name) || !k.under(z.okey, z.olabels) {
		return false
	}
	n := z.get(s, k.rel(k.labels, len(z.okey)))
	return n != nil && !n.empty()
}

// RRset returns the records of type t at name, exactly (no wildcard, CNAME or cut is followed),
// or nil. The records are fresh copies.
func (z *Zone) RRset(name string, t uint16) []dns.RR {
	s := getScratch()
	defer putScratch(s)
	k := &s.k
	if !k.set(name) || !k.under(z.okey, z.olabels) {
		return nil
	}
	n := z.get(s, k.rel(k.labels, len(z.okey)))
	if n == nil {
		return nil
	}
	i, j, _ := n.set(t)
	return n.unpack(nil, z.ownerOf(n), i, j)
}
