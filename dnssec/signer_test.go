package dnssec

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cfsecondary/cfsecondary/zone"

	"github.com/miekg/dns"
)

// A query of the acceptance table and what its answer must prove.
type queryCase struct {
	name  string
	qtype uint16
	kind  string   // see checkCase
	types []uint16 // NODATA: the types that exist at the name (without RRSIG, NSEC)
}

var queryTable = []queryCase{
	{"www.example.com.", dns.TypeA, "positive", nil},
	{"WWW.Example.COM.", dns.TypeAAAA, "positive", nil},
	{"example.com.", dns.TypeSOA, "positive", nil},
	{"example.com.", dns.TypeMX, "positive", nil}, // additional: mail A, signed
	{"example.com.", dns.TypeNS, "positive", nil},
	{"txt.example.com.", dns.TypeTXT, "positive", nil},
	{"alias.example.com.", dns.TypeA, "positive", nil}, // CNAME, then www A
	{"nope.example.com.", dns.TypeA, "nxdomain", nil},
	{"deep.nope.example.com.", dns.TypeTXT, "nxdomain", nil},
	{"nxalias.example.com.", dns.TypeA, "nxdomain", nil}, // CNAME to a name that does not exist
	{"www.example.com.", dns.TypeTXT, "nodata", []uint16{dns.TypeA, dns.TypeAAAA}},
	{"mail.example.com.", dns.TypeMX, "nodata", []uint16{dns.TypeA}},
	{"example.com.", dns.TypeTXT, "nodata", []uint16{dns.TypeA, dns.TypeNS, dns.TypeSOA, dns.TypeMX, dns.TypeDNSKEY, dns.TypeCDS, dns.TypeCDNSKEY}},
	{"foo.wild.example.com.", dns.TypeA, "wildcard", nil},
	{"a.b.wild.example.com.", dns.TypeTXT, "wildcard", nil},
	{"foo.wild.example.com.", dns.TypeMX, "wildnodata", []uint16{dns.TypeA, dns.TypeTXT}},
	{"host.secure.example.com.", dns.TypeA, "referral-signed", nil},
	{"secure.example.com.", dns.TypeDS, "positive", nil},
	{"host.insecure.example.com.", dns.TypeA, "referral-insecure", nil},
	{"insecure.example.com.", dns.TypeDS, "nodata", []uint16{dns.TypeNS}},
	{"y.ent.example.com.", dns.TypeA, "ent", nil},
	{"ent.example.com.", dns.TypeAAAA, "ent", nil},
	{"x.y.ent.example.com.", dns.TypeA, "positive", nil},
	{"a.dn.example.com.", dns.TypeA, "dname", nil},    // DNAME, unsigned CNAME, a.dtarget A
	{"b.dn.example.com.", dns.TypeA, "nxdomain", nil}, // DNAME to a name that does not exist
	{"dtarget.example.com.", dns.TypeA, "ent", nil},   // an empty non-terminal with data below
	{"example.com.", dns.TypeDNSKEY, "positive", nil},
	{"example.com.", dns.TypeCDS, "positive", nil},
	{"example.com.", dns.TypeCDNSKEY, "positive", nil},
}

// TestQueryTable answers every query of the table with DO and validates the
// answer from our DS, for both algorithms and both kinds of denial.
func TestQueryTable(t *testing.T) {
	z := buildZone(t, testOrigin, testZone)
	for _, alg := range []uint8{dns.ECDSAP256SHA256, dns.ED25519} {
		keys := testKeys(t, testOrigin, alg)
		for _, denial := range []Denial{DenialCompact, DenialNSEC3} {
			t.Run(dns.AlgorithmToString[alg]+"/"+denial.String(), func(t *testing.T) {
				s := newTestSigner(t, keys, Options{Denial: denial})
				v := &validator{t: t, anchors: s.DS(), now: time.Now()}
				v.trust(s.Answer(z, zone.Request{Name: testOrigin, Type: dns.TypeDNSKEY, DO: true}).Answer)
				for _, q := range queryTable {
					t.Run(q.name+"/"+dns.TypeToString[q.qtype], func(t *testing.T) {
						v.t = t
						res := s.Answer(z, zone.Request{Name: q.name, Type: q.qtype, DO: true})
						checkCase(t, v, s, q, denial, res)
						if t.Failed() {
							t.Log(dumpResult(res))
						}
					})
				}
			})
		}
	}
}

// checkCase validates res and checks the proof its kind needs.
func checkCase(t *testing.T, v *validator, s *Signer, q queryCase, denial Denial, res zone.Result) {
	t.Helper()
	c := v.check(res)
	final := strings.ToLower(chainEnd(q.name, res.Answer))
	if cut := referral(res.Ns, testOrigin); cut != "" {
		final = strings.ToLower(cut) // the denial is about the delegation
	}
	nsec := func() *dns.NSEC {
		t.Helper()
		if len(c.nsec) != 1 {
			t.Fatalf("want one NSEC, got %d", len(c.nsec))
		}
		n := c.nsec[0]
		if !equalName(n.Hdr.Name, final) || n.NextDomain != "\\000."+final {
			t.Fatalf("NSEC %s -> %s, want %s -> \\000.%s", n.Hdr.Name, n.NextDomain, final, final)
		}
		if n.Hdr.Ttl != 300 {
			t.Errorf("NSEC TTL %d, want the SOA minimum 300", n.Hdr.Ttl)
		}
		return n
	}
	switch q.kind {
	case "positive", "dname":
		if res.Rcode != dns.RcodeSuccess || !res.Authoritative || len(res.Answer) == 0 {
			t.Fatalf("want an authoritative answer")
		}
		if len(c.nsec)+len(c.nsec3) != 0 {
			t.Errorf("positive answer with denial records")
		}
		for _, rr := range res.Answer {
			if rr.Header().Rrtype == q.qtype && equalName(rr.Header().Name, final) {
				if l := c.labels[final+"/"+dns.TypeToString[q.qtype]]; int(l) != dns.CountLabel(final) {
					t.Errorf("RRSIG labels %d, want %d", l, dns.CountLabel(final))
				}
				return
			}
		}
		t.Errorf("no %s RRset at %s", dns.TypeToString[q.qtype], final)

	case "wildcard":
		if res.Rcode != dns.RcodeSuccess || len(res.Answer) == 0 || !equalName(res.Answer[0].Header().Name, q.name) {
			t.Fatalf("want the synthesized answer")
		}
		l := c.labels[final+"/"+dns.TypeToString[q.qtype]]
		if denial == DenialCompact {
			// Signed as if the name existed: no proof needed.
			if int(l) != dns.CountLabel(final) || len(c.nsec) != 0 {
				t.Errorf("labels %d (want %d), %d NSEC (want 0)", l, dns.CountLabel(final), len(c.nsec))
			}
			return
		}
		// Signed as the wildcard *.wild.example.com, plus the NSEC3 covering
		// the next closer name.
		if int(l) != dns.CountLabel("wild.example.com.") {
			t.Errorf("labels %d, want %d", l, dns.CountLabel("wild.example.com."))
		}
		labels := dns.SplitDomainName(final)
		next := strings.Join(labels[len(labels)-int(l)-1:], ".") + "."
		if !covers(c.nsec3, next) {
			t.Errorf("no NSEC3 covers the next closer name %s", next)
		}

	case "nxdomain":
		if denial == DenialCompact {
			if res.Rcode != dns.RcodeSuccess {
				t.Fatalf("compact NXDOMAIN answered %s, want NOERROR", dns.RcodeToString[res.Rcode])
			}
			if n := nsec(); !slices.Equal(n.TypeBitMap, []uint16{dns.TypeRRSIG, dns.TypeNSEC, dns.TypeNXNAME}) {
				t.Errorf("bitmap %s, want RRSIG NSEC NXNAME", typesString(n.TypeBitMap))
			}
			return
		}
		if res.Rcode != dns.RcodeNameError {
			t.Fatalf("rcode %s, want NXDOMAIN", dns.RcodeToString[res.Rcode])
		}
		ce := closestEncloserProof(t, c.nsec3, final)
		if !covers(c.nsec3, "*."+ce) {
			t.Errorf("no NSEC3 covers *.%s", ce)
		}

	case "nodata", "ent":
		if res.Rcode != dns.RcodeSuccess || !res.Authoritative {
			t.Fatalf("want authoritative NOERROR")
		}
		want := q.types
		if denial == DenialCompact {
			want = append(slices.Clone(want), dns.TypeRRSIG, dns.TypeNSEC)
			slices.Sort(want)
			if n := nsec(); !slices.Equal(n.TypeBitMap, want) {
				t.Errorf("bitmap %s, want %s", typesString(n.TypeBitMap), typesString(want))
			}
			return
		}
		n := matching(c.nsec3, final)
		if n == nil {
			t.Fatalf("no NSEC3 matches %s", final)
		}
		if slices.Contains(n.TypeBitMap, q.qtype) || slices.Contains(n.TypeBitMap, dns.TypeCNAME) {
			t.Errorf("NSEC3 bitmap %s has the type asked for", typesString(n.TypeBitMap))
		}
		if q.kind == "ent" && len(n.TypeBitMap) != 0 {
			t.Errorf("empty non-terminal with bitmap %s", typesString(n.TypeBitMap))
		}

	case "wildnodata":
		if res.Rcode != dns.RcodeSuccess || len(res.Answer) != 0 {
			t.Fatalf("want NODATA")
		}
		if denial == DenialCompact {
			want := append(slices.Clone(q.types), dns.TypeRRSIG, dns.TypeNSEC)
			slices.Sort(want)
			if n := nsec(); !slices.Equal(n.TypeBitMap, want) {
				t.Errorf("bitmap %s, want %s", typesString(n.TypeBitMap), typesString(want))
			}
			return
		}
		ce := closestEncloserProof(t, c.nsec3, final)
		w := matching(c.nsec3, "*."+ce)
		if w == nil || slices.Contains(w.TypeBitMap, q.qtype) {
			t.Errorf("no NSEC3 of *.%s without %s", ce, dns.TypeToString[q.qtype])
		}

	case "referral-signed", "referral-insecure":
		if res.Authoritative || res.Rcode != dns.RcodeSuccess || len(res.Answer) != 0 {
			t.Fatalf("want a referral")
		}
		cut := referral(res.Ns, testOrigin)
		hasDS := slices.ContainsFunc(res.Ns, func(rr dns.RR) bool { return rr.Header().Rrtype == dns.TypeDS })
		if len(res.Extra) == 0 || slices.ContainsFunc(res.Extra, func(rr dns.RR) bool { return rr.Header().Rrtype == dns.TypeRRSIG }) {
			t.Errorf("want unsigned glue")
		}
		if q.kind == "referral-signed" {
			if !hasDS || len(c.nsec)+len(c.nsec3) != 0 {
				t.Errorf("want the signed DS and no denial")
			}
			return
		}
		if hasDS {
			t.Fatalf("insecure delegation with a DS")
		}
		if denial == DenialCompact {
			if n := nsec(); !slices.Equal(n.TypeBitMap, []uint16{dns.TypeNS, dns.TypeRRSIG, dns.TypeNSEC}) {
				t.Errorf("bitmap %s, want NS RRSIG NSEC", typesString(n.TypeBitMap))
			}
			return
		}
		n := matching(c.nsec3, cut)
		if n == nil || !slices.Equal(n.TypeBitMap, []uint16{dns.TypeNS}) {
			t.Errorf("want the NSEC3 of %s with NS only, got %v", cut, n)
		}

	default:
		t.Fatalf("unknown kind %q", q.kind)
	}
}

func matching(recs []*dns.NSEC3, name string) *dns.NSEC3 {
	for _, n := range recs {
		if n.Match(name) {
			return n
		}
	}
	return nil
}

func covers(recs []*dns.NSEC3, name string) bool {
	return slices.ContainsFunc(recs, func(n *dns.NSEC3) bool { return n.Cover(name) })
}

// closestEncloserProof checks RFC 5155 7.2.1 for name and returns the
// closest encloser: an ancestor with a matching NSEC3 whose child towards
// name (the next closer name) is covered.
func closestEncloserProof(t *testing.T, recs []*dns.NSEC3, name string) string {
	t.Helper()
	next := name
	for ce := parent(name); ce != ""; ce = parent(ce) {
		if matching(recs, ce) != nil {
			if !covers(recs, next) {
				t.Fatalf("closest encloser %s matched, next closer %s not covered", ce, next)
			}
			return ce
		}
		next = ce
	}
	t.Fatalf("no closest encloser proof for %s", name)
	return ""
}

// TestNoDO: without DO nothing is signed, NXDOMAIN stays, but the DNSKEY,
// CDS and CDNSKEY are ours.
func TestNoDO(t *testing.T) {
	z := buildZone(t, testOrigin, testZone)
	s := newTestSigner(t, testKeys(t, testOrigin, dns.ED25519), Options{})
	for _, q := range queryTable {
		res := s.Answer(z, zone.Request{Name: q.name, Type: q.qtype})
		for _, sec := range [][]dns.RR{res.Answer, res.Ns, res.Extra} {
			for _, rr := range sec {
				if rt := rr.Header().Rrtype; rt == dns.TypeRRSIG || rt == dns.TypeNSEC || rt == dns.TypeNSEC3 {
					t.Fatalf("%s: DNSSEC record without DO: %v", q.name, rr)
				}
			}
		}
		if q.kind == "nxdomain" && res.Rcode != dns.RcodeNameError {
			t.Errorf("%s: rcode %s without DO, want NXDOMAIN", q.name, dns.RcodeToString[res.Rcode])
		}
	}
	res := s.Answer(z, zone.Request{Name: testOrigin, Type: dns.TypeDNSKEY})
	if len(res.Answer) != 2 {
		t.Fatalf("DNSKEY without DO: %v", res.Answer)
	}
	res = s.Answer(z, zone.Request{Name: testOrigin, Type: dns.TypeCDS})
	if len(res.Answer) != 1 || res.Answer[0].(*dns.CDS).KeyTag != s.DS()[0].KeyTag {
		t.Fatalf("CDS without DO: %v", res.Answer)
	}
}

// TestApexRecords: the DNSKEY RRset is our KSK and ZSK signed by the KSK
// only, CDS and CDNSKEY are our KSK's, NSEC3PARAM is there in NSEC3 mode
// only, and the DNSKEYs of a transferred zone are replaced (without
// multi-signer).
func TestApexRecords(t *testing.T) {
	foreign, _ := memKey(t, testOrigin, 256, dns.ECDSAP256SHA256)
	z := buildZone(t, testOrigin, testZone+foreign.String()+"\n")
	keys := testKeys(t, testOrigin, dns.ECDSAP256SHA256)
	ksk, zsk := keys[0], keys[1]
	for _, denial := range []Denial{DenialCompact, DenialNSEC3} {
		s := newTestSigner(t, keys, Options{Denial: denial})
		res := s.Answer(z, zone.Request{Name: testOrigin, Type: dns.TypeDNSKEY, DO: true})
		var tags []uint16
		for _, rr := range res.Answer {
			switch x := rr.(type) {
			case *dns.DNSKEY:
				tags = append(tags, x.KeyTag())
			case *dns.RRSIG:
				if x.KeyTag != ksk.Tag {
					t.Errorf("DNSKEY RRset signed by %d, not only by the KSK %d", x.KeyTag, ksk.Tag)
				}
			}
		}
		if !slices.Equal(tags, []uint16{ksk.Tag, zsk.Tag}) {
			t.Errorf("DNSKEY tags %v, want %v", tags, []uint16{ksk.Tag, zsk.Tag})
		}
		res = s.Answer(z, zone.Request{Name: testOrigin, Type: dns.TypeCDS, DO: true})
		ds := s.DS()[0]
		if cds := res.Answer[0].(*dns.CDS); cds.KeyTag != ksk.Tag || cds.Digest != ds.Digest || cds.DigestType != dns.SHA256 {
			t.Errorf("CDS %v, want the KSK's DS %v", cds, ds)
		}
		res = s.Answer(z, zone.Request{Name: testOrigin, Type: dns.TypeCDNSKEY, DO: true})
		if c := res.Answer[0].(*dns.CDNSKEY); c.PublicKey != ksk.DNSKEY.PublicKey || c.Flags != 257 {
			t.Errorf("CDNSKEY %v, want the KSK", c)
		}
		res = s.Answer(z, zone.Request{Name: testOrigin, Type: dns.TypeNSEC3PARAM, DO: true})
		has := len(res.Answer) > 0 && res.Answer[0].Header().Rrtype == dns.TypeNSEC3PARAM
		if has != (denial == DenialNSEC3) {
			t.Errorf("%s: NSEC3PARAM answer %v", denial, res.Answer)
		}
		if has {
			p := res.Answer[0].(*dns.NSEC3PARAM)
			if p.Hash != dns.SHA1 || p.Iterations != 0 || p.SaltLength != 0 || p.Flags != 0 {
				t.Errorf("NSEC3PARAM %v, want 1 0 0 -", p)
			}
		}
	}
}

// TestNXNAMEQuery: an explicit query for NXNAME is FORMERR (RFC 9824 3.5).
func TestNXNAMEQuery(t *testing.T) {
	z := buildZone(t, testOrigin, testZone)
	s := newTestSigner(t, testKeys(t, testOrigin, dns.ED25519), Options{})
	if r := s.Answer(z, zone.Request{Name: "www.example.com.", Type: dns.TypeNXNAME, DO: true}); r.Rcode != dns.RcodeFormatError {
		t.Fatalf("NXNAME query: %s", dns.RcodeToString[r.Rcode])
	}
}

// TestExplicitNSECAndRRSIG: a query for the NSEC of a name answers it
// (compact denial), a query for RRSIG answers the signatures there.
func TestExplicitNSECAndRRSIG(t *testing.T) {
	z := buildZone(t, testOrigin, testZone)
	s := newTestSigner(t, testKeys(t, testOrigin, dns.ECDSAP256SHA256), Options{})
	v := &validator{t: t, anchors: s.DS(), now: time.Now()}
	v.trust(s.Answer(z, zone.Request{Name: testOrigin, Type: dns.TypeDNSKEY, DO: true}).Answer)

	res := s.Answer(z, zone.Request{Name: "www.example.com.", Type: dns.TypeNSEC, DO: true})
	c := v.check(res)
	if len(c.nsec) != 1 || !slices.Equal(c.nsec[0].TypeBitMap, []uint16{dns.TypeA, dns.TypeAAAA, dns.TypeRRSIG, dns.TypeNSEC}) || len(res.Ns) != 0 {
		t.Fatalf("NSEC query:\n%s", dumpResult(res))
	}
	res = s.Answer(z, zone.Request{Name: "www.example.com.", Type: dns.TypeRRSIG, DO: true})
	var covered []uint16
	for _, rr := range res.Answer {
		covered = append(covered, rr.(*dns.RRSIG).TypeCovered)
	}
	if !slices.Equal(covered, []uint16{dns.TypeA, dns.TypeAAAA}) {
		t.Fatalf("RRSIG query:\n%s", dumpResult(res))
	}
}

// TestPresignedInputScrubbed: a zone that arrives signed (RRSIG, NSEC,
// DNSKEY of the primary) is served with our records only.
func TestPresignedInputScrubbed(t *testing.T) {
	other := buildZone(t, testOrigin, testZone)
	// Sign the zone with a foreign key first, as a primary would have.
	fk, fpriv := memKey(t, testOrigin, 257, dns.ECDSAP256SHA256)
	var text strings.Builder
	text.WriteString(testZone)
	text.WriteString(fk.String() + "\n")
	other.Walk(func(rrs []dns.RR) bool {
		for set := range rrsets(rrs) {
			sig := &dns.RRSIG{Algorithm: fk.Algorithm, KeyTag: fk.KeyTag(), SignerName: testOrigin,
				Inception: uint32(time.Now().Unix()), Expiration: uint32(time.Now().Add(time.Hour).Unix())}
			if err := sig.Sign(fpriv, set); err != nil {
				t.Fatal(err)
			}
			text.WriteString(sig.String() + "\n")
		}
		return true
	})
	text.WriteString("www.example.com. 300 IN NSEC x.example.com. A AAAA RRSIG NSEC\n")
	z := buildZone(t, testOrigin, text.String())

	s := newTestSigner(t, testKeys(t, testOrigin, dns.ED25519), Options{})
	v := &validator{t: t, anchors: s.DS(), now: time.Now()}
	v.trust(s.Answer(z, zone.Request{Name: testOrigin, Type: dns.TypeDNSKEY, DO: true}).Answer)
	for _, q := range queryTable {
		res := s.Answer(z, zone.Request{Name: q.name, Type: q.qtype, DO: true})
		for _, sec := range [][]dns.RR{res.Answer, res.Ns, res.Extra} {
			for _, rr := range sec {
				if sig, ok := rr.(*dns.RRSIG); ok && sig.KeyTag == fk.KeyTag() {
					t.Fatalf("%s: the primary's signature served: %v", q.name, rr)
				}
				if k, ok := rr.(*dns.DNSKEY); ok && k.PublicKey == fk.PublicKey {
					t.Fatalf("%s: the primary's key served", q.name)
				}
			}
		}
		v.t = t
		checkCase(t, v, s, q, DenialCompact, res)
	}
	res := s.Answer(z, zone.Request{Name: "www.example.com.", Type: dns.TypeNSEC, DO: true})
	if len(res.Answer) != 2 || res.Answer[0].(*dns.NSEC).NextDomain != "\\000.www.example.com." {
		t.Fatalf("the primary's NSEC served:\n%s", dumpResult(res))
	}
}

// TestSignatureTimes: inception an hour back, expiration within the
// validity less the jitter, and a cached signature made again once less
// than the refresh time is left.
func TestSignatureTimes(t *testing.T) {
	z := buildZone(t, testOrigin, testZone)
	now := time.Now()
	clock := func() time.Time { return now }
	s := newTestSigner(t, testKeys(t, testOrigin, dns.ED25519), Options{Now: clock})
	req := zone.Request{Name: "www.example.com.", Type: dns.TypeA, DO: true}
	first := s.Answer(z, req).Answer[1].(*dns.RRSIG)
	if want := uint32(now.Add(-time.Hour).Unix()); first.Inception != want {
		t.Errorf("inception %d, want %d", first.Inception, want)
	}
	lo, hi := now.Add(-time.Hour+defaultValidity-defaultValidity/16).Unix(), now.Add(-time.Hour+defaultValidity).Unix()
	if e := int64(first.Expiration); e < lo || e > hi {
		t.Errorf("expiration %d outside [%d, %d]", e, lo, hi)
	}
	// Expirations are spread.
	seen := map[uint32]bool{}
	for i := range 20 {
		r := s.Answer(z, zone.Request{Name: "www.example.com.", Type: dns.TypeA, DO: true, TCP: i%2 == 0})
		seen[r.Answer[1].(*dns.RRSIG).Expiration] = true
		s.Answer(z, zone.Request{Name: "n" + string(rune('a'+i)) + ".example.com.", Type: dns.TypeA, DO: true})
	}
	var exps []uint32
	for _, n := range []string{"na", "nb", "nc", "nd", "ne", "nf"} {
		r := s.Answer(z, zone.Request{Name: n + ".example.com.", Type: dns.TypeA, DO: true})
		exps = append(exps, r.Ns[len(r.Ns)-1].(*dns.RRSIG).Expiration)
	}
	slices.Sort(exps)
	if len(slices.Compact(exps)) < 3 {
		t.Errorf("expirations not spread: %v", exps)
	}
	if len(seen) != 1 {
		t.Errorf("a cached signature changed: %v", seen)
	}

	// Half way: the same signature.
	now = now.Add(defaultValidity / 2)
	if again := s.Answer(z, req).Answer[1].(*dns.RRSIG); again != first {
		t.Errorf("signature remade half way through its validity")
	}
	// Less than a quarter left: a new one.
	now = time.Unix(int64(first.Expiration), 0).Add(-defaultValidity/4 + time.Minute)
	fresh := s.Answer(z, req).Answer[1].(*dns.RRSIG)
	if fresh == first || fresh.Inception <= first.Inception {
		t.Errorf("signature not refreshed with %s left", time.Unix(int64(first.Expiration), 0).Sub(now))
	}
	v := &validator{t: t, anchors: s.DS(), now: now}
	v.trust(s.Answer(z, zone.Request{Name: testOrigin, Type: dns.TypeDNSKEY, DO: true}).Answer)
	v.check(s.Answer(z, req))
}
