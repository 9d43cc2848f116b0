package zone

import (
	"github.com/miekg/dns"
)

// A WireQuery is one question, with what AppendResponse needs from the
// message that asked it.
type WireQuery struct {
	ID      uint16
	RD, CD  bool   // copied into the response, as dns.Msg.SetReply does
	Name    string // qname as asked; it goes into the question unchanged
	Type    uint16
	DO      bool
	EDNS    bool   // the query has an OPT RR: the response gets one too, without options
	UDPSize uint16 // its payload size
	TCP     bool
}

// AppendResponse writes the whole response to q, header to OPT, as a DNS
// message into buf[:0], straight from the zone's packed records: no dns.RR,
// no dns.Msg, no allocation. It answers what a resolver asks every second:
// data, CNAME chains inside the zone, wildcards, referrals, NXDOMAIN and
// NODATA, each with the additional addresses Lookup adds, and for a signed
// zone with DO the RRSIGs of data, CNAMEs, NS and DS.
//
// It reports false, and the caller uses Lookup instead, for everything
// else: ANY and RRSIG queries, DNAME, a signed zone's denial of existence
// (NXDOMAIN, NODATA, wildcard and insecure referral proofs with DO), and an
// answer too big for the transport, which Lookup's caller truncates.
// Records are the same as Lookup's; only the owner names of data differ in
// case, since they point at the question (RFC 1035 4.1.4 compression).
//
// rcode is the response code written: the caller may still drop the
// message, for example to fall through on NXDOMAIN.
func (z *Zone) AppendResponse(buf []byte, q WireQuery) (msg []byte, rcode int, ok bool) {
	switch q.Type {
	case dns.TypeANY, dns.TypeRRSIG, dns.TypeAXFR, dns.TypeIXFR, dns.TypeOPT:
		return buf, 0, false
	}
	// The state lives in the pooled scratch, not on the stack: a query runs
	// on a fresh goroutine, and a deep stack costs a copy when it grows.
	s := getScratch()
	w := &s.wire
	w.z, w.s, w.q, w.msg = z, s, q, buf[:0]
	ok = w.run()
	msg, rcode = w.msg, w.rcode
	w.reset()
	putScratch(s)
	return msg, rcode, ok
}

// wireLookup is the state of one AppendResponse.
type wireLookup struct {
	z   *Zone
	s   *scratch
	q   WireQuery
	msg []byte

	an, ns, ar uint16
	rcode      int
	aa         bool

	// The name being resolved is in s.k, and written uncompressed at
	// msg[name:]. Earlier names of a CNAME chain are at names[:step].
	name  int
	step  int
	names [maxChain + 1]int

	// targets are the offsets in msg of the names whose addresses go into
	// the additional section.
	targets  [16]int
	ntargets int
	overflow bool // there were more
}

const (
	headerLen = 12
	offQD     = 4
	offAN     = 6
	offNS     = 8
	offAR     = 10
)

// reset clears w for the next query, and drops its references.
func (w *wireLookup) reset() {
	w.z, w.s, w.q, w.msg = nil, nil, WireQuery{}, nil
	w.an, w.ns, w.ar, w.rcode, w.aa = 0, 0, 0, 0, false
	w.name, w.step, w.ntargets, w.overflow = 0, 0, 0, false
}

func (w *wireLookup) run() bool {
	k := &w.s.k
	if !k.set(w.q.Name) || !k.under(w.z.okey, w.z.olabels) {
		return false // the slow path writes FORMERR or REFUSED
	}
	w.msg = append(w.msg, make([]byte, headerLen)...)
	w.name = len(w.msg)
	w.msg = append(w.msg, k.wire[:k.wlen]...)
	w.msg = append(w.msg, byte(w.q.Type>>8), byte(w.q.Type), 0, byte(dns.ClassINET))
	w.rcode, w.aa = dns.RcodeSuccess, true

	for {
		w.names[w.step] = w.name
		next, ok := w.resolve()
		if !ok {
			return false
		}
		if next < 0 || w.step == maxChain || w.seen(next) {
			break
		}
		if !k.setWire(w.msg[next:]) || !k.under(w.z.okey, w.z.olabels) {
			break // out of the zone: the resolver follows the chain from here
		}
		w.step++
		w.name = next
	}
	if w.overflow {
		return false
	}
	w.additional()
	if w.q.EDNS {
		ttl := uint32(0)
		if w.q.DO {
			ttl = 1 << 15
		}
		w.msg = append(w.msg, 0, 0, byte(dns.TypeOPT), byte(w.q.UDPSize>>8), byte(w.q.UDPSize),
			byte(ttl>>24), byte(ttl>>16), byte(ttl>>8), byte(ttl), 0, 0)
		w.ar++
	}
	if len(w.msg) > w.limit() || len(w.msg) > 0x3FFF {
		// Too big: Lookup's caller truncates. Or so big that an offset
		// may not fit a compression pointer, which only TCP can carry.
		return false
	}
	w.header()
	return true
}

// limit is the largest response the transport takes (RFC 6891 6.2.5).
func (w *wireLookup) limit() int {
	switch {
	case w.q.TCP:
		return dns.MaxMsgSize
	case w.q.EDNS && w.q.UDPSize > dns.MinMsgSize:
		return int(w.q.UDPSize)
	}
	return dns.MinMsgSize
}

func (w *wireLookup) header() {
	m := w.msg
	m[0], m[1] = byte(w.q.ID>>8), byte(w.q.ID)
	m[2] = 1 << 7 // QR, opcode QUERY
	if w.aa {
		m[2] |= 1 << 2
	}
	if w.q.RD {
		m[2] |= 1
	}
	m[3] = byte(w.rcode & 0xF)
	if w.q.CD {
		m[3] |= 1 << 4
	}
	put16(m[offQD:], 1)
	put16(m[offAN:], w.an)
	put16(m[offNS:], w.ns)
	put16(m[offAR:], w.ar)
}

func put16(b []byte, v uint16) { b[0], b[1] = byte(v>>8), byte(v) }

// seen reports whether the name at msg[off:] was resolved before in this
// chain, which would make it a loop.
func (w *wireLookup) seen(off int) bool {
	for _, prev := range w.names[:w.step+1] {
		if equalWire(w.msg[prev:], w.msg[off:]) {
			return true
		}
	}
	return false
}

// equalWire compares the uncompressed names at the start of a and b,
// ignoring ASCII case.
func equalWire(a, b []byte) bool {
	for i := 0; i < len(a) && i < len(b); i++ {
		x := lowerASCII(a[i])
		if x != lowerASCII(b[i]) {
			return false
		}
		if x == 0 && isLengthOctet(a, i) {
			return true
		}
	}
	return false
}

// isLengthOctet reports whether a[i] is a length octet of the name at a.
func isLengthOctet(a []byte, i int) bool {
	for j := 0; j <= i; j += 1 + int(a[j]) {
		if j == i {
			return true
		}
	}
	return false
}

// ptr returns the compression pointer to the ancestor of the current name
// with d labels.
func (w *wireLookup) ptr(d int) uint16 {
	k := &w.s.k
	return 0xC000 | uint16(w.name+k.wireOffset(k.labels-d))
}

// resolve answers the current name. It returns the offset of the next name
// of a CNAME chain, or -1 when the answer is complete, and false when the
// answer is one for Lookup.
func (w *wireLookup) resolve() (int, bool) {
	z, k := w.z, &w.s.k
	n := z.apex
	for d := z.olabels; d < k.labels; d++ {
		f := n.flags()
		if f&hasNS != 0 && n != z.apex {
			return -1, w.referral(n, w.ptr(d))
		}
		if f&hasDNAME != 0 {
			return -1, false
		}
		c := z.get(w.s, k.rel(d+1, len(z.okey)))
		if c == nil {
			return w.missing(n, d)
		}
		if c.flags()&hasNSEC3 != 0 && z.denial == DenialNSEC3 {
			return -1, false // maybe an NSEC3 owner, hidden (RFC 5155 7.2.8)
		}
		n = c
	}
	if n.flags()&hasNS != 0 && n != z.apex && w.q.Type != dns.TypeDS {
		return -1, w.referral(n, w.ptr(k.labels))
	}
	return w.answer(n)
}

// proving reports whether a negative or wildcard answer needs a denial of
// existence proof, which is Lookup's job.
func (w *wireLookup) proving() bool {
	return w.q.DO && (w.z.denial != "" || w.z.signed)
}

// missing handles a name that does not exist below ce, which has d labels.
func (w *wireLookup) missing(ce *node, d int) (int, bool) {
	src := w.z.get(w.s, w.s.wildcard(ce.key))
	if src == nil {
		if w.proving() {
			return -1, false
		}
		w.negative(dns.RcodeNameError)
		return -1, true
	}
	if w.proving() {
		return -1, false
	}
	if src.flags()&hasNS != 0 && w.q.Type != dns.TypeDS {
		return -1, w.referral(src, w.ptr(w.s.k.labels))
	}
	return w.answer(src)
}

// answer answers from n, the node of the current name or the wildcard that
// stands for it.
func (w *wireLookup) answer(n *node) (int, bool) {
	owner := w.ptr(w.s.k.labels)
	if i, j, k := n.set(w.q.Type); i < j {
		if !w.q.DO {
			k = j
		}
		w.an += w.records(n, owner, i, k, true)
		w.rcode, w.aa = dns.RcodeSuccess, true
		return -1, true
	}
	if n.flags()&hasCNAME != 0 && w.q.Type != dns.TypeCNAME {
		i, j, k := n.set(dns.TypeCNAME)
		if !w.q.DO {
			k = j
		}
		at := len(w.msg)
		w.an += w.records(n, owner, i, k, false)
		w.rcode, w.aa = dns.RcodeSuccess, true
		// The target is the CNAME's RDATA: after the owner pointer (2),
		// type, class, TTL and RDLENGTH (10).
		return at + 12, true
	}
	if w.proving() {
		return -1, false
	}
	w.negative(dns.RcodeSuccess)
	return -1, true
}

// negative ends the answer with the SOA in the authority section (RFC 2308
// 3), owned by the origin, an ancestor of the current name.
func (w *wireLookup) negative(rcode int) {
	w.rcode, w.aa = rcode, true
	recs := w.z.negWire[:1]
	if w.q.DO {
		recs = w.z.negWire // with the SOA's RRSIGs (RFC 4035 3.1.3)
	}
	origin := w.ptr(w.z.olabels)
	for _, rec := range recs {
		w.msg = appendRecord(w.msg, origin, rec)
		w.ns++
	}
}

// referral ends the answer with the delegation at cut, owned by owner: its
// NS RRset, with DO its DS RRset and their RRSIGs, and the glue.
func (w *wireLookup) referral(cut *node, owner uint16) bool {
	i, j, _ := cut.set(dns.TypeNS)
	if w.q.DO {
		di, dj, dk := cut.set(dns.TypeDS)
		if di == dj && w.proving() {
			return false // an insecure delegation, with its proof
		}
		w.ns += w.records(cut, owner, i, j, true)
		if di < dj { // RRSIGs of a DS that is not there are not sent, as Lookup does
			w.ns += w.records(cut, owner, di, dk, false)
		}
	} else {
		w.ns += w.records(cut, owner, i, j, true)
	}
	w.rcode, w.aa = dns.RcodeSuccess, w.step > 0
	return true
}

// records writes the records n.wire[i:j] with the owner pointer owner and
// returns how many. With targets set it notes the names of NS, MX, SRV,
// SVCB and HTTPS records for the additional section.
func (w *wireLookup) records(n *node, owner uint16, i, j int, targets bool) uint16 {
	c := uint16(0)
	for off := i; off < j; {
		x := n.rec(off)
		at := len(w.msg)
		w.msg = appendRecord(w.msg, owner, n.wire[x.start:x.end])
		if targets {
			if t := targetOffset(x.t, n.wire[x.rdata:x.end]); t >= 0 {
				if w.ntargets == len(w.targets) {
					w.overflow = true // more names than noted: Lookup adds them all
				} else {
					w.targets[w.ntargets] = at + 12 + t
					w.ntargets++
				}
			}
		}
		c++
		off = x.end
	}
	return c
}

// appendRecord appends one record: the owner pointer, then type, class IN
// and the TTL, RDLENGTH and RDATA of rec, a packed record of a node.
func appendRecord(msg []byte, owner uint16, rec string) []byte {
	msg = append(msg, byte(owner>>8), byte(owner), rec[0], rec[1], 0, byte(dns.ClassINET))
	return append(msg, rec[2:]...)
}

// targetOffset returns where in rdata, of type t, the host name whose
// addresses belong in the additional section starts, or -1.
func targetOffset(t uint16, rdata string) int {
	off := -1
	switch t {
	case dns.TypeNS:
		off = 0
	case dns.TypeMX:
		off = 2
	case dns.TypeSRV:
		off = 6
	case dns.TypeSVCB, dns.TypeHTTPS:
		off = 2
		if len(rdata) > off && rdata[off] == 0 {
			return -1 // "." is the owner itself (RFC 9460 2.5)
		}
	}
	if off >= len(rdata) {
		return -1
	}
	return off
}

// additional writes the A and AAAA records (and with DO their RRSIGs) of
// the names noted by records, once per name, as Lookup's additional does.
func (w *wireLookup) additional() {
	z, k := w.z, &w.s.aux
	for t, off := range w.targets[:w.ntargets] {
		if w.seenTarget(t) {
			continue
		}
		if !k.setWire(w.msg[off:]) || !k.under(z.okey, z.olabels) {
			continue
		}
		n := z.get(w.s, k.rel(k.labels, len(z.okey)))
		if n == nil {
			continue
		}
		for _, typ := range [...]uint16{dns.TypeA, dns.TypeAAAA} {
			i, j, sk := n.set(typ)
			if !w.q.DO {
				sk = j
			}
			w.ar += w.records(n, 0xC000|uint16(off), i, sk, false)
		}
	}
}

func (w *wireLookup) seenTarget(t int) bool {
	for _, prev := range w.targets[:t] {
		if equalWire(w.msg[prev:], w.msg[w.targets[t]:]) {
			return true
		}
	}
	return false
}
