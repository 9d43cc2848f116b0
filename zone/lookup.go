package zone

import (
	"github.com/miekg/dns"
)

// Request is one question to a Zone.
type Request struct {
	Name string // qname, any case
	Type uint16
	DO   bool // DNSSEC OK: add the RRSIGs covering the RRsets handed out
	TCP  bool // the transport; only TCP gets a full answer to ANY (RFC 8482)
}

// Result is the answer to a Request, ready to be copied into a message.
//
// The RRs are unpacked for the caller, except that the authority section of
// a negative answer (the SOA, with DO its RRSIGs) is shared with the Zone and
// every other query: do not modify it (sorting a section in place counts).
// Copy what you need to change, for example to lower a TTL. Appending to a
// section is safe.
type Result struct {
	Rcode             int  // Success, NameError, YXDomain; FormatError or Refused for a bad name
	Authoritative     bool // the AA flag: false only for a referral
	Answer, Ns, Extra []dns.RR
}

// maxChain bounds the CNAME and DNAME steps followed for one query.
const maxChain = 16

// lookup is the state of one query while it follows CNAMEs and DNAMEs.
type lookup struct {
	z    *Zone
	s    *scratch
	req  Request
	step int // CNAME/DNAME redirections taken so far
	res  Result

	// With DO, the NSEC or NSEC3 records proving the wildcard answers of
	// the chain so far; they go into the authority section of any answer.
	proof []dns.RR
	seen  [8]*node // denial RRsets in the response so far, added once
	nseen int
}

// Lookup answers req from z following RFC 1034 4.3.2 (see the package
// doc). The caller makes sure req.Name is at or below the origin; a name
// that is not gets REFUSED, one that is no valid domain name FORMERR.
//
// Lookup unpacks the records it hands out, which costs allocations; the
// answers a server writes most can be written without any, straight from
// the packed records, by AppendResponse.
//
// With DO, a signed zone's answers carry what RFC 4035 3.1 and RFC 5155 7.2
// ask for, taken from the zone as transferred: the RRSIGs of every RRset,
// and the NSEC or NSEC3 records (with their RRSIGs) that prove NXDOMAIN,
// NODATA, wildcard answers and unsigned delegations (see dnssec.go).
// Without DO, no RRSIG, NSEC or NSEC3 is added to an answer unless it is
// the type asked for.
func (z *Zone) Lookup(req Request) Result {
	l := lookup{z: z, s: getScratch(), req: req}
	l.chase(req.Name)
	putScratch(l.s)
	return l.res
}

// chase resolves name and then each in-zone CNAME or DNAME target in turn.
// A chain that comes back to a name it saw, or grows past maxChain, stops
// where it is: the answer so far is correct, just incomplete, and the
// resolver will notice the loop itself.
func (l *lookup) chase(name string) {
	var seen [maxChain + 1]string
	for {
		seen[l.step] = name
		next := l.resolve(name)
		if next == "" || l.step == maxChain {
			return
		}
		for _, s := range seen[:l.step+1] {
			if equalName(s, next) {
				return
			}
		}
		l.step++
		name = next
	}
}

// resolve answers one name of the chain into l.res. It returns the next
// name to resolve, or "" when the answer is complete.
func (l *lookup) resolve(name string) string {
	z, k := l.z, &l.s.k
	if !k.set(name) {
		if l.step == 0 {
			l.res.Rcode = dns.RcodeFormatError
		}
		return ""
	}
	if !k.under(z.okey, z.olabels) {
		// Out of zone: refuse a question, stop a chain (the resolver
		// follows it from here).
		if l.step == 0 {
			l.res.Rcode = dns.RcodeRefused
		}
		return ""
	}

	// Go down from the apex one label at a time. n is the deepest existing
	// ancestor so far, a zone cut or DNAME on the way redirects the query.
	n := z.apex
	for d := z.olabels; d < k.labels; d++ {
		if n.flags()&hasNS != 0 && n != z.apex {
			l.referral(n, "", d)
			return ""
		}
		if n.flags()&hasDNAME != 0 { // including at the apex
			return l.dname(n, name, d)
		}
		c := z.get(l.s, k.rel(d+1, len(z.okey)))
		if c == nil || c.flags()&hasNSEC3 != 0 && l.hidden(c) {
			return l.missing(n, name, d)
		}
		n = c
	}
	// The DS of a child lives at the parent side of the cut: answer it here.
	if n.flags()&hasNS != 0 && n != z.apex && l.req.Type != dns.TypeDS {
		l.referral(n, "", k.labels)
		return ""
	}
	return l.answer(n, "", 0)
}

func (z *Zone) get(s *scratch, key string) *node {
	s.probe.key = key
	return z.tree.get(&s.probe)
}

// missing handles a name that does not exist below ce, its closest
// encloser, which has d labels. Because empty non-terminals are nodes, ce is
// the right encloser for RFC 4592 and only *.ce can be the source of
// synthesis.
func (l *lookup) missing(ce *node, name string, d int) string {
	src := l.z.get(l.s, l.s.wildcard(ce.key))
	if src == nil {
		l.nxdomain(ce, d)
		return ""
	}
	// Answer exactly as if src existed under the name asked for.
	if src.flags()&hasNS != 0 && l.req.Type != dns.TypeDS {
		l.referral(src, name, d+1)
		return ""
	}
	return l.answer(src, name, d)
}

// answer answers from the node n of the name, or from the wildcard n when
// owner, the name to synthesize records for, is set; ce is then the label
// count of the closest encloser, the wildcard's parent.
func (l *lookup) answer(n *node, owner string, ce int) string {
	qtype := l.req.Type
	switch qtype {
	case dns.TypeANY:
		l.any(n, owner, ce)
		return ""
	case dns.TypeRRSIG:
		// Asked for explicitly, RRSIGs are data and need no DO.
		if sigs := l.sigs(n, owner); len(sigs) > 0 {
			l.wildcardProof(owner, ce)
			l.positive(sigs, nil)
			return ""
		}
	}
	if data, sigs := l.set(n, qtype, owner); len(data) > 0 {
		l.wildcardProof(owner, ce)
		l.positive(data, sigs)
		l.res.Extra = l.additional(data)
		return ""
	}
	if n.flags()&hasCNAME != 0 && qtype != dns.TypeCNAME {
		data, sigs := l.set(n, dns.TypeCNAME, owner)
		l.wildcardProof(owner, ce)
		l.positive(data, sigs)
		return data[0].(*dns.CNAME).Target
	}
	l.nodata(n, owner, ce)
	return ""
}

// set returns fresh copies of the RRs of type t at n and, with DO, of the
// RRSIGs covering them, owned by owner or, when that is "", by n's name.
func (l *lookup) set(n *node, t uint16, owner string) (data, sigs []dns.RR) {
	i, j, k := n.set(t)
	if i == j && j == k {
		return nil, nil
	}
	if owner == "" {
		owner = l.z.ownerOf(n)
	}
	data = n.unpack(nil, owner, i, j)
	if l.req.DO {
		sigs = n.unpack(nil, owner, j, k)
	}
	return data, sigs
}

// sigs returns copies of all RRSIGs at n, for qtype RRSIG.
func (l *lookup) sigs(n *node, owner string) []dns.RR {
	var out []dns.RR
	for off := n.first(); off < len(n.wire); {
		x := n.rec(off)
		if x.t == dns.TypeRRSIG {
			if owner == "" {
				owner = l.z.ownerOf(n)
			}
			out = n.unpack(out, owner, x.start, x.end)
		}
		off = x.end
	}
	return out
}

// any answers qtype ANY (RFC 8482): over UDP one RRset, the lowest type
// number so the answer is stable, over TCP the whole node. NSEC, NSEC3 and
// RRSIGs only go with DO, and a wildcard's own NSEC is never synthesized.
func (l *lookup) any(n *node, owner string, ce int) {
	var out []dns.RR
	name := owner
	if name == "" {
		name = l.z.ownerOf(n)
	}
	switch {
	case l.req.TCP && l.req.DO && owner == "":
		out = n.unpack(nil, name, n.first(), len(n.wire))
	case l.req.TCP:
		for off := n.first(); off < len(n.wire); {
			x := n.rec(off)
			off = x.end
			switch x.t {
			case dns.TypeRRSIG:
				if !l.req.DO || x.covered == dns.TypeNSEC || x.covered == dns.TypeNSEC3 {
					continue
				}
			case dns.TypeNSEC, dns.TypeNSEC3:
				continue
			}
			out = n.unpack(out, name, x.start, x.end)
		}
	default:
		best := -1
		for off := n.first(); off < len(n.wire); {
			x := n.rec(off)
			off = x.end
			switch x.t {
			case dns.TypeRRSIG, dns.TypeNSEC, dns.TypeNSEC3:
			default:
				if best < 0 || int(x.t) < best {
					best = int(x.t)
				}
			}
		}
		if best >= 0 {
			data, sigs := l.set(n, uint16(best), name)
			out = append(data, sigs...)
		}
	}
	if len(out) == 0 {
		l.nodata(n, owner, ce)
		return
	}
	l.wildcardProof(owner, ce)
	l.positive(out, nil)
}

// positive adds an RRset (and with DO its RRSIGs) to the answer. The
// authority section holds the proofs of the wildcard answers so far.
func (l *lookup) positive(data, sigs []dns.RR) {
	l.res.Answer = append(l.res.Answer, data...)
	l.res.Answer = append(l.res.Answer, sigs...)
	l.res.Rcode, l.res.Authoritative = dns.RcodeSuccess, true
	l.res.Ns, l.res.Extra = l.proof, nil
}

// negative makes the answer NXDOMAIN or NODATA (rcode NOERROR). The
// answer section keeps any CNAMEs that led here (RFC 6604). ns is the
// authority section built by negStart and the proofs, nil for the plain SOA
// (and its RRSIGs with DO); the proofs of earlier wildcard steps are added.
func (l *lookup) negative(rcode int, ns []dns.RR) {
	l.res.Rcode, l.res.Authoritative = rcode, true
	l.res.Extra = nil
	switch {
	case !l.req.DO:
		l.res.Ns = l.z.neg
	case ns == nil && len(l.proof) == 0:
		l.res.Ns = l.z.negDO
	case ns == nil:
		l.res.Ns = append(l.negStart(), l.proof...)
	default:
		l.res.Ns = append(ns, l.proof...)
	}
}

// referral answers with the delegation at cut, which has d labels. Only a
// referral that starts the answer is non-authoritative: after a CNAME the
// answer section holds our data and the NS only tell where to go next.
func (l *lookup) referral(cut *node, owner string, d int) {
	ns, _ := l.set(cut, dns.TypeNS, owner)
	auth := ns
	if l.req.DO {
		// RFC 4035 3.1.4: the DS RRset and its RRSIGs go with the NS, or
		// the proof that there is no DS.
		ds, sigs := l.set(cut, dns.TypeDS, owner)
		unsigned := len(ds) == 0 && owner == "" && l.z.denial != ""
		if len(ds) > 0 || unsigned || len(l.proof) > 0 {
			size := len(ns) + len(ds) + len(sigs) + len(l.proof)
			if unsigned {
				size += 4 // two NSEC3s and their RRSIGs under opt-out
			}
			auth = append(append(append(make([]dns.RR, 0, size), ns...), ds...), sigs...)
			if unsigned {
				auth = l.insecure(auth, cut, d)
			}
			auth = append(auth, l.proof...)
		}
	}
	l.res.Rcode, l.res.Authoritative = dns.RcodeSuccess, l.step > 0
	l.res.Ns, l.res.Extra = auth, l.additional(ns)
}

// dname applies the DNAME at n, which has d labels, to name, a name below
// it (RFC 6672 3.2): the DNAME goes into the answer, then a CNAME from name
// to the substituted name, which is then followed.
func (l *lookup) dname(n *node, name string, d int) string {
	data, sigs := l.set(n, dns.TypeDNAME, "")
	l.positive(data, sigs)
	dn := data[0].(*dns.DNAME)

	// The labels of name left of the DNAME owner, in presentation form.
	k := &l.s.k
	keep := k.labels - d
	off := 0
	for range keep {
		off, _ = dns.NextLabel(name, off)
	}
	prefix := name[:off]

	t := &l.s.aux
	if !t.set(dn.Target) || k.wireOffset(keep)+t.wlen > maxWire {
		l.res.Rcode = dns.RcodeYXDomain
		return ""
	}
	target := prefix + dn.Target
	if dn.Target == "." {
		target = prefix
	}
	cname := &dns.CNAME{
		Hdr:    dns.RR_Header{Name: name, Rrtype: dns.TypeCNAME, Class: dns.ClassINET, Ttl: dn.Hdr.Ttl},
		Target: target,
	}
	l.res.Answer = append(l.res.Answer, cname)
	if l.req.Type == dns.TypeCNAME {
		return "" // the synthesized CNAME is the answer, as a real one would be
	}
	return target
}
