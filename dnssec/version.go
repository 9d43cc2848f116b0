package dnssec

import (
	"runtime"
	"slices"
	"sync"
	"weak"

	"github.com/cfsecondary/cfsecondary/zone"

	"github.com/miekg/dns"
)

// version is what the Signer derives from one version of the zone: the
// apex RRsets it publishes and, in NSEC3 mode, the NSEC3 chain. It holds no
// signatures (those live in the cache, keyed by content, and are shared
// between versions), and only a weak pointer to its zone: the Signer must
// not keep a replaced version of a big zone alive, the engine gives its
// memory back. When the zone is collected, the version is dropped too.
type version struct {
	zone   weak.Pointer[zone.Zone]
	origin string
	denial Denial

	negTTL uint32   // TTL of negative answers, NSEC and NSEC3: RFC 2308, RFC 9077
	negSOA []dns.RR // the SOA with that TTL, for negative answers we make

	dnskey  []dns.RR // the DNSKEY RRset served
	cds     []dns.RR // nil when not published
	cdnskey []dns.RR
	param   []dns.RR // NSEC3PARAM, NSEC3 mode only
	apex    []uint16 // the types the RRsets above add at the apex, sorted

	otherKSK bool // multi-signer: another provider's KSK is in the DNSKEY RRset

	chainOnce sync.Once
	chain     *chain
}

// view is a version with its zone, for the length of one query (the caller
// holds the zone).
type view struct {
	*version
	z *zone.Zone
}

// newVersion derives the version state of z.
func (s *Signer) newVersion(z *zone.Zone) *version {
	v := &version{zone: weak.Make(z), origin: s.origin, denial: s.opt.Denial}
	runtime.AddCleanup(z, func(v *version) {
		s.cur.CompareAndSwap(v, nil)
		s.prev.CompareAndSwap(v, nil)
	}, v)
	soa := z.SOA()
	v.negTTL = min(soa.Hdr.Ttl, soa.Minttl)
	neg := dns.Copy(soa)
	neg.Header().Ttl = v.negTTL
	v.negSOA = []dns.RR{neg}

	// DNSKEY: ours, and in multi-signer mode the union with the
	// transferred ones (the other providers' ZSKs, and KSKs if they are
	// there), one TTL for all.
	ttl := s.opt.DNSKEYTTL
	var theirs []dns.RR
	if s.opt.MultiSigner {
		theirs = z.RRset(s.origin, dns.TypeDNSKEY)
		if len(theirs) > 0 {
			ttl = theirs[0].Header().Ttl
		}
	}
	for _, rr := range s.dnskeys {
		k := *rr.(*dns.DNSKEY)
		k.Hdr.Ttl = ttl
		v.dnskey = append(v.dnskey, &k)
	}
	var otherKSKs []*dns.DNSKEY
	for _, rr := range theirs {
		tk, ok := rr.(*dns.DNSKEY)
		if !ok || sameKey(v.dnskey, tk) {
			continue
		}
		k := *tk
		k.Hdr = dns.RR_Header{Name: s.origin, Rrtype: dns.TypeDNSKEY, Class: dns.ClassINET, Ttl: ttl}
		v.dnskey = append(v.dnskey, &k)
		if k.Flags&dns.SEP != 0 && k.Flags&dns.REVOKE == 0 && k.Flags&dns.ZONE != 0 {
			otherKSKs = append(otherKSKs, &k)
		}
	}
	v.otherKSK = len(otherKSKs) > 0

	// CDS and CDNSKEY (RFC 7344, RFC 8078): our KSKs, and the other
	// providers' when there are some. In multi-signer mode only then: the
	// parent must get the DS of every provider's KSK at once (RFC 8901 8),
	// never ours alone, which would cut the other provider off.
	if !s.opt.MultiSigner || v.otherKSK {
		var ksks []*dns.DNSKEY
		for _, k := range s.ksk {
			c := *k.DNSKEY
			c.Hdr = dns.RR_Header{Name: s.origin, Rrtype: dns.TypeDNSKEY, Class: dns.ClassINET, Ttl: ttl}
			ksks = append(ksks, &c)
		}
		ksks = append(ksks, otherKSKs...)
		for _, k := range ksks {
			if ds := k.ToDS(dns.SHA256); ds != nil {
				cds := ds.ToCDS()
				cds.Hdr = dns.RR_Header{Name: s.origin, Rrtype: dns.TypeCDS, Class: dns.ClassINET, Ttl: ttl}
				v.cds = append(v.cds, cds)
			}
			c := k.ToCDNSKEY()
			c.Hdr = dns.RR_Header{Name: s.origin, Rrtype: dns.TypeCDNSKEY, Class: dns.ClassINET, Ttl: ttl}
			v.cdnskey = append(v.cdnskey, c)
		}
	}

	v.apex = []uint16{dns.TypeDNSKEY}
	if len(v.cds) > 0 {
		v.apex = append(v.apex, dns.TypeCDS, dns.TypeCDNSKEY)
	}
	if s.opt.Denial == DenialNSEC3 {
		v.param = []dns.RR{&dns.NSEC3PARAM{
			Hdr:  dns.RR_Header{Name: s.origin, Rrtype: dns.TypeNSEC3PARAM, Class: dns.ClassINET, Ttl: 0},
			Hash: dns.SHA1,
		}}
		v.apex = append(v.apex, dns.TypeNSEC3PARAM)
	}
	slices.Sort(v.apex)
	return v
}

// sameKey reports whether set already has k (flags, protocol, algorithm,
// public key), as when the primary publishes our keys too.
func sameKey(set []dns.RR, k *dns.DNSKEY) bool {
	for _, rr := range set {
		o := rr.(*dns.DNSKEY)
		if o.Flags == k.Flags && o.Protocol == k.Protocol && o.Algorithm == k.Algorithm && o.PublicKey == k.PublicKey {
			return true
		}
	}
	return false
}

// nsec3 returns the version's NSEC3 chain, building it on first use.
func (v view) nsec3() *chain {
	v.chainOnce.Do(func() { v.chain = buildChain(v) })
	return v.chain
}

// apexData returns the RRset of type t we publish at the apex, and whether
// t is one of ours (then the zone's own, if any, is never served).
func (v view) apexData(t uint16) ([]dns.RR, bool) {
	switch t {
	case dns.TypeDNSKEY:
		return v.dnskey, true
	case dns.TypeCDS:
		return v.cds, true
	case dns.TypeCDNSKEY:
		return v.cdnskey, true
	case dns.TypeNSEC3PARAM:
		return v.param, true
	}
	return nil, false
}
