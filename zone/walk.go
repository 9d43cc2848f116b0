package zone

import (
	"github.com/miekg/dns"
)

// Walk calls fn with the RRs of every name in the zone, in DNSSEC canonical
// order of the names (RFC 4034 6.1), until fn returns false. The apex comes
// first and starts with the SOA, so the stream can go out as an AXFR (which
// only has to repeat the SOA at the end) or be written as a zone file. Within
// a name RRs are grouped by type, each RRset followed by its RRSIGs.
//
// The RRs are fresh copies, owned by their lower-case name, and fn may keep
// them and the slice. Empty non-terminals have no RRs and are skipped.
func (z *Zone) Walk(fn func(rrs []dns.RR) bool) {
	z.tree.ascend(nil, func(n *node) bool {
		if n.empty() {
			return true
		}
		return fn(n.unpack(make([]dns.RR, 0, n.count(n.first(), len(n.wire))), z.ownerOf(n), n.first(), len(n.wire)))
	})
}

// ownerOf returns the name of n (see node.owner).
func (z *Zone) ownerOf(n *node) string { return n.owner(z.origin) }
