package dnssec

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cfsecondary/cfsecondary/zone"

	"github.com/miekg/dns"
)

// ErrValidation is wrapped by every error of Validate.
var ErrValidation = errors.New("dnssec validation failed")

// Validate checks a pre-signed zone before it is served, as Knot's dnssec-validation does, so
// that a primary's signing accident does not reach resolvers: every authoritative RRset (DS and
// NSEC at delegations, nothing below them) has a signature by a key of the apex DNSKEY RRset that
// verifies and stays valid for at least margin; the NSEC chain links the authoritative names in
// canonical order and closes at the apex; an NSEC3 chain closes on itself.
//
// names limits the signature checks to those owners (the names an IXFR touched); nil checks
// every name. The chains are always checked whole: that costs no cryptography.
func Validate(z *zone.Zone, names []string, now time.Time, margin time.Duration) error {
	origin := z.Origin()
	var keys []*dns.DNSKEY
	for _, rr := range z.RRset(origin, dns.TypeDNSKEY) {
		if k, ok := rr.(*dns.DNSKEY); ok && k.Flags&dns.ZONE != 0 {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return fmt.Errorf("%w: no DNSKEY at the apex %s", ErrValidation, origin)
	}
	var only map[string]bool
	if names != nil {
		only = make(map[string]bool, len(names))
		for _, n := range names {
			only[strings.ToLower(n)] = true
		}
	}

	var (
		cut       string // the delegation whose subtree is being walked, or ""
		nsecs     []*dns.NSEC
		nsec3s    []*dns.NSEC3
		unchained []string
		err       error
	)
	z.Walk(func(rrs []dns.RR) bool {
		owner := strings.ToLower(rrs[0].Header().Name)
		if cut != "" && dns.IsSubDomain(cut, owner) && owner != cut {
			return true // occluded: glue, not signed
		}
		cut = ""
		isCut := owner != origin && hasType(rrs, dns.TypeNS)
		if isCut {
			cut = owner
		}
		hasNSEC := false
		for _, rr := range rrs {
			switch x := rr.(type) {
			case *dns.NSEC:
				nsecs, hasNSEC = append(nsecs, x), true
			case *dns.NSEC3:
				nsec3s = append(nsec3s, x)
			}
		}
		if !hasNSEC && !hasType(rrs, dns.TypeNSEC3) {
			unchained = append(unchained, owner)
		}
		if only != nil && !only[owner] {
			return true
		}
		for _, t := range types(rrs) {
			if t == dns.TypeRRSIG || (isCut && t != dns.TypeDS && t != dns.TypeNSEC) {
				continue
			}
			if e := verifySet(rrs, t, keys, now, margin); e != nil {
				err = fmt.Errorf("%w: %s %s: %v", ErrValidation, owner, dns.TypeToString[t], e)
				return false
			}
		}
		return true
	})
	if err != nil {
		return err
	}
	if len(nsecs) > 0 {
		if len(unchained) > 0 {
			return fmt.Errorf("%w: %s has no NSEC", ErrValidation, unchained[0])
		}
		for i, n := range nsecs {
			want := origin
			if i+1 < len(nsecs) {
				want = strings.ToLower(nsecs[i+1].Hdr.Name)
			}
			if !strings.EqualFold(n.NextDomain, want) {
				return fmt.Errorf("%w: NSEC chain broken at %s: next is %s, want %s", ErrValidation, n.Hdr.Name, n.NextDomain, want)
			}
		}
	}
	if len(nsec3s) > 0 {
		// The walk visits hash owners in canonical order, which for base32hex labels under one
		// parent is the order of the hashes.
		for i, n := range nsec3s {
			next := nsec3s[(i+1)%len(nsec3s)]
			label := strings.ToUpper(strings.SplitN(next.Hdr.Name, ".", 2)[0])
			if !strings.EqualFold(n.NextDomain, label) {
				return fmt.Errorf("%w: NSEC3 chain broken at %s: next hash is %s, want %s", ErrValidation, n.Hdr.Name, n.NextDomain, label)
			}
		}
	}
	return nil
}

// verifySet checks that the RRset of type t among rrs has a good signature by one of keys.
func verifySet(rrs []dns.RR, t uint16, keys []*dns.DNSKEY, now time.Time, margin time.Duration) error {
	var set []dns.RR
	var sigs []*dns.RRSIG
	for _, rr := range rrs {
		switch {
		case rr.Header().Rrtype == t:
			set = append(set, rr)
		case rr.Header().Rrtype == dns.TypeRRSIG && rr.(*dns.RRSIG).TypeCovered == t:
			sigs = append(sigs, rr.(*dns.RRSIG))
		}
	}
	if len(sigs) == 0 {
		return errors.New("not signed")
	}
	var last error
	for _, sig := range sigs {
		for _, k := range keys {
			if k.KeyTag() != sig.KeyTag || k.Algorithm != sig.Algorithm {
				continue
			}
			if err := sig.Verify(k, set); err != nil {
				last = err
				continue
			}
			if !sig.ValidityPeriod(now) {
				last = fmt.Errorf("signature by key %d not valid now (%s to %s)", sig.KeyTag, dns.TimeToString(sig.Inception), dns.TimeToString(sig.Expiration))
				continue
			}
			if !sig.ValidityPeriod(now.Add(margin)) {
				last = fmt.Errorf("signature by key %d expires at %s, within %s", sig.KeyTag, dns.TimeToString(sig.Expiration), margin)
				continue
			}
			return nil
		}
	}
	if last == nil {
		last = errors.New("signed by no key of the apex DNSKEY RRset")
	}
	return last
}

func hasType(rrs []dns.RR, t uint16) bool {
	for _, rr := range rrs {
		if rr.Header().Rrtype == t {
			return true
		}
	}
	return false
}

// types lists the types of rrs once each, in order.
func types(rrs []dns.RR) []uint16 {
	var out []uint16
	for _, rr := range rrs {
		t := rr.Header().Rrtype
		if len(out) == 0 || out[len(out)-1] != t {
			out = append(out, t)
		}
	}
	return out
}
