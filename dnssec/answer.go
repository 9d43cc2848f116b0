package dnssec

import (
	"slices"
	"strings"

	"github.com/cfsecondary/cfsecondary/zone"

	"github.com/miekg/dns"
)

// Answer looks req up in z, the unsigned zone, and returns the answer we
// serve: Sign(z, req, z.Lookup(req)).
func (s *Signer) Answer(z *zone.Zone, req zone.Request) zone.Result {
	return s.Sign(z, req, z.Lookup(req))
}

// Sign turns res, the answer of the unsigned zone z to req (what z.Lookup
// returns, possibly with override records in it), into the answer we serve:
//
//   - always: the apex DNSKEY RRset is ours (in multi-signer mode the union
//     with the transferred one), CDS and CDNSKEY are ours, NSEC3PARAM is ours
//     in NSEC3 mode; whatever DNSSEC records the transferred zone has
//     (RRSIG, NSEC, NSEC3, NSEC3PARAM) are dropped; a query for the NXNAME
//     meta-type gets FORMERR (RFC 9824 3.5).
//   - with DO: every RRset of the answer and authority sections is signed
//     with our ZSK (DNSKEY, CDS and CDNSKEY with our KSK), except the NS of a
//     referral and the CNAME synthesized from a DNAME; authoritative
//     addresses in the additional section are signed, glue is not; a
//     referral carries the signed DS or the proof that there is none;
//     negative answers carry the signed SOA and the denial of existence.
//
// Compact denial answers NXDOMAIN with NOERROR and an NSEC with NXNAME
// (with DO only: without, NXDOMAIN stays). Wildcard answers are signed as
// if the name existed, which needs no proof (see the package doc).
//
// The result shares records with z and with the signature cache: it must not
// be modified (appending to a section is safe), as Lookup's.
func (s *Signer) Sign(z *zone.Zone, req zone.Request, res zone.Result) zone.Result {
	if z == nil || z.Origin() != s.origin {
		return res
	}
	if req.Type == dns.TypeNXNAME {
		return zone.Result{Rcode: dns.RcodeFormatError}
	}
	switch res.Rcode {
	case dns.RcodeSuccess, dns.RcodeNameError, dns.RcodeYXDomain:
	default:
		return res
	}
	v := s.version(z)
	final := chainEnd(req.Name, res.Answer)
	res = v.scrub(res, final)
	if equalName(final, s.origin) {
		res = v.apexAnswer(req, res, final)
	}
	if req.Type == dns.TypeRRSIG && res.Rcode == dns.RcodeSuccess && len(res.Answer) == 0 {
		if r, ok := s.rrsigQuery(v, final); ok {
			return r
		}
	}
	if !req.DO {
		return res
	}
	return s.signed(v, req, res, final)
}

// signed adds signatures and denial of existence to res.
func (s *Signer) signed(v view, req zone.Request, res zone.Result, final string) zone.Result {
	out := zone.Result{Rcode: res.Rcode, Authoritative: res.Authoritative}
	var proofs []int // NSEC3 entries to add to the authority section
	var wild []string
	out.Answer = make([]dns.RR, 0, 2*len(res.Answer)+1)
	var dname []string // DNAME owners met so far
	for rrset := range rrsets(res.Answer) {
		h := rrset[0].Header()
		if h.Rrtype == dns.TypeCNAME && synthesized(h.Name, dname) {
			out.Answer = append(out.Answer, rrset...) // RFC 6672 5.3.1: validators synthesize it
			continue
		}
		if h.Rrtype == dns.TypeDNAME {
			dname = append(dname, h.Name)
		}
		out.Answer = s.appendSigned(v, out.Answer, rrset, &wild)
	}

	switch cut := referral(res.Ns, s.origin); {
	case cut != "":
		// RFC 4035 3.1.4: the DS RRset and its signatures, or the proof that
		// the delegation has none. The NS RRset and the glue are not signed.
		var ds []dns.RR
		out.Ns = make([]dns.RR, 0, len(res.Ns)+4)
		for _, rr := range res.Ns {
			if rr.Header().Rrtype == dns.TypeDS {
				ds = append(ds, rr)
			} else {
				out.Ns = append(out.Ns, rr)
			}
		}
		if len(ds) > 0 {
			out.Ns = append(out.Ns, ds...)
			out.Ns = s.appendSigs(out.Ns, ds, ds[0].Header().Name, s.zsk, "")
		} else if v.denial == DenialNSEC3 {
			proofs = v.nsec3().nodata(proofs, cut)
		} else {
			nsec := v.compactNSEC(cut, delegationBitmap)
			out.Ns = append(out.Ns, nsec)
			out.Ns = s.appendSigs(out.Ns, []dns.RR{nsec}, nsec.Hdr.Name, s.zsk, "")
		}
		out.Extra = res.Extra

	case negative(res.Ns):
		out.Ns = make([]dns.RR, 0, 4+2*len(s.zsk))
		for rrset := range rrsets(res.Ns) {
			out.Ns = append(out.Ns, rrset...)
			if soa, ok := rrset[0].(*dns.SOA); ok && soa.Hdr.Ttl != v.z.SOA().Hdr.Ttl {
				// The SOA with the negative TTL: the SOA's signature.
				out.Ns = s.appendSigsTTL(out.Ns, []dns.RR{v.z.SOA()}, s.origin, s.zsk, "", soa.Hdr.Ttl)
				continue
			}
			out.Ns = s.appendSigs(out.Ns, rrset, rrset[0].Header().Name, s.zsk, "")
		}
		if v.denial == DenialNSEC3 {
			if res.Rcode == dns.RcodeNameError {
				proofs = v.nsec3().nxdomain(proofs, final)
			} else {
				proofs = v.nsec3().nodata(proofs, final)
			}
			break
		}
		// Compact denial: one NSEC at the name, NXDOMAIN turned NODATA.
		var nsec *dns.NSEC
		if res.Rcode == dns.RcodeNameError {
			nsec = v.compactNSEC(final, nxnameBitmap)
			out.Rcode = dns.RcodeSuccess
		} else {
			nsec = v.compactNSEC(final, bitmap(v.typesAt(final), req.Type))
		}
		if req.Type == dns.TypeNSEC {
			// Asked for the NSEC itself: it is the answer.
			out.Answer = append(out.Answer, nsec)
			out.Answer = s.appendSigs(out.Answer, []dns.RR{nsec}, nsec.Hdr.Name, s.zsk, "")
			out.Ns = nil
			break
		}
		out.Ns = append(out.Ns, nsec)
		out.Ns = s.appendSigs(out.Ns, []dns.RR{nsec}, nsec.Hdr.Name, s.zsk, "")

	default:
		for rrset := range rrsets(res.Ns) {
			out.Ns = s.appendSigned(v, out.Ns, rrset, &wild)
		}
		out.Extra = s.signAdditional(v, res.Extra)
	}

	if v.denial == DenialNSEC3 {
		c := v.nsec3()
		for _, next := range wild {
			proofs = c.expanded(proofs, next)
		}
		if len(proofs) > 0 {
			slices.Sort(proofs)
			proofs = slices.Compact(proofs)
			for _, i := range proofs {
				rr := c.rr(i)
				out.Ns = append(out.Ns, rr)
				out.Ns = s.appendSigs(out.Ns, []dns.RR{rr}, rr.Hdr.Name, s.zsk, "")
			}
		}
	}
	return out
}

// appendSigned appends rrset and its RRSIGs to dst. In NSEC3 mode an RRset
// synthesized from a wildcard is signed as the wildcard (the RRSIG label
// count tells validators so), and its next closer name goes to *wild for the
// proof that no closer match exists. Compact denial signs it as it is.
func (s *Signer) appendSigned(v view, dst, rrset []dns.RR, wild *[]string) []dns.RR {
	h := rrset[0].Header()
	dst = append(dst, rrset...)
	keys := s.zsk
	if equalName(h.Name, s.origin) && apexType(h.Rrtype) && h.Rrtype != dns.TypeNSEC3PARAM {
		keys = s.ksk
	}
	if v.denial == DenialNSEC3 {
		c := v.nsec3()
		if ce, next := c.closest(h.Name); next != "" {
			*wild = append(*wild, next)
			return s.appendSigs(dst, rrset, wildcard(ce), keys, h.Name)
		}
	}
	return s.appendSigs(dst, rrset, h.Name, keys, "")
}

// signAdditional signs the RRsets of the additional section that are
// authoritative data of the zone (the addresses of in-zone MX, SRV, NS
// targets); addresses below a zone cut are glue and stay unsigned.
func (s *Signer) signAdditional(v view, extra []dns.RR) []dns.RR {
	if len(extra) == 0 {
		return extra
	}
	out := make([]dns.RR, 0, 2*len(extra))
	for rrset := range rrsets(extra) {
		out = append(out, rrset...)
		h := rrset[0].Header()
		if h.Rrtype == dns.TypeOPT || !authoritative(v, h.Name, h.Rrtype) {
			continue
		}
		out = s.appendSigs(out, rrset, h.Name, s.zsk, "")
	}
	return out
}

// authoritative reports whether the zone answers for name and type itself,
// rather than with a referral.
func authoritative(v view, name string, t uint16) bool {
	if v.denial == DenialNSEC3 {
		return v.nsec3().has(name)
	}
	r := v.z.Lookup(zone.Request{Name: name, Type: t})
	return r.Authoritative && len(r.Answer) > 0 && equalName(r.Answer[0].Header().Name, name)
}

// rrsigQuery answers an explicit query for type RRSIG at name: the
// signatures of every RRset there, which are data and need no DO.
func (s *Signer) rrsigQuery(v view, name string) (zone.Result, bool) {
	r := v.z.Lookup(zone.Request{Name: name, Type: dns.TypeANY, TCP: true})
	if r.Rcode != dns.RcodeSuccess || !r.Authoritative || len(r.Answer) == 0 {
		return r, false
	}
	var sigs []dns.RR
	apex := equalName(name, s.origin)
	for rrset := range rrsets(r.Answer) {
		h := rrset[0].Header()
		if dnssecType(h.Rrtype) || apex && apexType(h.Rrtype) {
			continue
		}
		sigs = s.appendSigs(sigs, rrset, h.Name, s.zsk, "")
	}
	if apex {
		for _, t := range v.apex {
			data, _ := v.apexData(t)
			keys := s.ksk
			if t == dns.TypeNSEC3PARAM {
				keys = s.zsk
			}
			sigs = s.appendSigs(sigs, data, s.origin, keys, "")
		}
	}
	if len(sigs) == 0 {
		return r, false
	}
	return zone.Result{Rcode: dns.RcodeSuccess, Authoritative: true, Answer: sigs}, true
}

// scrub drops the transferred zone's DNSSEC records (RRSIG, NSEC, NSEC3,
// NSEC3PARAM) and, at the apex, its DNSKEY, CDS and CDNSKEY: we sign, deny
// and publish keys ourselves. When that empties the answer for the name the
// query ends at, the answer becomes NODATA. Nothing is copied when there is
// nothing to drop, the usual case of an unsigned zone.
func (v view) scrub(res zone.Result, final string) zone.Result {
	drop := func(rr dns.RR) bool {
		h := rr.Header()
		return dnssecType(h.Rrtype) || apexType(h.Rrtype) && equalName(h.Name, v.origin)
	}
	if !slices.ContainsFunc(res.Answer, drop) && !slices.ContainsFunc(res.Ns, drop) && !slices.ContainsFunc(res.Extra, drop) {
		return res
	}
	keep := func(rrs []dns.RR) []dns.RR {
		if !slices.ContainsFunc(rrs, drop) {
			return rrs
		}
		out := make([]dns.RR, 0, len(rrs))
		for _, rr := range rrs {
			if !drop(rr) {
				out = append(out, rr)
			}
		}
		return out
	}
	hadAnswer := len(res.Answer) > 0
	res.Answer, res.Ns, res.Extra = keep(res.Answer), keep(res.Ns), keep(res.Extra)
	if hadAnswer && res.Rcode == dns.RcodeSuccess && len(res.Ns) == 0 &&
		!slices.ContainsFunc(res.Answer, func(rr dns.RR) bool { return equalName(rr.Header().Name, final) }) {
		res.Ns, res.Extra, res.Authoritative = v.negSOA, nil, true
	}
	return res
}

// apexAnswer answers the RRsets we publish at the apex (DNSKEY, CDS,
// CDNSKEY, NSEC3PARAM) in place of the zone's, and adds them to a full ANY.
func (v view) apexAnswer(req zone.Request, res zone.Result, final string) zone.Result {
	if req.Type == dns.TypeANY {
		if req.TCP && res.Rcode == dns.RcodeSuccess && len(res.Answer) > 0 {
			out := slices.Clip(res.Answer)
			for _, t := range v.apex {
				data, _ := v.apexData(t)
				out = append(out, data...)
			}
			res.Answer = out
		}
		return res
	}
	data, ours := v.apexData(req.Type)
	if !ours {
		return res
	}
	var chain []dns.RR // CNAMEs that led to the apex
	for _, rr := range res.Answer {
		if !equalName(rr.Header().Name, final) {
			chain = append(chain, rr)
		}
	}
	res.Rcode, res.Authoritative, res.Extra = dns.RcodeSuccess, true, nil
	if len(data) == 0 {
		res.Answer, res.Ns = chain, v.negSOA
		return res
	}
	res.Answer, res.Ns = append(chain, data...), nil
	return res
}

// rrsets yields the RRsets of a section: runs of records with the same
// owner, type and class, as Lookup groups them.
func rrsets(rrs []dns.RR) func(func([]dns.RR) bool) {
	return func(yield func([]dns.RR) bool) {
		for i := 0; i < len(rrs); {
			h := rrs[i].Header()
			j := i + 1
			for j < len(rrs) {
				g := rrs[j].Header()
				if g.Rrtype != h.Rrtype || g.Class != h.Class || !equalName(g.Name, h.Name) {
					break
				}
				j++
			}
			if !yield(rrs[i:j:j]) {
				return
			}
			i = j
		}
	}
}

// chainEnd returns the name the answer ends at: qname, or the target of the
// CNAME chain (DNAME substitutions included) the answer section follows.
func chainEnd(qname string, answer []dns.RR) string {
	name := qname
	for _, rr := range answer {
		if c, ok := rr.(*dns.CNAME); ok && equalName(c.Hdr.Name, name) {
			name = c.Target
		}
	}
	return name
}

// synthesized reports whether a CNAME owned by name comes from one of the
// DNAMEs (it is below one): it is made per query and left unsigned.
func synthesized(name string, dnames []string) bool {
	for _, d := range dnames {
		if !equalName(d, name) && dns.IsSubDomain(d, name) {
			return true
		}
	}
	return false
}

// referral returns the owner of the NS RRset of a referral in ns, or "".
func referral(ns []dns.RR, origin string) string {
	for _, rr := range ns {
		if h := rr.Header(); h.Rrtype == dns.TypeNS && !equalName(h.Name, origin) {
			return h.Name
		}
	}
	return ""
}

// negative reports whether ns is the authority section of a negative
// answer: it has the SOA.
func negative(ns []dns.RR) bool {
	for _, rr := range ns {
		if rr.Header().Rrtype == dns.TypeSOA {
			return true
		}
	}
	return false
}

// equalName compares domain names, ignoring ASCII case.
func equalName(a, b string) bool {
	return len(a) == len(b) && strings.EqualFold(a, b)
}
