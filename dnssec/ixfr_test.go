package dnssec

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/cfsecondary/cfsecondary/zone"

	"github.com/miekg/dns"
)

// signatures answers every RRset of z through the signer (and the apex
// records, and a few negative answers), and returns every signature served,
// by what it covers: owner, type, original TTL, key.
func signatures(t *testing.T, s *Signer, z *zone.Zone) map[string]string {
	t.Helper()
	sigs := map[string]string{}
	collect := func(res zone.Result) {
		for _, sec := range [][]dns.RR{res.Answer, res.Ns, res.Extra} {
			for _, rr := range sec {
				if sig, ok := rr.(*dns.RRSIG); ok {
					k := fmt.Sprintf("%s/%s/%d/%d", strings.ToLower(sig.Hdr.Name), dns.TypeToString[sig.TypeCovered], sig.OrigTtl, sig.KeyTag)
					if old, dup := sigs[k]; dup && old != sig.Signature {
						t.Fatalf("two signatures for %s in one version", k)
					}
					sigs[k] = sig.Signature
				}
			}
		}
	}
	z.Walk(func(rrs []dns.RR) bool {
		for set := range rrsets(rrs) {
			h := set[0].Header()
			collect(s.Answer(z, zone.Request{Name: h.Name, Type: h.Rrtype, DO: true}))
		}
		return true
	})
	for _, q := range queryTable {
		collect(s.Answer(z, zone.Request{Name: q.name, Type: q.qtype, DO: true}))
	}
	return sigs
}

// TestIXFRResignsOnlyTheChange: after an IXFR that changes one A record,
// only that RRset's signature is new, and the SOA's, which every IXFR
// changes (its serial; negative answers serve the same signature with the
// SOA's TTL lowered). Every other signature, NSEC and NSEC3 included, is
// byte for byte the one served before, and the signer made exactly as many
// signatures as changed.
func TestIXFRResignsOnlyTheChange(t *testing.T) {
	for _, denial := range []Denial{DenialCompact, DenialNSEC3} {
		t.Run(denial.String(), func(t *testing.T) {
			v1 := buildZone(t, testOrigin, testZone)
			s := newTestSigner(t, testKeys(t, testOrigin, dns.ECDSAP256SHA256), Options{Denial: denial})
			before := signatures(t, s, v1)
			made := s.Stats().Signed

			oldSOA := dns.Copy(v1.SOA())
			newSOA := dns.Copy(v1.SOA()).(*dns.SOA)
			newSOA.Serial++
			oldA, _ := dns.NewRR("www.example.com. 3600 IN A 192.0.2.80")
			newA, _ := dns.NewRR("www.example.com. 3600 IN A 192.0.2.81")
			v2, err := v1.Apply([]dns.RR{oldSOA, oldA}, []dns.RR{newSOA, newA})
			if err != nil {
				t.Fatal(err)
			}
			after := signatures(t, s, v2)

			if !slices.Equal(slices.Sorted(maps.Keys(before)), slices.Sorted(maps.Keys(after))) {
				t.Fatalf("the versions have different signed RRsets:\n%v\n%v", slices.Sorted(maps.Keys(before)), slices.Sorted(maps.Keys(after)))
			}
			var changed []string
			for k, sig := range before {
				if after[k] != sig {
					changed = append(changed, k[:strings.LastIndexByte(k, '/')])
				}
			}
			slices.Sort(changed)
			want := []string{"example.com./SOA/3600", "www.example.com./A/3600"}
			if !slices.Equal(changed, want) {
				t.Errorf("new signatures for %v, want only %v", changed, want)
			}
			if n := s.Stats().Signed - made; n != uint64(len(want)) {
				t.Errorf("%d signatures made for the new version, want %d", n, len(want))
			}
			t.Logf("%d signatures served per version, %d new after the IXFR: %v", len(after), len(changed), changed)
		})
	}
}
