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
// The sections may share RRs, and even slices, with the Zone: do not modify
// them (sorting a section in place counts). Copy what you need to change,
// for example to lower a TTL. Appending to a section is safe.
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
}

// Lookup answers req from z following RFC 1034 4.3.2 (see the package
// doc). The caller makes sure req.Name is at or below the origin; a name
// that is not gets REFUSED, one that is no valid domain name FORMERR.
//
// An answer needs no allocation unless it has to be assembled: a single
// RRset without RRSIGs and a negative answer without DO are handed out
// straight from the zone.
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
		if n.flags&hasNS != 0 && n != z.apex {
			l.referral(n, "")
			return ""
		}
		if n.flags&hasDNAME != 0 { // including at the apex
			return l.dname(n, name, d)
		}
		c := z.get(l.s, k.rel(d+1, len(z.okey)))
		if c == nil {
			return l.missing(n, name)
		}
		n = c
	}
	// The DS of a child lives at the parent side of the cut: answer it here.
	if n.flags&hasNS != 0 && n != z.apex && l.req.Type != dns.TypeDS {
		l.referral(n, "")
		return ""
	}
	return l.answer(n, "")
}

func (z *Zone) get(s *scratch, key string) *node {
	s.probe.key = key
	return z.tree.get(&s.probe)
}

// missing handles a name that does not exist below ce, its closest
// encloser. Because empty non-terminals are nodes, ce is the right encloser
// for RFC 4592 and only *.ce can be the source of synthesis.
func (l *lookup) missing(ce *node, name string) string {
	src := l.z.get(l.s, l.s.wildcard(ce.key))
	if src == nil {
		l.negative(dns.RcodeNameError)
		return ""
	}
	// Answer exactly as if src existed under the name asked for.
	if src.flags&hasNS != 0 && l.req.Type != dns.TypeDS {
		l.referral(src, name)
		return ""
	}
	return l.answer(src, name)
}

// answer answers from the node n of the name, or from the wildcard n when
// owner, the name to synthesize records for, is set.
func (l *lookup) answer(n *node, owner string) string {
	qtype := l.req.Type
	switch qtype {
	case dns.TypeANY:
		l.any(n, owner)
		return ""
	case dns.TypeRRSIG:
		// Asked for explicitly, RRSIGs are data and need no DO.
		if sigs := n.sigs(); len(sigs) > 0 {
			l.positive(sigs, nil, owner)
			return ""
		}
	}
	if data, sigs := n.set(qtype); len(data) > 0 {
		l.positive(data, sigs, owner)
		l.res.Extra = l.additional(data)
		return ""
	}
	if n.flags&hasCNAME != 0 && qtype != dns.TypeCNAME {
		data, sigs := n.set(dns.TypeCNAME)
		l.positive(data, sigs, owner)
		return data[0].(*dns.CNAME).Target
	}
	l.negative(dns.RcodeSuccess) // NODATA
	return ""
}

// any answers qtype ANY (RFC 8482): over UDP one RRset, the lowest type
// number so the answer is stable, over TCP the whole node.
func (l *lookup) any(n *node, owner string) {
	var out []dns.RR
	switch {
	case l.req.TCP && l.req.DO:
		out = n.rrs
	case l.req.TCP:
		for _, rr := range n.rrs {
			if _, ok := rr.(*dns.RRSIG); !ok {
				out = append(out, rr)
			}
		}
	default:
		best := -1
		for _, rr := range n.rrs {
			switch t := rr.Header().Rrtype; t {
			case dns.TypeRRSIG, dns.TypeNSEC, dns.TypeNSEC3:
			default:
				if best < 0 || int(t) < best {
					best = int(t)
				}
			}
		}
		if best >= 0 {
			data, sigs := n.set(uint16(best))
			out = data
			if l.req.DO {
				out = append(data, sigs...)
			}
		}
	}
	if len(out) == 0 {
		l.negative(dns.RcodeSuccess)
		return
	}
	l.positive(out, nil, owner)
}

// positive adds an RRset (and with DO its RRSIGs) to the answer.
func (l *lookup) positive(data, sigs []dns.RR, owner string) {
	if owner != "" {
		data = synthesize(data, owner)
	}
	l.res.Answer = appendRRs(l.res.Answer, data)
	if l.req.DO && len(sigs) > 0 {
		if owner != "" {
			sigs = synthesize(sigs, owner)
		}
		l.res.Answer = appendRRs(l.res.Answer, sigs)
	}
	l.res.Rcode, l.res.Authoritative = dns.RcodeSuccess, true
	l.res.Ns, l.res.Extra = nil, nil
}

// negative makes the answer NXDOMAIN or NODATA (rcode NOERROR). The
// answer section keeps any CNAMEs that led here (RFC 6604).
func (l *lookup) negative(rcode int) {
	l.res.Rcode, l.res.Authoritative = rcode, true
	l.res.Ns, l.res.Extra = l.z.neg, nil
	if l.req.DO {
		l.res.Ns = l.z.negDO
	}
}

// referral answers with the delegation at cut. Only a referral that starts
// the answer is non-authoritative: after a CNAME the answer section holds
// our data and the NS only tell where to go next.
func (l *lookup) referral(cut *node, owner string) {
	ns, _ := cut.set(dns.TypeNS)
	if owner != "" {
		ns = synthesize(ns, owner)
	}
	auth := ns
	if l.req.DO {
		// RFC 4035 3.1.4: the DS RRset and its RRSIGs go with the NS.
		ds, sigs := cut.set(dns.TypeDS)
		if owner != "" {
			ds, sigs = synthesize(ds, owner), synthesize(sigs, owner)
		}
		auth = appendRRs(appendRRs(auth, ds), sigs)
	}
	l.res.Rcode, l.res.Authoritative = dns.RcodeSuccess, l.step > 0
	l.res.Ns, l.res.Extra = auth, l.additional(ns)
}

// dname applies the DNAME at n, which has d labels, to name, a name below
// it (RFC 6672 3.2): the DNAME goes into the answer, then a CNAME from name
// to the substituted name, which is then followed.
func (l *lookup) dname(n *node, name string, d int) string {
	data, sigs := n.set(dns.TypeDNAME)
	l.positive(data, sigs, "")
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

// synthesize copies rrs with the owner name replaced, for wildcard answers.
// The zone's own RRs are shared and must stay as they are.
func synthesize(rrs []dns.RR, owner string) []dns.RR {
	if len(rrs) == 0 {
		return nil
	}
	out := make([]dns.RR, len(rrs))
	for i, rr := range rrs {
		c := dns.Copy(rr)
		c.Header().Name = owner
		out[i] = c
	}
	return out
}

// appendRRs appends src to dst. When dst is empty it returns src itself,
// capped so that a later append copies instead of writing into the zone.
func appendRRs(dst, src []dns.RR) []dns.RR {
	if len(dst) == 0 {
		return src[:len(src):len(src)]
	}
	return append(dst, src...)
}
