package zone

import (
	"unsafe"

	"github.com/miekg/dns"
)

// A node is one owner name. Its RRs are kept packed in one string, in wire
// format without the owner name, rather than as miekg dns.RR values: a
// name with one A record takes 13 bytes of data instead of about 100 (the
// RR struct, its interface slot, the address slice and a slice to hold
// them), and an answer can be copied into a response as it is (wire.go).
// A caller that wants dns.RR values gets fresh copies (see unpack).
//
// wire is a flags byte (the types that steer a lookup, see hasNS), the
// owner name as transferred when it has upper-case letters (hasCase: two
// octets of length and the name in presentation format; a lower-case name
// is worked out from the key instead, see ownerName), and then the records,
// each
//
//	type (2 octets) | TTL (4) | RDLENGTH (2) | RDATA, uncompressed
//
// grouped into runs by rank (see rank): the RRs of one type, directly
// followed by the RRSIGs that cover that type. The class is always IN.
//
// An empty non-terminal is a node without RRs (wire ""). It has to exist
// because it changes the answer: it is NODATA rather than NXDOMAIN, and it
// is the closest encloser that decides which wildcard applies (RFC 4592
// 3.3).
//
// Nodes reachable from a Zone are never modified; an edit copies the node.
type node struct {
	key  string // relative to the origin: the apex is ""
	wire string
}

const (
	hasNS uint8 = 1 << iota
	hasDNAME
	hasCNAME
	hasSOA
	hasNSEC
	hasNSEC3
	hasSig
	hasCase
)

// recHeader is the length of a record's fixed part: type, TTL, RDLENGTH.
const recHeader = 8

func (n *node) flags() uint8 {
	if len(n.wire) == 0 {
		return 0
	}
	return n.wire[0]
}

func (n *node) empty() bool { return len(n.wire) == 0 }

// rec is one record of a node: wire[start:end], its RDATA at wire[rdata:end].
type rec struct {
	t, covered uint16 // covered: the type an RRSIG covers, else t
	ttl        uint32
	start      int
	rdata      int
	end        int
}

// rec parses the record that starts at offset off of n.wire.
func (n *node) rec(off int) rec {
	w := n.wire
	r := rec{
		t:     uint16(w[off])<<8 | uint16(w[off+1]),
		ttl:   uint32(w[off+2])<<24 | uint32(w[off+3])<<16 | uint32(w[off+4])<<8 | uint32(w[off+5]),
		start: off,
		rdata: off + recHeader,
	}
	r.end = r.rdata + (int(w[off+6])<<8 | int(w[off+7]))
	r.covered = r.t
	if r.t == dns.TypeRRSIG && r.end-r.rdata >= 2 {
		r.covered = uint16(w[r.rdata])<<8 | uint16(w[r.rdata+1])
	}
	return r
}

func (r rec) rank() uint32 { return rank(r.covered, r.t == dns.TypeRRSIG) }

// first is the offset of the first record.
func (n *node) first() int {
	if n.flags()&hasCase == 0 {
		return 1
	}
	return 3 + (int(n.wire[1])<<8 | int(n.wire[2]))
}

// owner returns the name of n in the zone origin: as transferred if that
// had upper-case letters, else worked out from its key.
func (n *node) owner(origin string) string {
	if s := n.caseName(); s != "" {
		return s
	}
	return ownerName(n.key, origin)
}

// caseName returns the owner name as transferred, or "" when it is the
// lower-case name of the key.
func (n *node) caseName() string {
	if n.flags()&hasCase == 0 {
		return ""
	}
	return n.wire[3:n.first()]
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

// run returns the byte range [i, j) of n.wire holding the run with rank r;
// i == j when there is none. Nodes hold a handful of records, so a scan is
// as fast as anything cleverer.
func (n *node) run(r uint32) (i, j int) {
	off := n.first()
	for off < len(n.wire) {
		x := n.rec(off)
		if x.rank() >= r {
			break
		}
		off = x.end
	}
	i, j = off, off
	for j < len(n.wire) {
		x := n.rec(j)
		if x.rank() != r {
			break
		}
		j = x.end
	}
	if i >= len(n.wire) {
		i, j = len(n.wire), len(n.wire)
	}
	return i, j
}

// set returns the byte ranges of the RRs of type t, [i, j), and of the
// RRSIGs covering them, [j, k).
func (n *node) set(t uint16) (i, j, k int) {
	i, j = n.run(rank(t, false))
	k = j
	sr := rank(t, true)
	for k < len(n.wire) {
		x := n.rec(k)
		if x.rank() != sr {
			break
		}
		k = x.end
	}
	return i, j, k
}

// count returns the number of records in n.wire[i:j].
func (n *node) count(i, j int) int {
	c := 0
	for off := i; off < j; off = n.rec(off).end {
		c++
	}
	return c
}

// unpack returns fresh dns.RRs for the records in n.wire[i:j], owned by
// owner. The caller may change them.
func (n *node) unpack(dst []dns.RR, owner string, i, j int) []dns.RR {
	if i >= j {
		return dst
	}
	msg := unsafe.Slice(unsafe.StringData(n.wire), len(n.wire))
	for off := i; off < j; {
		x := n.rec(off)
		h := dns.RR_Header{Name: owner, Rrtype: x.t, Class: dns.ClassINET, Ttl: x.ttl, Rdlength: uint16(x.end - x.rdata)}
		rr, _, err := dns.UnpackRRWithHeader(h, msg[:x.end], x.rdata)
		if err != nil {
			// Only records that packed can be here, so this does not
			// happen; hand out the RDATA as it is rather than nothing.
			rr = &dns.RFC3597{Hdr: h, Rdata: hexRdata(msg[x.rdata:x.end])}
		}
		dst = append(dst, rr)
		off = x.end
	}
	return dst
}

func hexRdata(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

// types returns the number of distinct RR types at n, counting RRSIG once,
// as the TypesPerName limit sees them.
func typesOf(rrs []dns.RR) int {
	c, sig := 0, false
	last := uint32(1<<32 - 1)
	for _, rr := range rrs {
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
	case dns.TypeRRSIG:
		return hasSig
	}
	return 0
}

// pack returns the wire of a node holding rrs, which are sorted by rank,
// and the number and wire length of the RRs it left out as duplicates of
// others (RFC 5936 2.2: the same RDATA, which two spellings of one record
// in a zone file may hide from dns.IsDuplicate). buf is scratch space,
// grown as needed and returned for reuse.
func pack(rrs []dns.RR, buf []byte) (wire string, dups int, dupBytes int64, _ []byte, _ error) {
	if len(rrs) == 0 {
		return "", 0, 0, buf, nil
	}
	out := make([]byte, 1, 1+16*len(rrs))
	var flags uint8
	if name := rrs[0].Header().Name; hasUpper(name) && len(name) < 1<<16 {
		flags |= hasCase
		out = append(out, byte(len(name)>>8), byte(len(name)))
		out = append(out, name...)
	}
	runStart, runRank := len(out), uint32(1<<32-1)
	for _, rr := range rrs {
		h := rr.Header()
		size := dns.Len(rr) + 1 // the owner name is packed too, uncompressed
		if cap(buf) < size {
			buf = make([]byte, size+size/2)
		}
		buf = buf[:cap(buf)]
		end, err := dns.PackRR(rr, buf, 0, nil, false)
		if err != nil {
			return "", 0, 0, buf, err
		}
		// Skip the owner name and the class: the node knows them.
		off := skipName(buf)
		if off < 0 || end-off < 10 {
			return "", 0, 0, buf, dns.ErrRdata
		}
		if r, _ := rankOf(rr); r != runRank {
			runStart, runRank = len(out), r
		} else if hasRdata(out[runStart:], buf[off+10:end]) {
			dups++
			dupBytes += int64(dns.Len(rr))
			continue
		}
		flags |= flagOf(h.Rrtype)
		out = append(out, buf[off:off+2]...) // type
		out = append(out, buf[off+4:end]...) // TTL, RDLENGTH, RDATA
	}
	out[0] = flags
	return unsafe.String(unsafe.SliceData(out), len(out)), dups, dupBytes, buf, nil
}

// hasRdata reports whether the packed records in run have the RDATA rdata.
func hasRdata(run, rdata []byte) bool {
	for off := 0; off+recHeader <= len(run); {
		l := int(run[off+6])<<8 | int(run[off+7])
		if string(run[off+recHeader:off+recHeader+l]) == string(rdata) {
			return true
		}
		off += recHeader + l
	}
	return false
}

func hasUpper(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			return true
		}
	}
	return false
}

// skipName returns the offset after the uncompressed name at the start of
// b, or -1.
func skipName(b []byte) int {
	off := 0
	for off < len(b) {
		l := int(b[off])
		if l == 0 {
			return off + 1
		}
		if l&0xC0 != 0 {
			return -1
		}
		off += 1 + l
	}
	return -1
}

// ownerName returns the presentation form of the name with the key key,
// relative to origin: lower case, since keys are.
func ownerName(key, origin string) string {
	if key == "" {
		return origin
	}
	var wire [maxWire + 1]byte
	w := 0
	// Keys list labels root side first, each ended by 0x00; the wire name
	// wants them the other way round.
	end := len(key)
	for end > 0 {
		start := end - 1
		for start > 0 && key[start-1] != 0 {
			start--
		}
		lenAt := w
		w++
		for i := start; i < end-1; i++ {
			c := key[i]
			if c == 1 { // escaped 0x00 or 0x01
				i++
				c = key[i] - 1
			}
			wire[w] = c
			w++
		}
		wire[lenAt] = byte(w - lenAt - 1)
		end = start
	}
	wire[w] = 0
	rel, _, err := dns.UnpackDomainName(wire[:w+1], 0)
	if err != nil {
		return origin
	}
	if origin == "." {
		return rel
	}
	return rel + origin
}
