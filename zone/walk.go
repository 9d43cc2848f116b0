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
// The slices are the zone's own: fn must not modify them or their RRs.
// Empty non-terminals have no RRs and are skipped.
func (z *Zone) Walk(fn func(rrs []dns.RR) bool) {
	z.tree.ascend(nil, func(n *node) bool {
		if len(n.rrs) == 0 {
			return true
		}
		return fn(n.rrs[:len(n.rrs):len(n.rrs)])
	})
}
