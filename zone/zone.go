// Package zone holds an immutable snapshot of one DNS zone and answers
// queries from it authoritatively.
//
// A Zone is built once from a stream of RRs (a Builder fed by AXFR, or a
// zone file) and never changes afterwards, so any number of goroutines can
// query it without locks. A new version of the zone is a new *Zone, which
// the caller swaps in atomically; Apply derives one from an IXFR diff in time
// proportional to the change, because both versions share every name the
// diff does not touch.
//
// Names are kept in a copy-on-write B-tree ordered by the DNSSEC canonical
// order (see key.go). Lookup implements RFC 1034 4.3.2 with the later
// refinements: wildcards (RFC 4592), negative answers (RFC 2308), DNAME
// (RFC 6672), CNAME chains (RFC 6604) and minimal ANY (RFC 8482).
//
// Pre-signed zones (DNSSEC, RFC 4033 to 4035 and RFC 5155) are served as
// transferred: with the DO bit, answers carry the RRSIGs of their RRsets
// and the NSEC or NSEC3 records that prove negative answers, wildcard
// answers and unsigned delegations (see dnssec.go). Signed and Denial tell
// what kind of zone a snapshot holds.
//
// A zone keeps its records packed in wire format (see node.go), not as
// dns.RR values. RRs handed to a Builder or to Apply are packed and
// dropped; until then the zone may rewrite their TTL (to make RRsets
// consistent, RFC 2181 5.2). RRs handed out by Lookup, Walk and RRset are
// unpacked for the caller, with owner names in lower case; only the SOA and
// the authority section of negative answers are shared between queries and
// must not be modified.
package zone

import (
	"errors"
	"sync"

	"github.com/miekg/dns"
)

// Limits reject a zone that is too big. Zero means unlimited.
type Limits struct {
	Records        int   // total RRs in the zone (BIND max-records)
	RecordsPerType int   // RRs in one RRset, name and type (BIND max-records-per-type)
	TypesPerName   int   // distinct types at one name, RRSIG counted once (BIND max-types-per-name)
	Bytes          int64 // sum of the uncompressed wire length of all RRs (Knot zone-max-size)
}

// DefaultLimits returns BIND's defaults: 100 RRs per RRset and 100 types per
// name, no limit on the zone as a whole.
func DefaultLimits() Limits {
	return Limits{RecordsPerType: 100, TypesPerName: 100}
}

var (
	// ErrLimit is wrapped by every error about a crossed Limits value.
	ErrLimit = errors.New("zone limit exceeded")
	// ErrOutOfZone is wrapped by the error for an RR whose owner is not at
	// or below the origin. A Builder skips such an RR and stays usable.
	ErrOutOfZone = errors.New("name not in zone")
	// ErrInvalid is wrapped by errors about records or zone content that
	// break the rules: no SOA, CNAME and other data, a non-IN class.
	ErrInvalid = errors.New("invalid zone")
	// ErrNotFound is wrapped by the error Apply returns when asked to delete
	// an RR the zone does not have: the diff is for another version.
	ErrNotFound = errors.New("record not in zone")
)

// Zone is an immutable snapshot of a zone. All methods are safe for
// concurrent use.
type Zone struct {
	origin  string // lower case, fully qualified
	okey    string // key of origin; node keys are relative to it
	olabels int
	lim     Limits

	tree    tree
	apex    *node
	soa     *dns.SOA
	neg     []dns.RR // authority of a negative answer, see negative
	negWire []string // the SOA and its RRSIGs packed as a node's records, with that TTL, for AppendResponse
	negDO   []dns.RR // the same with the SOA's RRSIGs
	len     int
	bytes   int64

	signed bool   // see Signed
	denial string // see Denial
	n3     *nsec3 // the NSEC3 chain, when the apex has an NSEC3PARAM

	// mu serialises Apply's Clones, which write to the tree headers (the
	// zone's and the NSEC3 index's). Queries never take it.
	mu sync.Mutex
}

// Origin returns the zone's name, lower case and fully qualified.
func (z *Zone) Origin() string { return z.origin }

// SOA returns the zone's SOA record.
func (z *Zone) SOA() *dns.SOA { return z.soa }

// Serial returns the serial of the zone's SOA.
func (z *Zone) Serial() uint32 { return z.soa.Serial }

// Len returns the number of RRs in the zone, including SOA and RRSIGs.
func (z *Zone) Len() int { return z.len }

// Bytes returns the sum of the uncompressed wire length of all RRs, the
// value Limits.Bytes is checked against.
func (z *Zone) Bytes() int64 { return z.bytes }

// Names returns the number of names in the zone, counting empty
// non-terminals.
func (z *Zone) Names() int { return z.tree.len() }

// negative builds the authority section of negative answers. RFC 2308 3:
// the TTL of that SOA is the lower of the SOA's own TTL and its MINIMUM
// field. Done once per version rather than per query.
func (z *Zone) negative() {
	ttl := min(z.soa.Hdr.Ttl, z.soa.Minttl)
	soa := dns.Copy(z.soa)
	soa.Header().Ttl = ttl
	z.neg = []dns.RR{soa}
	i, j, k := z.apex.set(dns.TypeSOA)
	for off := i; off < k; {
		r := z.apex.rec(off)
		b := []byte(z.apex.wire[r.start:r.end])
		b[2], b[3], b[4], b[5] = byte(ttl>>24), byte(ttl>>16), byte(ttl>>8), byte(ttl)
		z.negWire = append(z.negWire, string(b))
		off = r.end
	}
	z.negDO = z.neg[:1:1]
	for _, s := range z.apex.unpack(nil, z.origin, j, k) {
		s.Header().Ttl = ttl
		z.negDO = append(z.negDO, s)
	}
}
