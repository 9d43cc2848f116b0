package zone

import (
	"github.com/miekg/dns"
)

// A node is one owner name. All its RRs live in one slice, grouped into runs
// by rank (see rank): the RRs of one type, directly followed by the RRSIGs
// that cover that type. This keeps a name with a single record at one small
// allocation for the slice and one for the node, with no per-node map and no
// slice per RRset, and it keeps a signature next to the data it signs.
//
// An empty non-terminal is a node without RRs. It has to exist because it
// changes the answer: it is NODATA rather than NXDOMAIN, and it is the
// closest encloser that decides which wildcard applies (RFC 4592 3.3).
//
// Nodes reachable from a Zone are never modified; an edit copies the node.
type node struct {
	key   string // relative to the origin: the apex is ""
	rrs   []dns.RR
	flags uint8 // cached presence of the types that steer a lookup
}

const (
	hasNS uint8 = 1 << iota
	hasDNAME
	hasCNAME
	hasSOA
	hasNSEC
	hasNSEC3
)

// name returns the owner name shared by all RRs at n, or "" for an empty
// non-terminal.
func (n *node) name() string {
	if len(n.rrs) == 0 {
		return ""
	}
	return n.rrs[0].Header().Name
}

// rank orders the runs in a node. A run holds the RRs of one type (sig
// false) or the RRSIGs covering one type (sig true). The SOA sorts before
// everything else, so the apex starts with the SOA as AXFR wants it.
func rank(t uint16, sig bool) uint32 {
	r := (uint32(t) + 1) << 1 // + 1 keeps 0 free for the SOA
	if t == dns.TypeSOA {
		r = 0
	}
	if sig {
		r |= 1
	}
	return r
}

// rankOf returns the run an RR belongs to and the type it is about: its own
// type, or for an RRSIG the type it covers.
func rankOf(rr dns.RR) (uint32, uint16) {
	if s, ok := rr.(*dns.RRSIG); ok {
		return rank(s.TypeCovered, true), s.TypeCovered
	}
	t := rr.Header().Rrtype
	return rank(t, false), t
}

// run returns the bounds [i, j) of the run with rank r; i == j (the place
// to insert) when there is none. Binary search keeps pathological nodes
// with thousands of RRs cheap; small nodes are a few comparisons anyway.
func (n *node) run(r uint32) (i, j int) {
	lo, hi := 0, len(n.rrs)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if x, _ := rankOf(n.rrs[m]); x < r {
			lo = m + 1
		} else {
			hi = m
		}
	}
	i, j = lo, lo
	for j < len(n.rrs) {
		if x, _ := rankOf(n.rrs[j]); x != r {
			break
		}
		j++
	}
	return i, j
}

// set returns the RRs of type t and the RRSIGs covering them. Both slices
// share n's array and are capped, so an append by the caller copies.
func (n *node) set(t uint16) (data, sigs []dns.RR) {
	i, j := n.run(rank(t, false))
	data = n.rrs[i:j:j]
	k := j
	for k < len(n.rrs) {
		if x, _ := rankOf(n.rrs[k]); x != rank(t, true) {
			break
		}
		k++
	}
	return data, n.rrs[j:k:k]
}

// sigs returns all RRSIGs at n, for qtype RRSIG.
func (n *node) sigs() []dns.RR {
	var out []dns.RR
	for _, rr := range n.rrs {
		if _, ok := rr.(*dns.RRSIG); ok {
			out = append(out, rr)
		}
	}
	return out
}

// types returns the number of distinct RR types at n, counting RRSIG once,
// as the TypesPerName limit sees them.
func (n *node) types() int {
	c, sig := 0, false
	last := uint32(1<<32 - 1)
	for _, rr := range n.rrs {
		r, _ := rankOf(rr)
		if r&1 == 1 {
			sig = true
			continue
		}
		if r != last {
			c++
			last = r
		}
	}
	if sig {
		c++
	}
	return c
}

func flagOf(t uint16) uint8 {
	switch t {
	case dns.TypeNS:
		return hasNS
	case dns.TypeDNAME:
		return hasDNAME
	case dns.TypeCNAME:
		return hasCNAME
	case dns.TypeSOA:
		return hasSOA
	case dns.TypeNSEC:
		return hasNSEC
	case dns.TypeNSEC3:
		return hasNSEC3
	}
	return 0
}

func (n *node) setFlags() {
	n.flags = 0
	for _, rr := range n.rrs {
		if _, ok := rr.(*dns.RRSIG); !ok {
			n.flags |= flagOf(rr.Header().Rrtype)
		}
	}
}

// compact drops spare capacity left by appends; a finished zone keeps
// every node at its exact size.
func (n *node) compact() {
	if cap(n.rrs) > len(n.rrs) {
		rrs := make([]dns.RR, len(n.rrs))
		copy(rrs, n.rrs)
		n.rrs = rrs
	}
}

// clone returns a copy of n that can be changed without touching n.
func (n *node) clone() *node {
	c := &node{key: n.key, flags: n.flags}
	if len(n.rrs) > 0 {
		c.rrs = make([]dns.RR, len(n.rrs), len(n.rrs)+1)
		copy(c.rrs, n.rrs)
	}
	return c
}
