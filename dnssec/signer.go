package dnssec

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cfsecondary/cfsecondary/zone"

	"github.com/miekg/dns"
)

// Signer signs the answers of one zone online. It is safe for concurrent
// use: make one per zone and keep it for as long as the keys do not change
// (its cache is what makes answering cheap).
type Signer struct {
	origin string
	opt    Options

	keys    []*Key    // all our keys, KSKs first
	dnskeys []dns.RR  // our published DNSKEYs, TTL not yet set
	ksk     []signKey // sign the DNSKEY, CDS and CDNSKEY RRsets
	zsk     []signKey // sign everything else

	cache   *sigCache
	nsigned atomic.Uint64

	mu        sync.Mutex // serialises making a version; queries never take it
	cur, prev atomic.Pointer[version]
}

// signKey is an active key and its index in Signer.keys (part of the cache
// key of the signatures it makes).
type signKey struct {
	*Key
	idx uint16
}

// NewSigner returns a Signer for zone with keys (see LoadKeys, EnsureKeys).
// Keys with the SEP flag (257) are KSKs and sign the DNSKEY RRset (and CDS
// and CDNSKEY), the others are ZSKs and sign the rest; with only one kind,
// those keys sign everything (a CSK). The keys' BIND timing metadata is
// evaluated now: a key not yet published or already deleted is left out, one
// published but not active is in the DNSKEY RRset without signing.
//
// All active keys must share one algorithm: a validator would otherwise
// expect every RRset signed with each (RFC 6840 5.11).
func NewSigner(zone string, keys []*Key, opt Options) (*Signer, error) {
	opt, err := opt.withDefaults()
	if err != nil {
		return nil, err
	}
	origin := strings.ToLower(dns.Fqdn(zone))
	s := &Signer{origin: origin, opt: opt, cache: newSigCache(opt.CacheSize)}
	now := opt.Now()
	var ksk, zsk []signKey
	alg := -1
	for _, given := range keys {
		if given == nil || given.DNSKEY == nil || given.Signer == nil {
			return nil, errors.New("dnssec: incomplete key")
		}
		k := new(Key)
		*k = *given // ours: the caller may reuse its Keys
		k.Tag = k.DNSKEY.KeyTag()
		if !strings.EqualFold(k.DNSKEY.Hdr.Name, origin) {
			return nil, fmt.Errorf("dnssec: key %d is for %s, not %s", k.Tag, k.DNSKEY.Hdr.Name, origin)
		}
		if !k.published(now) {
			continue
		}
		s.keys = append(s.keys, k)
		c := *k.DNSKEY
		c.Hdr = dns.RR_Header{Name: origin, Rrtype: dns.TypeDNSKEY, Class: dns.ClassINET}
		s.dnskeys = append(s.dnskeys, &c)
		if !k.active(now) {
			continue
		}
		if alg >= 0 && int(k.DNSKEY.Algorithm) != alg {
			return nil, fmt.Errorf("dnssec: active keys of %s use several algorithms (%d and %d)", origin, alg, k.DNSKEY.Algorithm)
		}
		alg = int(k.DNSKEY.Algorithm)
		sk := signKey{Key: k, idx: uint16(len(s.keys) - 1)}
		if k.KSK() {
			ksk = append(ksk, sk)
		} else {
			zsk = append(zsk, sk)
		}
	}
	if len(ksk)+len(zsk) == 0 {
		return nil, fmt.Errorf("dnssec: no active key for %s", origin)
	}
	if len(ksk) == 0 {
		ksk = zsk
	}
	if len(zsk) == 0 {
		zsk = ksk
	}
	s.ksk, s.zsk = ksk, zsk
	return s, nil
}

// Origin returns the zone the Signer signs.
func (s *Signer) Origin() string { return s.origin }

// Options returns the options in use, defaults filled in.
func (s *Signer) Options() Options { return s.opt }

// Keys returns our published keys, KSKs first. They must not be modified.
func (s *Signer) Keys() []*Key { return s.keys }

// DS returns the DS records (SHA-256) of our active KSKs, to give to the
// parent zone; with a single key of each kind, the one DS.
func (s *Signer) DS() []*dns.DS {
	var out []*dns.DS
	for _, k := range s.ksk {
		c := *k.DNSKEY
		c.Hdr.Ttl = s.opt.DNSKEYTTL
		if ds := c.ToDS(dns.SHA256); ds != nil {
			out = append(out, ds)
		}
	}
	return out
}

// Stats returns the counters of the signature cache.
func (s *Signer) Stats() CacheStats {
	st := s.cache.stats()
	st.Signed = s.nsigned.Load()
	return st
}

// Prepare makes what a version of the zone needs before its first query is
// answered: the DNSKEY RRset and, in NSEC3 mode, the NSEC3 chain, which takes
// time proportional to the zone. Calling it after a transfer, before the new
// version is served, keeps that work off the query path; without it the
// first query of the version does it.
func (s *Signer) Prepare(z *zone.Zone) {
	if z == nil || z.Origin() != s.origin {
		return
	}
	v := s.version(z)
	if s.opt.Denial == DenialNSEC3 {
		v.nsec3()
	}
}

// version returns the state of the zone version z, making it on first use.
// The current and the previous version are kept, so queries still answered
// from the old version during a swap do not make it again.
func (s *Signer) version(z *zone.Zone) view {
	if v := s.cur.Load(); v != nil && v.zone.Value() == z {
		return view{v, z}
	}
	if v := s.prev.Load(); v != nil && v.zone.Value() == z {
		return view{v, z}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if v := s.cur.Load(); v != nil && v.zone.Value() == z {
		return view{v, z}
	}
	v := s.newVersion(z)
	s.prev.Store(s.cur.Load())
	s.cur.Store(v)
	return view{v, z}
}

// appendSigs appends to dst the RRSIGs of rrset made with keys, from the
// cache when it has them. The RRset is signed as owned by signAs (its own
// owner name, or for a wildcard answer in NSEC3 mode the wildcard, which
// sets the RRSIG's label count); when rename is set the RRSIGs handed out
// are copies owned by rename, the name the answer uses.
func (s *Signer) appendSigs(dst []dns.RR, rrset []dns.RR, signAs string, keys []signKey, rename string) []dns.RR {
	return s.appendSigsTTL(dst, rrset, signAs, keys, rename, 0)
}

// appendSigsTTL is appendSigs with the RRSIGs handed out with TTL ttl when
// it is not 0: the SOA of a negative answer, whose TTL is lowered to the
// negative TTL (RFC 2308 3), keeps the signature of the SOA RRset, whose
// original TTL validators use (RFC 4035 5.3.3), as BIND serves it.
func (s *Signer) appendSigsTTL(dst []dns.RR, rrset []dns.RR, signAs string, keys []signKey, rename string, ttl uint32) []dns.RR {
	if len(rrset) == 0 {
		return dst
	}
	h0, h1, ok := hashRRset(signAs, rrset)
	if !ok {
		return dst
	}
	now := s.opt.Now().Unix()
	for _, k := range keys {
		key := sigKey{h0: h0, h1: h1, key: k.idx}
		e := s.cache.get(key)
		switch {
		case e == nil || now >= e.hard:
			e = s.cache.fill(key, now, func() *entry { return s.makeSig(k, rrset, signAs, now) })
		case now >= e.refresh && e.busy.CompareAndSwap(false, true):
			// Still good for a while: this query makes the new one, the
			// others meanwhile hand out the old.
			if n := s.makeSig(k, rrset, signAs, now); n != nil {
				s.cache.put(key, n)
				e = n
			} else {
				e.busy.Store(false)
			}
		}
		if e == nil {
			continue
		}
		var sig dns.RR = e.sig
		if rename != "" || ttl != 0 && ttl != e.sig.Hdr.Ttl {
			c := *e.sig
			if rename != "" {
				c.Hdr.Name = rename
			}
			if ttl != 0 {
				c.Hdr.Ttl = ttl
			}
			sig = &c
		}
		dst = append(dst, sig)
	}
	return dst
}

// makeSig signs rrset with k and returns the entry to cache; nil when the
// key fails to sign (it does not, for the algorithms we accept).
func (s *Signer) makeSig(k signKey, rrset []dns.RR, signAs string, now int64) *entry {
	set := rrset
	if !strings.EqualFold(rrset[0].Header().Name, signAs) {
		set = make([]dns.RR, len(rrset))
		for i, rr := range rrset {
			c := dns.Copy(rr)
			c.Header().Name = signAs
			set[i] = c
		}
	}
	opt := &s.opt
	incep := now - int64(opt.Backdate/time.Second)
	exp := incep + int64(opt.Validity/time.Second)
	if j := int64(opt.Jitter / time.Second); j > 0 {
		exp -= rand.Int64N(j)
	}
	ttl := set[0].Header().Ttl
	sig := &dns.RRSIG{
		Hdr:        dns.RR_Header{Ttl: ttl},
		Algorithm:  k.DNSKEY.Algorithm,
		OrigTtl:    ttl,
		Expiration: uint32(exp),
		Inception:  uint32(incep),
		KeyTag:     k.Tag,
		SignerName: s.origin,
	}
	if err := sig.Sign(k.Signer, set); err != nil {
		return nil
	}
	refresh := int64(opt.Refresh / time.Second)
	s.nsigned.Add(1)
	return &entry{sig: sig, refresh: exp - refresh, hard: exp - refresh/2}
}
