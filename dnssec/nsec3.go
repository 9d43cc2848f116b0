package dnssec

import (
	"bytes"
	"crypto/sha1"
	"encoding/base32"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/miekg/dns"
)

// chain is the NSEC3 chain of one zone version (RFC 5155 with RFC 9276's
// parameters: SHA-1, no salt, no additional iterations, no opt-out). It
// holds one entry per name that owns authoritative data, per delegation
// point and per empty non-terminal, sorted by hash. Names below a zone cut
// (glue) or a DNAME (occluded) have none.
//
// The NSEC3 records are made when a proof first needs them and kept. Each
// costs one SHA-1 to look up, so existence checks need no map of names.
type chain struct {
	origin string
	ttl    uint32
	recs   []n3
	rrs    []atomic.Pointer[dns.NSEC3]
}

type n3 struct {
	hash  [sha1.Size]byte
	types []uint16 // the type bitmap, sorted
}

var b32 = base32.HexEncoding.WithPadding(base32.NoPadding)

// nsec3Hash is the RFC 5155 hash of name with no salt and no extra
// iterations: SHA-1 of the canonical (lower case) wire form.
func nsec3Hash(name string) ([sha1.Size]byte, bool) {
	var buf [256]byte
	n, err := dns.PackDomainName(name, buf[:], 0, nil, false)
	if err != nil {
		return [sha1.Size]byte{}, false
	}
	for i := 0; i < n; {
		l := int(buf[i])
		if l == 0 {
			break
		}
		for j := i + 1; j <= i+l && j < n; j++ {
			if c := buf[j]; 'A' <= c && c <= 'Z' {
				buf[j] = c + 'a' - 'A'
			}
		}
		i += l + 1
	}
	return sha1.Sum(buf[:n]), true
}

// buildChain walks the zone once. Walk hands out names in canonical order,
// which is a depth-first order of the tree, so a stack of the names on the
// path to the current one finds the empty non-terminals: every ancestor not
// on the stack owns nothing.
func buildChain(v view) *chain {
	c := &chain{origin: v.origin, ttl: v.negTTL}
	var stack []string // lower case names on the path to the current one
	skip := ""         // a zone cut or DNAME whose descendants are occluded
	v.z.Walk(func(rrs []dns.RR) bool {
		owner := strings.ToLower(rrs[0].Header().Name)
		if skip != "" && owner != skip && dns.IsSubDomain(skip, owner) {
			return true
		}
		skip = ""
		for len(stack) > 0 && !dns.IsSubDomain(stack[len(stack)-1], owner) {
			stack = stack[:len(stack)-1]
		}
		if len(stack) > 0 {
			// Empty non-terminals between the top of the stack and owner.
			var ents []string
			top := stack[len(stack)-1]
			for name := parent(owner); name != "" && name != top && dns.IsSubDomain(top, name); name = parent(name) {
				ents = append(ents, name)
			}
			for i := len(ents) - 1; i >= 0; i-- {
				c.add(ents[i], nil)
				stack = append(stack, ents[i])
			}
		}
		stack = append(stack, owner)

		apex := owner == v.origin
		var types []uint16
		var ns, ds, dname bool
		for _, rr := range rrs {
			t := rr.Header().Rrtype
			switch {
			case dnssecType(t), apex && apexType(t):
				continue
			case t == dns.TypeNS:
				ns = true
			case t == dns.TypeDS:
				ds = true
			case t == dns.TypeDNAME:
				dname = true
			}
			if len(types) == 0 || types[len(types)-1] != t {
				types = append(types, t)
			}
		}
		switch {
		case ns && !apex:
			// A delegation: only NS and DS are authoritative there.
			types = []uint16{dns.TypeNS}
			if ds {
				types = append(types, dns.TypeDS, dns.TypeRRSIG)
			}
			skip = owner
		default:
			if apex {
				types = append(types, v.apex...)
			}
			if len(types) > 0 {
				types = append(types, dns.TypeRRSIG)
			}
			if dname {
				skip = owner
			}
		}
		slices.Sort(types)
		types = slices.Compact(types)
		c.add(owner, types)
		return true
	})
	slices.SortFunc(c.recs, func(a, b n3) int { return bytes.Compare(a.hash[:], b.hash[:]) })
	c.recs = slices.CompactFunc(c.recs, func(a, b n3) bool { return a.hash == b.hash })
	c.rrs = make([]atomic.Pointer[dns.NSEC3], len(c.recs))
	return c
}

func (c *chain) add(name string, types []uint16) {
	h, ok := nsec3Hash(name)
	if ok {
		c.recs = append(c.recs, n3{hash: h, types: types})
	}
}

// parent returns the parent of name, "" for the root.
func parent(name string) string {
	if name == "." || name == "" {
		return ""
	}
	i, end := dns.NextLabel(name, 0)
	if end {
		return "."
	}
	return name[i:]
}

// dnssecType reports the types of a signed zone that the signer makes
// itself: the transferred zone's own are never served.
func dnssecType(t uint16) bool {
	switch t {
	case dns.TypeRRSIG, dns.TypeNSEC, dns.TypeNSEC3, dns.TypeNSEC3PARAM:
		return true
	}
	return false
}

// apexType reports the types the signer publishes at the apex in place of
// the zone's.
func apexType(t uint16) bool {
	switch t {
	case dns.TypeDNSKEY, dns.TypeCDS, dns.TypeCDNSKEY, dns.TypeNSEC3PARAM:
		return true
	}
	return false
}

// find returns the index of the entry whose hash is name's, or of the entry
// that covers it (the last one before, circularly) with match false.
func (c *chain) find(name string) (i int, match bool) {
	h, ok := nsec3Hash(name)
	if !ok || len(c.recs) == 0 {
		return 0, false
	}
	i, match = slices.BinarySearchFunc(c.recs, h, func(r n3, h [sha1.Size]byte) int { return bytes.Compare(r.hash[:], h[:]) })
	if match {
		return i, true
	}
	if i == 0 {
		return len(c.recs) - 1, false
	}
	return i - 1, false
}

// has reports whether name has an NSEC3 record: it owns authoritative data,
// is a delegation point or an empty non-terminal.
func (c *chain) has(name string) bool {
	_, ok := c.find(name)
	return ok
}

// closest returns the closest encloser of name (RFC 5155 7.2.1) and the
// next closer name; next is "" when name itself is in the chain.
func (c *chain) closest(name string) (ce, next string) {
	ce = name
	for !c.has(ce) {
		next = ce
		ce = parent(ce)
		if ce == "" || !dns.IsSubDomain(c.origin, ce) {
			return c.origin, next
		}
	}
	return ce, next
}

// rr returns the NSEC3 record of entry i.
func (c *chain) rr(i int) *dns.NSEC3 {
	if r := c.rrs[i].Load(); r != nil {
		return r
	}
	rec := c.recs[i]
	next := c.recs[(i+1)%len(c.recs)]
	r := &dns.NSEC3{
		Hdr:        dns.RR_Header{Name: strings.ToLower(b32.EncodeToString(rec.hash[:])) + "." + c.origin, Rrtype: dns.TypeNSEC3, Class: dns.ClassINET, Ttl: c.ttl},
		Hash:       dns.SHA1,
		HashLength: sha1.Size,
		NextDomain: b32.EncodeToString(next.hash[:]),
		TypeBitMap: rec.types,
	}
	c.rrs[i].Store(r)
	return r
}

// wildcard returns the wildcard name directly below name.
func wildcard(name string) string {
	if name == "." {
		return "*."
	}
	return "*." + name
}

// Proofs of RFC 5155 7.2, as indices of entries (duplicates are dropped
// when they are added to an answer).

// nxdomain: the closest encloser proof and no wildcard (7.2.2).
func (c *chain) nxdomain(dst []int, name string) []int {
	ce, next := c.closest(name)
	m, _ := c.find(ce)
	nc, _ := c.find(next)
	w, _ := c.find(wildcard(ce))
	return append(dst, m, nc, w)
}

// nodata proves that name has no RRset of the type asked for: the NSEC3 of
// name (7.2.3, 7.2.4 without opt-out), or when a wildcard answers for name,
// the closest encloser proof and the wildcard's NSEC3 (7.2.5).
func (c *chain) nodata(dst []int, name string) []int {
	if i, ok := c.find(name); ok {
		return append(dst, i)
	}
	ce, next := c.closest(name)
	m, _ := c.find(ce)
	nc, _ := c.find(next)
	w, _ := c.find(wildcard(ce))
	return append(dst, m, nc, w)
}

// expanded proves that no closer match than the wildcard exists for name,
// an answer synthesized from a wildcard (7.2.6): the next closer name is
// covered.
func (c *chain) expanded(dst []int, next string) []int {
	i, _ := c.find(next)
	return append(dst, i)
}
