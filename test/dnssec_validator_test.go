package test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// dnssecValidator checks authoritative answers from one signed zone the way a validating resolver
// would (RFC 4035 5, RFC 5155 8): every RRset signed by a key of the zone, whose DNSKEY RRset is
// signed by the trust anchor, and every negative answer, wildcard answer and referral proven by
// NSEC or NSEC3 records. It knows nothing about how the server found them.
type dnssecValidator struct {
	zone  string // lower case, fully qualified
	keys  []*dns.DNSKEY
	nsec3 bool // the zone's denial is NSEC3: NSEC records are a failure, and the other way round
	now   time.Time
}

// newDNSSECValidator fetches the zone's DNSKEY RRset from addr and validates it with the anchor.
func newDNSSECValidator(t *testing.T, addr string, anchor *dns.DNSKEY, nsec3 bool) *dnssecValidator {
	t.Helper()
	v := &dnssecValidator{zone: strings.ToLower(anchor.Hdr.Name), nsec3: nsec3, now: time.Now()}
	r := askAuth(t, addr, v.zone, dns.TypeDNSKEY, true)
	var set []dns.RR
	var sigs []*dns.RRSIG
	for _, rr := range r.Answer {
		switch x := rr.(type) {
		case *dns.DNSKEY:
			set = append(set, x)
		case *dns.RRSIG:
			sigs = append(sigs, x)
		}
	}
	found := false
	for _, rr := range set {
		k := rr.(*dns.DNSKEY)
		found = found || k.PublicKey == anchor.PublicKey && k.Flags == anchor.Flags
	}
	if !found {
		t.Fatalf("the DNSKEY RRset has no trust anchor:\n%s", r)
	}
	v.keys = []*dns.DNSKEY{anchor}
	if _, err := v.verify(set, sigs); err != nil {
		t.Fatalf("DNSKEY RRset: %v", err)
	}
	v.keys = nil
	for _, rr := range set {
		if k := rr.(*dns.DNSKEY); k.Flags&dns.ZONE != 0 {
			v.keys = append(v.keys, k)
		}
	}
	return v
}

// verify returns the RRSIG that validates set now with one of the zone's keys.
func (v *dnssecValidator) verify(set []dns.RR, sigs []*dns.RRSIG) (*dns.RRSIG, error) {
	var errs []error
	for _, s := range sigs {
		if !strings.EqualFold(s.SignerName, v.zone) {
			errs = append(errs, fmt.Errorf("signer %s", s.SignerName))
			continue
		}
		if !s.ValidityPeriod(v.now) {
			errs = append(errs, fmt.Errorf("RRSIG by %d outside its validity period", s.KeyTag))
			continue
		}
		for _, k := range v.keys {
			if k.KeyTag() != s.KeyTag || k.Algorithm != s.Algorithm {
				continue
			}
			if err := s.Verify(k, set); err != nil {
				errs = append(errs, fmt.Errorf("RRSIG by %d: %w", s.KeyTag, err))
				continue
			}
			return s, nil
		}
	}
	if len(sigs) == 0 {
		errs = append(errs, errors.New("no RRSIG"))
	}
	return nil, fmt.Errorf("%s %s: %w", set[0].Header().Name, dns.TypeToString[set[0].Header().Rrtype], errors.Join(errs...))
}

type rrsetKey struct {
	name string
	t    uint16
}

// groupRRsets groups a section into RRsets and the RRSIGs covering each.
func groupRRsets(rrs []dns.RR) (order []rrsetKey, sets map[rrsetKey][]dns.RR, sigs map[rrsetKey][]*dns.RRSIG) {
	sets, sigs = map[rrsetKey][]dns.RR{}, map[rrsetKey][]*dns.RRSIG{}
	for _, rr := range rrs {
		h := rr.Header()
		if s, ok := rr.(*dns.RRSIG); ok {
			k := rrsetKey{strings.ToLower(h.Name), s.TypeCovered}
			sigs[k] = append(sigs[k], s)
			continue
		}
		if h.Rrtype == dns.TypeOPT {
			continue
		}
		k := rrsetKey{strings.ToLower(h.Name), h.Rrtype}
		if _, ok := sets[k]; !ok {
			order = append(order, k)
		}
		sets[k] = append(sets[k], rr)
	}
	for k := range sigs {
		if _, ok := sets[k]; !ok {
			order = append(order, k) // RRSIGs without their RRset: a failure below
		}
	}
	return order, sets, sigs
}

// denialProofs are the validated NSEC and NSEC3 records of a response.
type denialProofs struct {
	nsec  []*dns.NSEC
	nsec3 []*dns.NSEC3
}

// wildExpansion is an answer RRset synthesized from a wildcard: its owner and the label count of
// the closest encloser (the RRSIG's labels field).
type wildExpansion struct {
	owner string
	ce    int
}

// check validates the response m to name/qtype and returns its verdict (see vSecure...).
func (v *dnssecValidator) check(name string, qtype uint16, m *dns.Msg) (string, error) {
	name = strings.ToLower(name)
	var p denialProofs
	var wild []wildExpansion
	referral := !m.Authoritative

	// Every RRset signed, with these exceptions: CNAMEs synthesized from a DNAME in the
	// answer, the NS RRset of a referral, and glue.
	belowDNAME := func(owner string) bool {
		for _, rr := range m.Answer {
			if d, ok := rr.(*dns.DNAME); ok && dns.IsSubDomain(d.Hdr.Name, owner) && !strings.EqualFold(d.Hdr.Name, owner) {
				return true
			}
		}
		return false
	}
	for _, sec := range []struct {
		name string
		rrs  []dns.RR
	}{{"answer", m.Answer}, {"authority", m.Ns}, {"additional", m.Extra}} {
		order, sets, sigs := groupRRsets(sec.rrs)
		for _, k := range order {
			set := sets[k]
			if len(set) == 0 {
				return "", fmt.Errorf("%s: RRSIG over %s %s without the RRset", sec.name, k.name, dns.TypeToString[k.t])
			}
			if len(sigs[k]) == 0 {
				switch {
				case sec.name == "answer" && k.t == dns.TypeCNAME && belowDNAME(k.name):
					continue
				case sec.name == "authority" && k.t == dns.TypeNS && referral && k.name != v.zone:
					continue
				case sec.name == "additional":
					continue // glue, or an address the server only adds
				}
			}
			sig, err := v.verify(set, sigs[k])
			if err != nil {
				return "", fmt.Errorf("%s: %w", sec.name, err)
			}
			labels := dns.CountLabel(k.name)
			if strings.HasPrefix(k.name, "*.") {
				labels-- // the wildcard itself (RFC 4034 3.1.3)
			}
			if int(sig.Labels) < labels {
				if sec.name != "answer" {
					return "", fmt.Errorf("%s: wildcard expansion of %s %s", sec.name, k.name, dns.TypeToString[k.t])
				}
				wild = append(wild, wildExpansion{k.name, int(sig.Labels)})
			}
			for _, rr := range set {
				switch x := rr.(type) {
				case *dns.NSEC:
					p.nsec = append(p.nsec, x)
				case *dns.NSEC3:
					p.nsec3 = append(p.nsec3, x)
				}
			}
		}
	}
	if v.nsec3 && len(p.nsec) > 0 || !v.nsec3 && len(p.nsec3) > 0 {
		return "", errors.New("NSEC and NSEC3 mixed up")
	}

	// Follow the answer from name through CNAMEs (DNAMEs come with their CNAME).
	final, found := name, false
	for range 16 {
		var next string
		for _, rr := range m.Answer {
			h := rr.Header()
			if !strings.EqualFold(h.Name, final) {
				continue
			}
			if h.Rrtype == qtype {
				found = true
			} else if c, ok := rr.(*dns.CNAME); ok && qtype != dns.TypeCNAME {
				next = strings.ToLower(c.Target)
			}
		}
		if found || next == "" {
			break
		}
		final = next
	}

	// Wildcard answers (RFC 4035 5.3.4, RFC 5155 8.8): the name asked for does not exist.
	optout := false
	for _, w := range wild {
		if v.nsec3 {
			nc := ancestorName(w.owner, w.ce+1)
			c := p.covering3(nc)
			if c == nil {
				return "", fmt.Errorf("wildcard answer for %s: no NSEC3 covers the next closer name %s", w.owner, nc)
			}
			optout = optout || c.Flags&1 == 1
		} else if p.covering(w.owner) == nil {
			return "", fmt.Errorf("wildcard answer for %s: no NSEC covers it", w.owner)
		}
	}

	switch {
	case found:
		if m.Rcode != dns.RcodeSuccess {
			return "", fmt.Errorf("answer with rcode %s", dns.RcodeToString[m.Rcode])
		}
	case referral:
		return v.referral(final, m, &p)
	case m.Rcode == dns.RcodeNameError:
		o, err := v.nxdomain(final, &p)
		if err != nil {
			return "", err
		}
		optout = optout || o
	case m.Rcode == dns.RcodeSuccess:
		o, err := v.nodata(final, qtype, &p)
		if err != nil {
			return "", err
		}
		if o == vOptNoMatch {
			return o, nil
		}
		optout = optout || o == vOptOut
	default:
		return "", fmt.Errorf("rcode %s", dns.RcodeToString[m.Rcode])
	}
	if optout {
		return vOptOut, nil
	}
	return vSecure, nil
}

// nxdomain checks the proof that name does not exist (RFC 4035 5.4, RFC 5155 8.4) and reports
// whether the next closer name is covered by an opt-out NSEC3.
func (v *dnssecValidator) nxdomain(name string, p *denialProofs) (bool, error) {
	if v.nsec3 {
		ce, _, optout, err := p.closestEncloser(name)
		if err != nil {
			return false, err
		}
		if p.covering3("*."+ce) == nil {
			return false, fmt.Errorf("NXDOMAIN %s: no NSEC3 covers the wildcard *.%s", name, ce)
		}
		return optout, nil
	}
	c := p.covering(name)
	if c == nil {
		return false, fmt.Errorf("NXDOMAIN %s: no NSEC covers it", name)
	}
	ce := commonAncestorName(name, c.Hdr.Name)
	if a := commonAncestorName(name, c.NextDomain); dns.CountLabel(a) > dns.CountLabel(ce) {
		ce = a
	}
	if p.covering("*."+ce) == nil {
		return false, fmt.Errorf("NXDOMAIN %s: no NSEC covers the wildcard *.%s", name, ce)
	}
	return false, nil
}

// nodata checks the proof that name has no qtype (RFC 4035 5.4, RFC 5155 8.5 to 8.7). It
// returns vOptOut when a wildcard NODATA proof has an opt-out next closer cover, and vOptNoMatch
// for the proof without matching NSEC3 that opt-out allows, else "".
func (v *dnssecValidator) nodata(name string, qtype uint16, p *denialProofs) (string, error) {
	lacks := func(bitmap []uint16) bool {
		for _, t := range bitmap {
			if t == qtype || t == dns.TypeCNAME {
				return false
			}
		}
		return true
	}
	if v.nsec3 {
		if m := p.matching3(name); m != nil {
			if !lacks(m.TypeBitMap) {
				return "", fmt.Errorf("NODATA %s: its NSEC3 has %s or CNAME", name, dns.TypeToString[qtype])
			}
			return "", nil
		}
		ce, _, optout, err := p.closestEncloser(name)
		if err != nil {
			return "", err
		}
		if w := p.matching3("*." + ce); w != nil { // wildcard NODATA, 8.7
			if !lacks(w.TypeBitMap) {
				return "", fmt.Errorf("wildcard NODATA %s: the wildcard's NSEC3 has the type", name)
			}
			if optout {
				return vOptOut, nil
			}
			return "", nil
		}
		if !optout { // 8.6 for DS, and empty non-terminals left out by opt-out
			return "", fmt.Errorf("NODATA %s: no matching NSEC3 and no opt-out", name)
		}
		return vOptNoMatch, nil
	}
	for _, n := range p.nsec {
		if strings.EqualFold(n.Hdr.Name, name) {
			if !lacks(n.TypeBitMap) {
				return "", fmt.Errorf("NODATA %s: its NSEC has %s or CNAME", name, dns.TypeToString[qtype])
			}
			return "", nil
		}
	}
	c := p.covering(name)
	if c == nil {
		return "", fmt.Errorf("NODATA %s: no NSEC matches or covers it", name)
	}
	if dns.IsSubDomain(name, c.NextDomain) && !strings.EqualFold(name, c.NextDomain) {
		return "", nil // an empty non-terminal
	}
	ce := commonAncestorName(name, c.Hdr.Name)
	if a := commonAncestorName(name, c.NextDomain); dns.CountLabel(a) > dns.CountLabel(ce) {
		ce = a
	}
	for _, n := range p.nsec {
		if strings.EqualFold(n.Hdr.Name, "*."+ce) && lacks(n.TypeBitMap) {
			return "", nil // wildcard NODATA
		}
	}
	return "", fmt.Errorf("NODATA %s: the NSEC covering it proves neither an empty non-terminal nor a wildcard", name)
}

// referral checks a delegation on the way to name: a DS RRset (validated above), or the proof
// that the cut has none (RFC 4035 5.2, RFC 5155 8.9).
func (v *dnssecValidator) referral(name string, m *dns.Msg, p *denialProofs) (string, error) {
	var cut string
	hasDS := false
	for _, rr := range m.Ns {
		switch rr.Header().Rrtype {
		case dns.TypeNS:
			cut = strings.ToLower(rr.Header().Name)
		case dns.TypeDS:
			hasDS = true
		}
	}
	if cut == "" || cut == v.zone || !dns.IsSubDomain(cut, name) {
		return "", fmt.Errorf("non-authoritative answer for %s is no referral", name)
	}
	for _, rr := range m.Ns {
		if rr.Header().Rrtype == dns.TypeDS && !strings.EqualFold(rr.Header().Name, cut) {
			return "", fmt.Errorf("DS of %s in a referral to %s", rr.Header().Name, cut)
		}
	}
	if hasDS {
		return vRefDS, nil
	}
	delegation := func(bitmap []uint16) error {
		ns := false
		for _, t := range bitmap {
			switch t {
			case dns.TypeNS:
				ns = true
			case dns.TypeDS, dns.TypeSOA:
				return fmt.Errorf("the cut %s has %s", cut, dns.TypeToString[t])
			}
		}
		if !ns {
			return fmt.Errorf("the cut %s has no NS in its bitmap", cut)
		}
		return nil
	}
	if v.nsec3 {
		if m := p.matching3(cut); m != nil {
			if err := delegation(m.TypeBitMap); err != nil {
				return "", err
			}
			return vRefNoDS, nil
		}
		_, nc, optout, err := p.closestEncloser(cut)
		if err != nil {
			return "", err
		}
		if !optout {
			return "", fmt.Errorf("referral to %s: no NSEC3 and the cover of %s is not opt-out", cut, nc)
		}
		return vRefNoDSOpt, nil
	}
	for _, n := range p.nsec {
		if strings.EqualFold(n.Hdr.Name, cut) {
			if err := delegation(n.TypeBitMap); err != nil {
				return "", err
			}
			return vRefNoDS, nil
		}
	}
	return "", fmt.Errorf("referral to %s: neither DS nor NSEC", cut)
}

// closestEncloser finds the closest provable encloser of name (RFC 5155 8.3): its longest
// ancestor with a matching NSEC3, whose child towards name (the next closer name) is covered.
func (p *denialProofs) closestEncloser(name string) (ce, nc string, optout bool, err error) {
	labels := dns.CountLabel(name)
	for l := labels - 1; l >= 0; l-- {
		a := ancestorName(name, l)
		if p.matching3(a) == nil {
			continue
		}
		nc = ancestorName(name, l+1)
		c := p.covering3(nc)
		if c == nil {
			return "", "", false, fmt.Errorf("%s: closest encloser %s, but no NSEC3 covers the next closer name %s", name, a, nc)
		}
		return a, nc, c.Flags&1 == 1, nil
	}
	return "", "", false, fmt.Errorf("%s: no NSEC3 matches any ancestor", name)
}

func nsec3Hash(n *dns.NSEC3, name string) string {
	return strings.ToUpper(dns.HashName(name, n.Hash, n.Iterations, n.Salt))
}

func nsec3OwnerHash(n *dns.NSEC3) string {
	return strings.ToUpper(dns.SplitDomainName(n.Hdr.Name)[0])
}

func (p *denialProofs) matching3(name string) *dns.NSEC3 {
	for _, n := range p.nsec3 {
		if nsec3OwnerHash(n) == nsec3Hash(n, name) {
			return n
		}
	}
	return nil
}

// covering3 returns the NSEC3 whose span (owner hash, next hash) holds the hash of name,
// strictly; the last NSEC3 of the chain wraps around.
func (p *denialProofs) covering3(name string) *dns.NSEC3 {
	for _, n := range p.nsec3 {
		h, o, next := nsec3Hash(n, name), nsec3OwnerHash(n), strings.ToUpper(n.NextDomain)
		if o < next && o < h && h < next || o >= next && (h > o || h < next) {
			return n
		}
	}
	return nil
}

// covering returns the NSEC whose span (owner, next) holds name strictly, in canonical order;
// the last NSEC of the chain points back to the apex.
func (p *denialProofs) covering(name string) *dns.NSEC {
	for _, n := range p.nsec {
		o, next := n.Hdr.Name, n.NextDomain
		if canonicalCmp(o, next) < 0 {
			if canonicalCmp(o, name) < 0 && canonicalCmp(name, next) < 0 {
				return n
			}
		} else if canonicalCmp(o, name) < 0 {
			return n
		}
	}
	return nil
}

// canonicalCmp orders names as RFC 4034 6.1 does: label by label from the root, each
// compared as lower-case octets.
func canonicalCmp(a, b string) int {
	x, y := dns.SplitDomainName(strings.ToLower(a)), dns.SplitDomainName(strings.ToLower(b))
	for i, j := len(x)-1, len(y)-1; i >= 0 || j >= 0; i, j = i-1, j-1 {
		switch {
		case i < 0:
			return -1
		case j < 0:
			return 1
		}
		if c := strings.Compare(x[i], y[j]); c != 0 {
			return c
		}
	}
	return 0
}

// ancestorName returns the ancestor of name with n labels.
func ancestorName(name string, n int) string {
	labels := dns.SplitDomainName(strings.ToLower(name))
	if n >= len(labels) {
		return dns.Fqdn(strings.Join(labels, "."))
	}
	if n <= 0 {
		return "."
	}
	return dns.Fqdn(strings.Join(labels[len(labels)-n:], "."))
}

// commonAncestorName returns the longest common ancestor of a and b.
func commonAncestorName(a, b string) string {
	return ancestorName(a, dns.CompareDomainName(a, b))
}
