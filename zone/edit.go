package zone

import (
	"fmt"
	"slices"
	"strings"

	"github.com/miekg/dns"
)

// editor changes a tree of nodes: the Builder uses one to grow a zone from
// nothing, Apply uses one on a copy-on-write clone of a published zone.
//
// A published node must never change, since queries may be reading it.
// fresh holds the nodes this editor created or copied, which it may change
// in place; a nil fresh means every node is the editor's own (Builder).
// Apply validates exactly the fresh nodes, which are the touched names.
type editor struct {
	origin  string
	okey    string
	olabels int
	lim     Limits

	tree  tree
	count int
	bytes int64
	fresh map[*node]struct{}
	n3    *nsec3 // Apply: the NSEC3 chain of the version it started from, index cloned

	// open holds the RRs of the nodes being changed, unpacked; they are
	// packed into their nodes by close. A Builder closes each node as soon
	// as the stream moves on to the next name, so a transfer never holds
	// more than one name's dns.RRs beyond the packed zone.
	open map[*node][]dns.RR
	buf  []byte // packing scratch

	last  *node // the node of the previous RR: transfers come grouped by name
	k     keyBuf
	probe node
}

func newEditor(origin string, lim Limits) (*editor, error) {
	e := &editor{lim: lim, open: make(map[*node][]dns.RR)}
	if !e.k.set(dns.Fqdn(origin)) {
		return nil, fmt.Errorf("%w: bad origin %q", ErrInvalid, origin)
	}
	e.origin = dns.CanonicalName(origin)
	e.okey = string(e.k.b[:e.k.n])
	e.olabels = e.k.labels
	e.tree = newTree()
	return e, nil
}

func (e *editor) get(key string) *node {
	e.probe.key = key
	n := e.tree.get(&e.probe)
	e.probe.key = ""
	return n
}

// at parses name into e.k and returns its node, or nil if it has none yet.
func (e *editor) at(name string) (*node, error) {
	if !e.k.set(name) {
		return nil, fmt.Errorf("%w: bad owner name %q", ErrInvalid, name)
	}
	if !e.k.under(e.okey, e.olabels) {
		return nil, fmt.Errorf("%w: %s is not in %s", ErrOutOfZone, name, e.origin)
	}
	key := e.k.rel(e.k.labels, len(e.okey))
	if e.last != nil && e.last.key == key {
		return e.last, nil
	}
	return e.get(key), nil
}

// create inserts a node for the name in e.k, and empty non-terminals for
// any missing ancestors up to the apex.
func (e *editor) create() *node {
	skip := len(e.okey)
	key := string(e.k.b[skip:e.k.n])
	n := &node{key: key}
	e.insert(n)
	for d := e.k.labels - 1; d >= e.olabels; d-- {
		// An ancestor's key is a prefix of key: share its bytes.
		pk := key[:int(e.k.ends[d])-skip]
		if e.get(pk) != nil {
			break // and so do all of its ancestors
		}
		e.insert(&node{key: pk})
	}
	return n
}

func (e *editor) insert(n *node) {
	e.tree.put(n)
	if e.fresh != nil {
		e.fresh[n] = struct{}{}
	}
}

// mutable returns n itself if the editor may change it, else a copy that
// replaces it in the tree.
func (e *editor) mutable(n *node) *node {
	if e.fresh == nil {
		return n
	}
	if _, ok := e.fresh[n]; ok {
		return n
	}
	c := &node{key: n.key, wire: n.wire}
	e.insert(c)
	if e.last == n {
		e.last = c
	}
	return c
}

// add adds rr. totals says whether to check the zone-wide limits now
// (streaming) or leave that to the caller (Apply, which deletes first).
// Nothing changes when add returns an error.
func (e *editor) add(rr dns.RR, totals bool) error {
	if rr == nil {
		return fmt.Errorf("%w: nil record", ErrInvalid)
	}
	h := rr.Header()
	if h.Class != dns.ClassINET {
		return fmt.Errorf("%w: %s %s: class %s, only IN is supported", ErrInvalid, h.Name, typeName(h.Rrtype), dns.Class(h.Class))
	}
	if meta(h.Rrtype) {
		return fmt.Errorf("%w: %s: %s is not a data type", ErrInvalid, h.Name, typeName(h.Rrtype))
	}
	n, err := e.at(h.Name)
	if err != nil {
		return err
	}
	r, t := rankOf(rr)
	var rrs []dns.RR
	var i, j int
	if n != nil {
		rrs = e.rrs(n)
		i, j = run(rrs, r)
		for _, x := range rrs[i:j] {
			if dns.IsDuplicate(x, rr) {
				// RFC 5936 2.2: duplicates are not an error. A lower TTL
				// still counts, whatever order the copies came in.
				if ttl := rr.Header().Ttl; ttl < x.Header().Ttl {
					n = e.mutable(n)
					for _, y := range rrs[i:j] {
						y.Header().Ttl = ttl
					}
					e.open[n] = rrs
				}
				return nil
			}
		}
		if e.lim.RecordsPerType > 0 && j-i >= e.lim.RecordsPerType {
			what := typeName(t)
			if r&1 == 1 {
				what = "RRSIG covering " + what
			}
			return fmt.Errorf("%w: %s %s: more than %d records (max-records-per-type)", ErrLimit, h.Name, what, e.lim.RecordsPerType)
		}
		if i == j && e.lim.TypesPerName > 0 {
			if c := typesOf(rrs); c >= e.lim.TypesPerName && !(r&1 == 1 && anySig(rrs)) {
				return fmt.Errorf("%w: %s: adding %s makes more than %d types (max-types-per-name)", ErrLimit, h.Name, typeName(h.Rrtype), e.lim.TypesPerName)
			}
		}
	}
	size := int64(dns.Len(rr))
	if totals {
		if err := e.checkTotals(e.count+1, e.bytes+size); err != nil {
			return err
		}
	}

	if n == nil {
		n = e.create()
	} else {
		n = e.mutable(n)
	}
	if e.last != nil && e.last != n && e.fresh == nil {
		// A Builder is done with a name once the stream moves on; should it
		// come back, the node is unpacked again.
		if err := e.close(e.last); err != nil {
			return err
		}
	}
	rrs = slices.Insert(rrs, j, rr)
	normalizeTTL(rrs, i, j)
	e.open[n] = rrs
	e.count++
	e.bytes += size
	e.last = n
	return nil
}

// rrs returns the RRs of n: the open ones, or fresh copies of its packed
// ones, which the editor may change.
func (e *editor) rrs(n *node) []dns.RR {
	if rrs, ok := e.open[n]; ok {
		return rrs
	}
	i, j := n.first(), len(n.wire)
	return n.unpack(make([]dns.RR, 0, n.count(i, j)+1), n.owner(e.origin), i, j)
}

// close packs the open RRs of n into it.
func (e *editor) close(n *node) error {
	rrs, ok := e.open[n]
	if !ok {
		return nil
	}
	wire, dups, dupBytes, buf, err := pack(rrs, e.buf)
	e.buf = buf
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrInvalid, rrs[0].Header().Name, err)
	}
	n.wire = wire
	e.count -= dups
	e.bytes -= dupBytes
	delete(e.open, n)
	return nil
}

// run returns the bounds [i, j) of the run with rank r in rrs, which are
// sorted by rank; i == j (the place to insert) when there is none.
func run(rrs []dns.RR, r uint32) (i, j int) {
	lo, hi := 0, len(rrs)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if x, _ := rankOf(rrs[m]); x < r {
			lo = m + 1
		} else {
			hi = m
		}
	}
	i, j = lo, lo
	for j < len(rrs) {
		if x, _ := rankOf(rrs[j]); x != r {
			break
		}
		j++
	}
	return i, j
}

// normalizeTTL gives the run rrs[i:j+1], whose RR at j was just added,
// one TTL: the lowest (RFC 2181 5.2). The RRs are the editor's own.
func normalizeTTL(rrs []dns.RR, i, j int) {
	if i == j {
		return
	}
	ttl, old := rrs[j].Header().Ttl, rrs[i].Header().Ttl
	if ttl >= old {
		rrs[j].Header().Ttl = old
		return
	}
	for x := i; x < j; x++ {
		rrs[x].Header().Ttl = ttl
	}
}

// del removes the RR equal to rr (TTL aside), and nodes left empty without
// descendants.
func (e *editor) del(rr dns.RR) error {
	if rr == nil {
		return fmt.Errorf("%w: nil record", ErrInvalid)
	}
	h := rr.Header()
	n, err := e.at(h.Name)
	if err != nil {
		return err
	}
	idx := -1
	var rrs []dns.RR
	if n != nil {
		rrs = e.rrs(n)
		// The zone's RRs have been through the wire and back; so must rr,
		// or spellings the wire does not keep (the case of hex, base32 or
		// an NSEC3's next owner) would make it look different.
		rr = roundTrip(rr)
		r, _ := rankOf(rr)
		i, j := run(rrs, r)
		for x := i; x < j; x++ {
			if dns.IsDuplicate(rrs[x], rr) {
				idx = x
				break
			}
		}
	}
	if idx < 0 {
		return fmt.Errorf("%w: cannot delete %s %s", ErrNotFound, h.Name, typeName(h.Rrtype))
	}
	n = e.mutable(n)
	e.count--
	e.bytes -= int64(dns.Len(rrs[idx]))
	rrs = slices.Delete(rrs, idx, idx+1)
	e.open[n] = rrs
	e.last = n
	e.prune(n)
	return nil
}

// roundTrip returns rr as it comes out of the wire, or rr itself if it does
// not pack. rr is not the zone's (Apply does not own del), and packing
// writes its RDLENGTH: a copy is packed.
func roundTrip(rr dns.RR) dns.RR {
	buf := make([]byte, dns.Len(rr)+1)
	end, err := dns.PackRR(dns.Copy(rr), buf, 0, nil, false)
	if err != nil {
		return rr
	}
	c, _, err := dns.UnpackRR(buf[:end], 0)
	if err != nil {
		return rr
	}
	return c
}

// prune removes n and then its ancestors while they are empty and have no
// descendants left. The apex (key "") always stays.
func (e *editor) prune(n *node) {
	for n != nil && n.key != "" && e.empty(n) && !e.hasChildren(n.key) {
		e.tree.del(n)
		delete(e.open, n)
		if e.last == n {
			e.last = nil
		}
		n = e.get(parentKey(n.key))
	}
}

// empty reports whether n has no RRs, open or packed.
func (e *editor) empty(n *node) bool {
	if rrs, ok := e.open[n]; ok {
		return len(rrs) == 0
	}
	return n.empty()
}

// hasChildren reports whether any name lies below key. Descendants follow
// their ancestor directly in canonical order, so one step tells.
func (e *editor) hasChildren(key string) bool {
	found := false
	e.probe.key = key
	e.tree.ascend(&e.probe, func(x *node) bool {
		if x.key == key {
			return true
		}
		found = strings.HasPrefix(x.key, key) // keys end in 0x00: at a label boundary
		return false
	})
	e.probe.key = ""
	return found
}

// parentKey strips the last label from key. Escaped labels hold no 0x00,
// so the previous terminator marks the end of the parent.
func parentKey(key string) string {
	for i := len(key) - 2; i >= 0; i-- {
		if key[i] == 0 {
			return key[:i+1]
		}
	}
	return ""
}

func (e *editor) checkTotals(count int, bytes int64) error {
	if e.lim.Records > 0 && count > e.lim.Records {
		return fmt.Errorf("%w: %s: %d records, more than %d (max-records)", ErrLimit, e.origin, count, e.lim.Records)
	}
	if e.lim.Bytes > 0 && bytes > e.lim.Bytes {
		return fmt.Errorf("%w: %s: %d bytes of records, more than %d (zone-max-size)", ErrLimit, e.origin, bytes, e.lim.Bytes)
	}
	return nil
}

// zone validates the nodes the edit touched, trims them, and publishes the
// tree as a Zone.
func (e *editor) zone() (*Zone, error) {
	for n := range e.open {
		if err := e.close(n); err != nil {
			return nil, err
		}
	}
	var err error
	visit := func(n *node) bool {
		err = e.check(n)
		return err == nil
	}
	if e.fresh == nil {
		e.tree.ascend(nil, visit)
		if err == nil {
			e.tree = e.tree.compact()
		}
	} else {
		for n := range e.fresh {
			if !visit(n) {
				break
			}
		}
	}
	if err != nil {
		return nil, err
	}
	apex := e.get("")
	if apex == nil || apex.flags()&hasSOA == 0 {
		return nil, fmt.Errorf("%w: %s: no SOA record at the apex", ErrInvalid, e.origin)
	}
	i, j, _ := apex.set(dns.TypeSOA)
	soa := apex.unpack(nil, e.origin, i, j)
	z := &Zone{
		origin:  e.origin,
		okey:    e.okey,
		olabels: e.olabels,
		lim:     e.lim,
		tree:    e.tree,
		apex:    apex,
		soa:     soa[0].(*dns.SOA),
		len:     e.count,
		bytes:   e.bytes,
	}
	z.negative()
	e.dnssec(z, e.n3)
	return z, nil
}

func anySig(rrs []dns.RR) bool {
	for _, rr := range rrs {
		if _, ok := rr.(*dns.RRSIG); ok {
			return true
		}
	}
	return false
}

// meta reports whether t is a type that only exists in messages, never in
// zone data (RFC 6895 3.1, plus OPT and the transfer types).
func meta(t uint16) bool {
	switch t {
	case dns.TypeNone, dns.TypeOPT, dns.TypeTKEY, dns.TypeTSIG, dns.TypeIXFR,
		dns.TypeAXFR, dns.TypeMAILB, dns.TypeMAILA, dns.TypeANY:
		return true
	}
	return false
}

func typeName(t uint16) string {
	if s, ok := dns.TypeToString[t]; ok {
		return s
	}
	return fmt.Sprintf("TYPE%d", t)
}
