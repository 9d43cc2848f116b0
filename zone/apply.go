package zone

import (
	"github.com/miekg/dns"
)

// Apply returns a new version of z with the RRs in del removed and those in
// add added: one IXFR difference sequence (RFC 1995), SOA included. z itself
// does not change and can keep serving queries meanwhile.
//
// The new zone shares everything but the touched names with z: the tree is a
// lazy copy-on-write clone and only changed nodes are copied, so the cost is
// proportional to the size of the diff, not of the zone. The touched names
// are checked against the same rules and per-name limits as a Builder's, the
// zone-wide limits once the whole diff is in.
//
// Deleting an RR that is not there fails with ErrNotFound: the diff was made
// against another version, and the caller should fall back to AXFR. Adding
// an RR that is already there is a no-op. Apply takes ownership of the RRs in
// add (see the package doc) but not of those in del.
func (z *Zone) Apply(del, add []dns.RR) (*Zone, error) {
	z.mu.Lock()
	tree := z.tree.clone()
	var n3 *nsec3
	if z.n3 != nil {
		c := *z.n3
		c.index = c.index.clone()
		n3 = &c
	}
	z.mu.Unlock()

	e := &editor{
		origin:  z.origin,
		okey:    z.okey,
		olabels: z.olabels,
		lim:     z.lim,
		tree:    tree,
		count:   z.len,
		bytes:   z.bytes,
		fresh:   make(map[*node]struct{}, len(del)+len(add)),
		open:    make(map[*node][]dns.RR, len(del)+len(add)),
		n3:      n3,
	}
	for _, rr := range del {
		if err := e.del(rr); err != nil {
			return nil, err
		}
	}
	for _, rr := range add {
		if err := e.add(rr, false); err != nil {
			return nil, err
		}
	}
	if err := e.checkTotals(e.count, e.bytes); err != nil {
		return nil, err
	}
	return e.zone()
}
