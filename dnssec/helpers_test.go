package dnssec

import (
	"crypto"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cfsecondary/cfsecondary/zone"

	"github.com/miekg/dns"
)

const testOrigin = "example.com."

// testZone is the unsigned zone of the tests: data at the apex, a CNAME, a
// wildcard, empty non-terminals, a signed and an insecure delegation with
// glue, a DNAME.
const testZone = `$ORIGIN example.com.
$TTL 3600
@        IN SOA ns1 hostmaster 2026010101 7200 3600 1209600 300
@           NS    ns1
@           NS    ns2
@           A     192.0.2.1
@           MX    10 mail
ns1         A     192.0.2.53
ns2         AAAA  2001:db8::53
mail        A     192.0.2.25
www         A     192.0.2.80
www         AAAA  2001:db8::80
txt         TXT   "hello world"
alias       CNAME www
nxalias     CNAME gone
*.wild      A     192.0.2.99
*.wild      TXT   "wildcard"
x.y.ent     A     192.0.2.7
secure      NS    ns.secure
secure      DS    12345 13 2 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF
ns.secure   A     192.0.2.200
insecure    NS    ns.insecure
ns.insecure A     192.0.2.201
dn          DNAME dtarget.example.com.
a.dtarget   A     192.0.2.9
`

// buildZone builds a zone from master file text.
func buildZone(t testing.TB, origin, text string) *zone.Zone {
	t.Helper()
	b := zone.NewBuilder(origin, zone.DefaultLimits())
	zp := dns.NewZoneParser(strings.NewReader(text), origin, "test")
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		if err := b.Add(rr); err != nil {
			t.Fatalf("add %v: %v", rr, err)
		}
	}
	if err := zp.Err(); err != nil {
		t.Fatal(err)
	}
	z, err := b.Zone()
	if err != nil {
		t.Fatal(err)
	}
	return z
}

// testKeys generates a KSK and a ZSK for origin in a temporary directory.
func testKeys(t testing.TB, origin string, alg uint8) []*Key {
	t.Helper()
	ksk, zsk, err := GenerateKeys(t.TempDir(), origin, alg)
	if err != nil {
		t.Fatal(err)
	}
	return []*Key{ksk, zsk}
}

// memKey makes a key in memory only, for the other provider of the
// multi-signer tests.
func memKey(t testing.TB, origin string, flags uint16, alg uint8) (*dns.DNSKEY, crypto.Signer) {
	t.Helper()
	k := &dns.DNSKEY{Hdr: dns.RR_Header{Name: origin, Rrtype: dns.TypeDNSKEY, Class: dns.ClassINET, Ttl: 3600},
		Flags: flags, Protocol: 3, Algorithm: alg}
	pk, err := k.Generate(256)
	if err != nil {
		t.Fatal(err)
	}
	return k, pk.(crypto.Signer)
}

func newTestSigner(t testing.TB, keys []*Key, opt Options) *Signer {
	t.Helper()
	s, err := NewSigner(testOrigin, keys, opt)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// validator checks answers as a validating resolver would, from a trust
// anchor (DS records) down, in Go.
type validator struct {
	t       testing.TB
	anchors []*dns.DS
	keys    []*dns.DNSKEY // the DNSKEY RRset, once validated
	now     time.Time
}

// trust validates the DNSKEY RRset (with its RRSIGs, as the apex DNSKEY
// answer has them) against the anchors: a KSK in it matches a DS and signs
// the RRset.
func (v *validator) trust(answer []dns.RR) {
	v.t.Helper()
	var set []dns.RR
	var sigs []*dns.RRSIG
	for _, rr := range answer {
		switch x := rr.(type) {
		case *dns.DNSKEY:
			set = append(set, x)
		case *dns.RRSIG:
			if x.TypeCovered == dns.TypeDNSKEY {
				sigs = append(sigs, x)
			}
		}
	}
	if len(set) == 0 {
		v.t.Fatalf("no DNSKEY RRset in %v", answer)
	}
	for _, ds := range v.anchors {
		for _, rr := range set {
			k := rr.(*dns.DNSKEY)
			kds := k.ToDS(ds.DigestType)
			if kds == nil || k.KeyTag() != ds.KeyTag || !strings.EqualFold(kds.Digest, ds.Digest) {
				continue
			}
			for _, sig := range sigs {
				if sig.KeyTag == k.KeyTag() && sig.Verify(k, set) == nil && sig.ValidityPeriod(v.now) {
					v.keys = nil
					for _, rr := range set {
						v.keys = append(v.keys, rr.(*dns.DNSKEY))
					}
					return
				}
			}
		}
	}
	v.t.Fatalf("DNSKEY RRset does not validate from the anchors %v:\n%v", v.anchors, answer)
}

// verify checks that rrset has an RRSIG among sigs made by a trusted key,
// and that every RRSIG over it verifies. It returns the label count of the
// good signature.
func (v *validator) verify(rrset []dns.RR, sigs []*dns.RRSIG) uint8 {
	v.t.Helper()
	h := rrset[0].Header()
	var labels uint8
	good := false
	for _, sig := range sigs {
		if sig.TypeCovered != h.Rrtype || !equalName(sig.Hdr.Name, h.Name) {
			continue
		}
		var key *dns.DNSKEY
		for _, k := range v.keys {
			if k.KeyTag() == sig.KeyTag && k.Algorithm == sig.Algorithm {
				key = k
			}
		}
		if key == nil {
			v.t.Errorf("%s %s: RRSIG by unknown key %d", h.Name, dns.TypeToString[h.Rrtype], sig.KeyTag)
			continue
		}
		if err := sig.Verify(key, rrset); err != nil {
			v.t.Errorf("%s %s: RRSIG by %d does not verify: %v", h.Name, dns.TypeToString[h.Rrtype], sig.KeyTag, err)
			continue
		}
		if !sig.ValidityPeriod(v.now) {
			v.t.Errorf("%s %s: RRSIG outside its validity", h.Name, dns.TypeToString[h.Rrtype])
			continue
		}
		if sig.Hdr.Ttl != h.Ttl || sig.OrigTtl < h.Ttl {
			v.t.Errorf("%s %s: RRSIG TTL %d, original %d; RRset TTL %d", h.Name, dns.TypeToString[h.Rrtype], sig.Hdr.Ttl, sig.OrigTtl, h.Ttl)
		}
		good, labels = true, sig.Labels
	}
	if !good {
		v.t.Errorf("%s %s: not signed", h.Name, dns.TypeToString[h.Rrtype])
	}
	return labels
}

// section splits a section into RRsets (RRSIGs apart) and RRSIGs.
func section(rrs []dns.RR) (sets [][]dns.RR, sigs []*dns.RRSIG) {
	var data []dns.RR
	for _, rr := range rrs {
		if s, ok := rr.(*dns.RRSIG); ok {
			sigs = append(sigs, s)
		} else {
			data = append(data, rr)
		}
	}
	for set := range rrsets(data) {
		sets = append(sets, set)
	}
	return sets, sigs
}

// checked is what check found in a signed answer.
type checked struct {
	nsec   []*dns.NSEC
	nsec3  []*dns.NSEC3
	labels map[string]uint8 // RRSIG label count per "owner/type" of the answer section
}

// check validates every signed RRset of res: all of the answer section but
// DNAME-synthesized CNAMEs, the authority section but a referral's NS, the
// additional section's signed RRsets. Unsigned RRsets must be exactly those.
func (v *validator) check(res zone.Result) checked {
	v.t.Helper()
	c := checked{labels: map[string]uint8{}}
	sets, sigs := section(res.Answer)
	var dnames []string
	for _, set := range sets {
		h := set[0].Header()
		if h.Rrtype == dns.TypeCNAME && synthesized(h.Name, dnames) {
			for _, s := range sigs {
				if s.TypeCovered == dns.TypeCNAME && equalName(s.Hdr.Name, h.Name) {
					v.t.Errorf("synthesized CNAME %s is signed", h.Name)
				}
			}
			continue
		}
		if h.Rrtype == dns.TypeDNAME {
			dnames = append(dnames, h.Name)
		}
		c.labels[strings.ToLower(h.Name)+"/"+dns.TypeToString[h.Rrtype]] = v.verify(set, sigs)
		for _, rr := range set {
			if n, ok := rr.(*dns.NSEC); ok {
				c.nsec = append(c.nsec, n)
			}
		}
	}
	sets, sigs = section(res.Ns)
	for _, set := range sets {
		h := set[0].Header()
		if h.Rrtype == dns.TypeNS && !equalName(h.Name, testOrigin) {
			for _, s := range sigs {
				if s.TypeCovered == dns.TypeNS {
					v.t.Errorf("referral NS %s is signed", h.Name)
				}
			}
			continue
		}
		v.verify(set, sigs)
		for _, rr := range set {
			switch x := rr.(type) {
			case *dns.NSEC:
				c.nsec = append(c.nsec, x)
			case *dns.NSEC3:
				c.nsec3 = append(c.nsec3, x)
			}
		}
	}
	sets, sigs = section(res.Extra)
	for _, set := range sets {
		h := set[0].Header()
		signed := slices.ContainsFunc(sigs, func(s *dns.RRSIG) bool {
			return s.TypeCovered == h.Rrtype && equalName(s.Hdr.Name, h.Name)
		})
		if signed {
			v.verify(set, sigs)
		}
	}
	return c
}

// typesString renders a bitmap for messages.
func typesString(types []uint16) string {
	var b []string
	for _, t := range types {
		b = append(b, dns.Type(t).String())
	}
	return strings.Join(b, " ")
}

func dumpResult(r zone.Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "rcode %s aa %v\n", dns.RcodeToString[r.Rcode], r.Authoritative)
	for _, s := range []struct {
		n   string
		rrs []dns.RR
	}{{"ANSWER", r.Answer}, {"AUTHORITY", r.Ns}, {"ADDITIONAL", r.Extra}} {
		fmt.Fprintf(&b, ";; %s\n", s.n)
		for _, rr := range s.rrs {
			b.WriteString(rr.String())
			b.WriteByte('\n')
		}
	}
	return b.String()
}
