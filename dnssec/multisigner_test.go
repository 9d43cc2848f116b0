package dnssec

import (
	"crypto"
	"slices"
	"testing"
	"time"

	"github.com/cfsecondary/cfsecondary/zone"

	"github.com/miekg/dns"
)

// provider is the other signer of a multi-signer zone (RFC 8901 model 2):
// its own KSK and ZSK, which it signs its answers with.
type provider struct {
	ksk, zsk         *dns.DNSKEY
	kskPriv, zskPriv crypto.Signer
}

func newProvider(t *testing.T, alg uint8) *provider {
	p := &provider{}
	p.ksk, p.kskPriv = memKey(t, testOrigin, 257, alg)
	p.zsk, p.zskPriv = memKey(t, testOrigin, 256, alg)
	p.ksk.Hdr.Ttl, p.zsk.Hdr.Ttl = 7200, 7200
	return p
}

func (p *provider) ds() *dns.DS { return p.ksk.ToDS(dns.SHA256) }

// sign signs rrset as the provider's servers would: ZSK for data, KSK for
// the DNSKEY RRset.
func (p *provider) sign(t *testing.T, rrset []dns.RR) *dns.RRSIG {
	key, priv := p.zsk, p.zskPriv
	if rrset[0].Header().Rrtype == dns.TypeDNSKEY {
		key, priv = p.ksk, p.kskPriv
	}
	now := time.Now()
	sig := &dns.RRSIG{Algorithm: key.Algorithm, KeyTag: key.KeyTag(), SignerName: testOrigin,
		Inception: uint32(now.Add(-time.Hour).Unix()), Expiration: uint32(now.Add(24 * time.Hour).Unix())}
	if err := sig.Sign(priv, rrset); err != nil {
		t.Fatal(err)
	}
	sig.Hdr.Ttl = rrset[0].Header().Ttl
	return sig
}

// dnskeyTags returns the tags of the DNSKEYs and of the RRSIGs in a DNSKEY
// answer.
func dnskeyTags(answer []dns.RR) (keys, sigs []uint16) {
	for _, rr := range answer {
		switch x := rr.(type) {
		case *dns.DNSKEY:
			keys = append(keys, x.KeyTag())
		case *dns.RRSIG:
			sigs = append(sigs, x.KeyTag)
		}
	}
	slices.Sort(keys)
	return keys, sigs
}

// TestMultiSigner: the transferred zone carries provider B's ZSK (and later
// its KSK) in the apex DNSKEY RRset. We serve the union signed by our KSK
// only, sign the data with our ZSK, and answers validate from our DS and,
// through B's DNSKEY RRset, from B's; B's answers validate against our
// DNSKEY RRset. CDS and CDNSKEY appear, for both KSKs, once B's KSK is in the
// transferred RRset, which an IXFR brings here.
func TestMultiSigner(t *testing.T) {
	for _, alg := range []uint8{dns.ECDSAP256SHA256, dns.ED25519} {
		t.Run(dns.AlgorithmToString[alg], func(t *testing.T) {
			keys := testKeys(t, testOrigin, alg)
			ownKSK, ownZSK := keys[0], keys[1]
			b := newProvider(t, alg)
			// The zone lists B's ZSK and, as primaries in a multi-signer setup
			// often do, our own ZSK too: it must not be served twice.
			ownZSKRR := dns.Copy(ownZSK.DNSKEY)
			ownZSKRR.Header().Ttl = 7200
			zoneText := testZone + b.zsk.String() + "\n" + ownZSKRR.String() + "\n"
			z := buildZone(t, testOrigin, zoneText)
			s := newTestSigner(t, keys, Options{MultiSigner: true})

			// The DNSKEY RRset: our KSK and ZSK and B's ZSK, with the TTL of
			// the transferred RRset, signed by our KSK only.
			res := s.Answer(z, zone.Request{Name: testOrigin, Type: dns.TypeDNSKEY, DO: true})
			gotKeys, gotSigs := dnskeyTags(res.Answer)
			wantKeys := []uint16{ownKSK.Tag, ownZSK.Tag, b.zsk.KeyTag()}
			slices.Sort(wantKeys)
			if !slices.Equal(gotKeys, wantKeys) || !slices.Equal(gotSigs, []uint16{ownKSK.Tag}) {
				t.Fatalf("DNSKEY RRset %v signed by %v; want %v signed by %d\n%s", gotKeys, gotSigs, wantKeys, ownKSK.Tag, dumpResult(res))
			}
			if ttl := res.Answer[0].Header().Ttl; ttl != 7200 {
				t.Errorf("DNSKEY TTL %d, want the transferred 7200", ttl)
			}
			ours := &validator{t: t, anchors: s.DS(), now: time.Now()}
			ours.trust(res.Answer)
			dnskeySet := slices.DeleteFunc(slices.Clone(res.Answer), func(rr dns.RR) bool { return rr.Header().Rrtype == dns.TypeRRSIG })

			// No CDS/CDNSKEY without B's KSK: NODATA, and the apex NSEC says so.
			for _, tp := range []uint16{dns.TypeCDS, dns.TypeCDNSKEY} {
				r := s.Answer(z, zone.Request{Name: testOrigin, Type: tp, DO: true})
				c := ours.check(r)
				if len(r.Answer) != 0 || len(c.nsec) != 1 || slices.Contains(c.nsec[0].TypeBitMap, dns.TypeCDS) || slices.Contains(c.nsec[0].TypeBitMap, dns.TypeCDNSKEY) {
					t.Errorf("%s without B's KSK:\n%s", dns.TypeToString[tp], dumpResult(r))
				}
			}

			// Our answers validate from our DS.
			for _, q := range queryTable {
				if q.name == testOrigin && (q.qtype == dns.TypeCDS || q.qtype == dns.TypeCDNSKEY || q.qtype == dns.TypeTXT) {
					continue // checked above
				}
				checkCase(t, ours, s, q, DenialCompact, s.Answer(z, zone.Request{Name: q.name, Type: q.qtype, DO: true}))
			}

			// B's answers (data signed by B's ZSK) validate against the DNSKEY
			// RRset we serve, from our DS: a resolver may mix the providers.
			www := s.Answer(z, zone.Request{Name: "www.example.com.", Type: dns.TypeA}).Answer
			ours.verify(www, []*dns.RRSIG{b.sign(t, www)})

			// With B's KSK in the transferred RRset (an IXFR adds it): the union
			// has four keys, and CDS/CDNSKEY publish both KSKs.
			z2, err := z.Apply(nil, []dns.RR{dns.Copy(b.ksk)})
			if err != nil {
				t.Fatal(err)
			}
			res = s.Answer(z2, zone.Request{Name: testOrigin, Type: dns.TypeDNSKEY, DO: true})
			gotKeys, gotSigs = dnskeyTags(res.Answer)
			wantKeys = append(wantKeys, b.ksk.KeyTag())
			slices.Sort(wantKeys)
			if !slices.Equal(gotKeys, wantKeys) || !slices.Equal(gotSigs, []uint16{ownKSK.Tag}) {
				t.Fatalf("DNSKEY RRset %v signed by %v; want %v signed by %d", gotKeys, gotSigs, wantKeys, ownKSK.Tag)
			}
			ours.trust(res.Answer)
			dnskeySet = slices.DeleteFunc(slices.Clone(res.Answer), func(rr dns.RR) bool { return rr.Header().Rrtype == dns.TypeRRSIG })

			cds := s.Answer(z2, zone.Request{Name: testOrigin, Type: dns.TypeCDS, DO: true})
			ours.check(cds)
			var cdsTags []uint16
			for _, rr := range cds.Answer {
				if c, ok := rr.(*dns.CDS); ok {
					cdsTags = append(cdsTags, c.KeyTag)
					want := ownKSK.DNSKEY.ToDS(dns.SHA256)
					if c.KeyTag == b.ksk.KeyTag() {
						want = b.ds()
					}
					if c.Digest != want.Digest || c.DigestType != dns.SHA256 {
						t.Errorf("CDS %v, want %v", c, want)
					}
				}
				if sig, ok := rr.(*dns.RRSIG); ok && sig.KeyTag != ownKSK.Tag {
					t.Errorf("CDS signed by %d, want our KSK", sig.KeyTag)
				}
			}
			slices.Sort(cdsTags)
			wantCDS := []uint16{ownKSK.Tag, b.ksk.KeyTag()}
			slices.Sort(wantCDS)
			if !slices.Equal(cdsTags, wantCDS) {
				t.Errorf("CDS for %v, want %v", cdsTags, wantCDS)
			}
			cdnskey := s.Answer(z2, zone.Request{Name: testOrigin, Type: dns.TypeCDNSKEY, DO: true})
			ours.check(cdnskey)
			var pubs []string
			for _, rr := range cdnskey.Answer {
				if c, ok := rr.(*dns.CDNSKEY); ok {
					pubs = append(pubs, c.PublicKey)
				}
			}
			if len(pubs) != 2 || !slices.Contains(pubs, ownKSK.DNSKEY.PublicKey) || !slices.Contains(pubs, b.ksk.PublicKey) {
				t.Errorf("CDNSKEY %v, want both KSKs", cdnskey.Answer)
			}

			// From B's DS: B serves the same union signed by its KSK; our
			// answers, signed by our ZSK, validate from there.
			theirs := &validator{t: t, anchors: []*dns.DS{b.ds()}, now: time.Now()}
			theirs.trust(append(slices.Clone(dnskeySet), b.sign(t, dnskeySet)))
			for _, q := range queryTable {
				checkCase(t, theirs, s, q, DenialCompact, s.Answer(z2, zone.Request{Name: q.name, Type: q.qtype, DO: true}))
			}
			// And B's answers validate from our DS.
			ours.verify(www, []*dns.RRSIG{b.sign(t, www)})

			// B's KSK gone again (IXFR): CDS/CDNSKEY withdrawn.
			z3, err := z2.Apply([]dns.RR{b.ksk}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if r := s.Answer(z3, zone.Request{Name: testOrigin, Type: dns.TypeCDS, DO: true}); len(r.Answer) != 0 {
				t.Errorf("CDS still published without B's KSK: %v", r.Answer)
			}
		})
	}
}
