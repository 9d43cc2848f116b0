package zone

import (
	"crypto/sha1"
	"encoding/base32"
	"encoding/hex"
	"strings"
	"unsafe"

	"github.com/miekg/dns"
)

// Pre-signed zones are served exactly as transferred: the zone holds the
// RRSIGs, the NSEC or NSEC3 chain and the DS records, and Lookup only picks
// the ones an answer needs (RFC 4035 3.1, RFC 5155 7.2). Nothing is signed
// here.
//
// NSEC records are found in the zone's own tree: the NSEC that matches or
// covers a name is the one at the name or at its nearest predecessor in
// canonical order, which is what keys sort by. NSEC3 owner names are hashes,
// so the NSEC3 records of the zone's chain are also indexed by hash in a
// second copy-on-write tree, built with the zone and updated by Apply.

// Denial kinds, as Zone.Denial reports them.
const (
	DenialNSEC  = "nsec"
	DenialNSEC3 = "nsec3"
)

// Signed reports whether the zone is DNSSEC-signed: it has a DNSKEY RRset
// and RRSIGs at the apex.
func (z *Zone) Signed() bool { return z.signed }

// Denial reports how the zone proves that names and types do not exist:
// DenialNSEC, DenialNSEC3 (an NSEC3PARAM at the apex and its chain), or ""
// when it has no chain.
func (z *Zone) Denial() string { return z.denial }

// nsec3 is the NSEC3 chain a zone answers with: the parameters of the apex
// NSEC3PARAM and the NSEC3 owners of that chain, keyed like every other node
// (the lower-case base32hex hash, a 0x00 byte) so that byte order is hash
// order.
type nsec3 struct {
	iter  uint16
	salt  []byte // decoded from saltHex
	shex  string // the salt as the RRs spell it, hex; "" for none
	index tree
}

// b32 is RFC 4648 base32hex in lower case, the spelling of node keys.
var b32 = base32.NewEncoding("0123456789abcdefghijklmnopqrstuv").WithPadding(base32.NoPadding)

const hashKeyLen = 33 // 32 base32hex characters of a SHA-1 hash and the label's 0x00

// newNSEC3 returns an empty chain for the first usable NSEC3PARAM at apex:
// SHA-1 and flags 0 (RFC 5155 4.1.2: other flags mean "ignore me"). It
// returns nil when there is none.
func newNSEC3(apex *node) *nsec3 {
	i, j, _ := apex.set(dns.TypeNSEC3PARAM)
	for _, rr := range apex.unpack(nil, ".", i, j) {
		p := rr.(*dns.NSEC3PARAM)
		if p.Hash != dns.SHA1 || p.Flags != 0 {
			continue
		}
		salt, err := hex.DecodeString(p.Salt)
		if err != nil || len(salt) > 255 {
			continue
		}
		return &nsec3{iter: p.Iterations, salt: salt, shex: p.Salt}
	}
	return nil
}

// same reports whether c and d are the same chain.
func (c *nsec3) same(d *nsec3) bool {
	return c != nil && d != nil && c.iter == d.iter && strings.EqualFold(c.shex, d.shex)
}

// holds reports whether n is an owner of chain c: one label below the apex,
// as long as a hash, with an NSEC3 of c's parameters.
func (c *nsec3) holds(n *node) bool {
	if n.flags()&hasNSEC3 == 0 || len(n.key) != hashKeyLen || strings.IndexByte(n.key, 0) != hashKeyLen-1 {
		return false
	}
	i, j, _ := n.set(dns.TypeNSEC3)
	for _, rr := range n.unpack(nil, ".", i, j) {
		x := rr.(*dns.NSEC3)
		if x.Hash == dns.SHA1 && x.Iterations == c.iter && strings.EqualFold(x.Salt, c.shex) {
			return true
		}
	}
	return false
}

// build indexes the chain's owners in t. Inserting in descending order
// leaves the index's B-tree nodes full (see tree.compact).
func (c *nsec3) build(t tree) {
	c.index = newTree()
	t.t.Descend(func(it item) bool {
		if c.holds(it.n) {
			c.index.put(it.n)
		}
		return true
	})
}

// update brings the index, a clone of the previous version's, up to date
// with the names an edit touched (fresh holds every node it created or
// copied, including those it then removed from t).
func (c *nsec3) update(t tree, fresh map[*node]struct{}) {
	var probe node
	for n := range fresh {
		if len(n.key) != hashKeyLen {
			continue
		}
		probe.key = n.key
		if cur := t.get(&probe); cur != nil && c.holds(cur) {
			c.index.put(cur)
		} else {
			c.index.del(&probe)
		}
	}
}

// hash returns the key of the NSEC3 owner name for the name whose wire form
// (any case) is wire, or for *.<that name> when star is set (RFC 5155 5).
// The key aliases s.
func (c *nsec3) hash(s *scratch, star bool, wire []byte) string {
	b := s.hbuf[:0]
	if star {
		b = append(b, 1, '*')
	}
	for i := 0; i < len(wire); {
		l := int(wire[i])
		b = append(b, wire[i])
		for _, ch := range wire[i+1 : i+1+l] {
			if ch >= 'A' && ch <= 'Z' {
				ch += 'a' - 'A'
			}
			b = append(b, ch)
		}
		i += 1 + l
	}
	b = append(b, c.salt...)
	sum := sha1.Sum(b)
	for range c.iter {
		b = append(append(s.hbuf[:0], sum[:]...), c.salt...)
		sum = sha1.Sum(b)
	}
	b32.Encode(s.hkey[:hashKeyLen-1], sum[:])
	s.hkey[hashKeyLen-1] = 0
	return unsafe.String(&s.hkey[0], hashKeyLen)
}

// dnssec finds what kind of zone z is and gives it its NSEC3 index: prev,
// the index of the version an Apply started from (cloned), is updated when
// the chain is the same, otherwise the index is built from the tree.
func (e *editor) dnssec(z *Zone, prev *nsec3) {
	apex := z.apex
	i, j, _ := apex.set(dns.TypeDNSKEY)
	z.signed = i < j && apex.flags()&hasSig != 0

	c := newNSEC3(apex)
	if c != nil {
		if c.same(prev) && e.fresh != nil {
			c.index = prev.index
			c.update(e.tree, e.fresh)
		} else {
			c.build(e.tree)
		}
		z.n3 = c
	}

	apexNSEC3 := false
	if c != nil && c.index.len() > 0 {
		s := getScratch()
		s.k.set(z.origin)
		s.probe.key = c.hash(s, false, s.k.wire[:s.k.wlen])
		apexNSEC3 = c.index.get(&s.probe) != nil
		putScratch(s)
	}
	switch {
	case apexNSEC3:
		z.denial = DenialNSEC3
	case apex.flags()&hasNSEC != 0:
		z.denial = DenialNSEC
	case c != nil && c.index.len() > 0:
		z.denial = DenialNSEC3
	}
}

// hidden reports whether n is the owner of NSEC3 records and nothing else,
// in a zone whose denial is NSEC3. RFC 5155 7.2.8: such a name is answered
// as if it did not exist (as BIND does), whatever the type asked for, since
// the NSEC3 chain itself says it does not.
func (l *lookup) hidden(n *node) bool {
	if l.z.denial != DenialNSEC3 {
		return false
	}
	for off := n.first(); off < len(n.wire); {
		x := n.rec(off)
		if x.covered != dns.TypeNSEC3 {
			return false
		}
		off = x.end
	}
	// A name below it (there should be none) makes it an empty
	// non-terminal instead.
	below := false
	p := &l.s.probe2
	p.key = n.key
	l.z.tree.t.AscendGreaterOrEqual(itemOf(p), func(it item) bool {
		if it.n == n {
			return true
		}
		below = strings.HasPrefix(it.n.key, n.key)
		return false
	})
	p.key = ""
	return !below
}

// proving reports whether answers carry denial of existence: the client
// asked (DO) and the zone has a chain.
func (l *lookup) proving() bool { return l.req.DO && l.z.denial != "" }

// qkey returns the key of the name being resolved, relative to the origin.
func (l *lookup) qkey() string {
	k := &l.s.k
	return k.rel(k.labels, len(l.z.okey))
}

// deny appends the NSEC or NSEC3 RRset at n and its RRSIGs to dst, unless
// the response has it already.
func (l *lookup) deny(dst []dns.RR, n *node) []dns.RR {
	if n == nil {
		return dst
	}
	for _, s := range l.seen[:l.nseen] {
		if s == n {
			return dst
		}
	}
	if l.nseen < len(l.seen) {
		l.seen[l.nseen] = n
		l.nseen++
	}
	t := dns.TypeNSEC
	if l.z.denial == DenialNSEC3 {
		t = dns.TypeNSEC3
	}
	data, sigs := l.set(n, t, "")
	return append(append(dst, data...), sigs...)
}

// nsecAt returns the node whose NSEC matches or covers the name with key
// key: the name itself or its nearest predecessor with an NSEC. Empty
// non-terminals and occluded names (glue) have none and are passed over;
// the first occluded name ends the walk at its cut, whose NSEC covers every
// name below it, so a delegation with a lot of glue costs no more than one
// with a little.
func (l *lookup) nsecAt(key string) *node {
	var found *node
	l.s.probe.key = key
	l.z.tree.t.DescendLessOrEqual(itemOf(&l.s.probe), func(it item) bool {
		n := it.n
		if n.flags()&hasNSEC != 0 {
			found = n
			return false
		}
		if !n.empty() {
			if cut := l.cutAbove(n.key); cut != nil {
				found = cut
				return false
			}
		}
		return true
	})
	return found
}

// cutAbove returns the nearest ancestor of the name with key key that is a
// zone cut with an NSEC, or nil.
func (l *lookup) cutAbove(key string) *node {
	p := &l.s.probe2
	for k := parentKey(key); k != ""; k = parentKey(k) {
		p.key = k
		if n := l.z.tree.get(p); n != nil && n.flags()&hasNS != 0 && n.flags()&hasNSEC != 0 {
			p.key = ""
			return n
		}
	}
	p.key = ""
	return nil
}

// n3hash hashes the ancestor of the name being resolved that has d labels
// (the name itself when d is its label count), or the wildcard below it.
func (l *lookup) n3hash(d int, star bool) string {
	k := &l.s.k
	return l.z.n3.hash(l.s, star, k.wire[k.wireOffset(k.labels-d):k.wlen])
}

// n3match returns the node of the NSEC3 matching the ancestor with d labels
// (or the wildcard below it), or nil.
func (l *lookup) n3match(d int, star bool) *node {
	if l.z.n3 == nil {
		return nil
	}
	l.s.probe.key = l.n3hash(d, star)
	return l.z.n3.index.get(&l.s.probe)
}

// n3cover returns the node of the NSEC3 covering the hash of the ancestor
// with d labels (or the wildcard below it): the one with the greatest hash
// below it, or the last of the chain, whose next hash wraps around.
func (l *lookup) n3cover(d int, star bool) *node {
	if l.z.n3 == nil {
		return nil
	}
	key := l.n3hash(d, star)
	var found *node
	l.s.probe.key = key
	idx := l.z.n3.index.t
	idx.DescendLessOrEqual(itemOf(&l.s.probe), func(it item) bool {
		if it.n.key == key {
			return true
		}
		found = it.n
		return false
	})
	if found == nil {
		if it, ok := idx.Max(); ok && it.n.key != key {
			found = it.n
		}
	}
	return found
}

// closest appends the closest provable encloser proof (RFC 5155 7.2.1) for
// the name being resolved, trying its ancestors from the one with from
// labels up: the NSEC3 matching the closest encloser and the one covering
// the next closer name. It returns the closest encloser's label count, or
// -1 when no ancestor has an NSEC3.
func (l *lookup) closest(dst []dns.RR, from int) ([]dns.RR, int) {
	k := &l.s.k
	for c := min(from, k.labels-1); c >= l.z.olabels; c-- {
		if m := l.n3match(c, false); m != nil {
			dst = l.deny(dst, m)
			return l.deny(dst, l.n3cover(c+1, false)), c
		}
	}
	return dst, -1
}

// wildcardProof adds to l.proof what shows that an answer synthesized from
// the wildcard below the closest encloser with ce labels was right: that
// the name asked for does not exist (RFC 4035 3.1.3.3: the NSEC covering
// it; RFC 5155 7.2.6: the NSEC3 covering the next closer name).
func (l *lookup) wildcardProof(owner string, ce int) {
	if owner == "" || !l.proving() {
		return
	}
	if l.proof == nil {
		l.proof = make([]dns.RR, 0, 4)
	}
	switch l.z.denial {
	case DenialNSEC:
		l.proof = l.deny(l.proof, l.nsecAt(l.qkey()))
	case DenialNSEC3:
		l.proof = l.deny(l.proof, l.n3cover(ce+1, false))
	}
}

// negStart returns the authority section of a negative answer with DO,
// with room for its proofs: the SOA and its RRSIGs.
func (l *lookup) negStart() []dns.RR {
	ns := make([]dns.RR, 0, len(l.z.negDO)+len(l.proof)+6)
	return append(ns, l.z.negDO...)
}

// nxdomain answers NXDOMAIN for the name being resolved, whose closest
// encloser ce has d labels. With NSEC (RFC 4035 3.1.3.2): the NSEC covering
// the name and the one covering the wildcard *.ce, often the same. With
// NSEC3 (RFC 5155 7.2.2): the closest encloser proof and the NSEC3 covering
// the wildcard at the closest encloser.
func (l *lookup) nxdomain(ce *node, d int) {
	if !l.proving() {
		l.negative(dns.RcodeNameError, nil)
		return
	}
	ns := l.negStart()
	switch l.z.denial {
	case DenialNSEC:
		ns = l.deny(ns, l.nsecAt(l.qkey()))
		ns = l.deny(ns, l.nsecAt(l.s.wildcard(ce.key)))
	case DenialNSEC3:
		var c int
		if ns, c = l.closest(ns, d); c >= 0 {
			ns = l.deny(ns, l.n3cover(c, true))
		}
	}
	l.negative(dns.RcodeNameError, ns)
}

// nodata answers NOERROR without data from n, the node of the name being
// resolved, or the wildcard n when owner is set, whose closest encloser
// has ce labels.
//
// NSEC (RFC 4035 3.1.3.1, 3.1.3.4): the NSEC at the name, whose bitmap lacks
// the type, or for an empty non-terminal the NSEC covering it; for a
// wildcard, the NSEC covering the name and the one at the wildcard.
//
// NSEC3 (RFC 5155 7.2.3 to 7.2.5): the NSEC3 matching the name (empty
// non-terminals have one), or when opt-out left it without one, the closest
// provable encloser proof, whose next closer cover has the opt-out flag;
// for a wildcard, the closest encloser proof and the NSEC3 matching the
// wildcard.
func (l *lookup) nodata(n *node, owner string, ce int) {
	if !l.proving() {
		l.negative(dns.RcodeSuccess, nil)
		return
	}
	ns := l.negStart()
	k := &l.s.k
	switch l.z.denial {
	case DenialNSEC:
		ns = l.deny(ns, l.nsecAt(l.qkey()))
		if owner != "" {
			ns = l.deny(ns, l.nsecAt(n.key))
		}
	case DenialNSEC3:
		switch {
		case owner != "":
			var c int
			if ns, c = l.closest(ns, ce); c >= 0 {
				ns = l.deny(ns, l.n3match(c, true))
			}
		default:
			if m := l.n3match(k.labels, false); m != nil {
				ns = l.deny(ns, m)
			} else {
				ns, _ = l.closest(ns, k.labels-1)
			}
		}
	}
	l.negative(dns.RcodeSuccess, ns)
}

// insecure appends to a referral to cut, which has d labels and no DS, the
// proof that there is none (RFC 4035 3.1.4.1): the NSEC at the cut, whose
// bitmap has NS and not DS; or the NSEC3 matching the cut, or under opt-out
// the closest provable encloser proof whose next closer cover has the
// opt-out flag (RFC 5155 7.2.7).
func (l *lookup) insecure(auth []dns.RR, cut *node, d int) []dns.RR {
	switch l.z.denial {
	case DenialNSEC:
		if cut.flags()&hasNSEC != 0 {
			auth = l.deny(auth, cut)
		}
	case DenialNSEC3:
		if m := l.n3match(d, false); m != nil {
			auth = l.deny(auth, m)
		} else {
			auth, _ = l.closest(auth, d-1)
		}
	}
	return auth
}
