package zone

import (
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// FuzzLookup asks the test zone random questions. Lookup must not panic and
// every answer must have a shape RFC 1034, 2308 and 6672 allow.
func FuzzLookup(f *testing.F) {
	z := testZone(f)
	for _, tc := range lookupCases {
		f.Add(strings.TrimSuffix(tc.Qname, testOrigin), tc.Qtype, tc.Do, false)
	}
	for _, s := range []string{"", "*.", `\000.wild.`, `a\.b.ent.`, "x.", "sub.", "A.B.C.D.E.F.G.H.", strings.Repeat("a.", 100)} {
		f.Add(s, dns.TypeA, false, true)
	}
	f.Fuzz(func(t *testing.T, prefix string, qtype uint16, do, tcp bool) {
		for _, name := range []string{prefix + testOrigin, prefix} {
			req := Request{Name: name, Type: qtype, DO: do, TCP: tcp}
			if err := invariants(req, z.Lookup(req)); err != "" {
				t.Fatalf("%q %s DO=%t TCP=%t: %s", name, dns.TypeToString[qtype], do, tcp, err)
			}
		}
	})
}

// invariants returns what is wrong with res as the answer to req.
func invariants(req Request, res Result) string {
	for _, sec := range [][]dns.RR{res.Answer, res.Ns, res.Extra} {
		for _, rr := range sec {
			if rr == nil {
				return "nil RR"
			}
		}
	}
	// Denial of existence (NSEC, NSEC3 and their RRSIGs) may go into the
	// authority section of any answer, but only with DO. The checks below
	// look at the rest.
	var ns []dns.RR
	for _, rr := range res.Ns {
		if isDenial(rr) {
			if !req.DO {
				return "NSEC or NSEC3 without DO"
			}
			continue
		}
		ns = append(ns, rr)
	}
	res.Ns = ns
	soaOnly := func(rrs []dns.RR) bool {
		if len(rrs) == 0 || rrs[0].Header().Rrtype != dns.TypeSOA || rrs[0].Header().Ttl != 300 {
			return false
		}
		for _, rr := range rrs[1:] {
			if s, ok := rr.(*dns.RRSIG); !ok || s.TypeCovered != dns.TypeSOA || !req.DO {
				return false
			}
		}
		return true
	}
	redirects := func(rrs []dns.RR) bool { // only CNAME and DNAME (and their RRSIGs)
		for _, rr := range rrs {
			switch t := rr.Header().Rrtype; t {
			case dns.TypeCNAME, dns.TypeDNAME:
			case dns.TypeRRSIG:
				if !req.DO {
					return false
				}
			default:
				return false
			}
		}
		return true
	}
	switch res.Rcode {
	case dns.RcodeFormatError, dns.RcodeRefused:
		if res.Authoritative || len(res.Answer)+len(res.Ns)+len(res.Extra) > 0 {
			return "error with data"
		}
		return ""
	case dns.RcodeNameError:
		if !res.Authoritative || !soaOnly(res.Ns) || len(res.Extra) > 0 || !redirects(res.Answer) {
			return "NXDOMAIN needs AA, only redirections in the answer and the SOA in authority"
		}
		return ""
	case dns.RcodeYXDomain:
		if !res.Authoritative || len(res.Answer) == 0 || res.Answer[len(res.Answer)-1].Header().Rrtype != dns.TypeDNAME && !req.DO {
			return "YXDOMAIN must end with the DNAME"
		}
		return ""
	case dns.RcodeSuccess:
	default:
		return "unexpected rcode " + dns.RcodeToString[res.Rcode]
	}

	referral := func() bool {
		if len(res.Ns) == 0 || res.Ns[0].Header().Rrtype != dns.TypeNS {
			return false
		}
		for _, rr := range res.Ns {
			switch rr.Header().Rrtype {
			case dns.TypeNS:
			case dns.TypeDS, dns.TypeRRSIG:
				if !req.DO {
					return false
				}
			default:
				return false
			}
		}
		return true
	}
	switch {
	case !res.Authoritative:
		if len(res.Answer) > 0 || !referral() {
			return "a non-authoritative answer must be a plain referral"
		}
	case len(res.Answer) == 0:
		if !soaOnly(res.Ns) || len(res.Extra) > 0 {
			return "NODATA needs the SOA in authority"
		}
	case len(res.Ns) > 0:
		if !redirects(res.Answer) || !soaOnly(res.Ns) && !referral() {
			return "authority with an answer: only after a CNAME, with a referral or NODATA"
		}
	default:
		if !sameName(res.Answer[0].Header().Name, req.Name) && res.Answer[0].Header().Rrtype != dns.TypeDNAME {
			return "answer for another name"
		}
		for _, rr := range res.Answer {
			t := rr.Header().Rrtype
			if t == dns.TypeRRSIG && !req.DO && req.Type != dns.TypeRRSIG {
				return "RRSIG without DO"
			}
			if (t == dns.TypeNSEC || t == dns.TypeNSEC3) && !req.DO && req.Type != t {
				return "NSEC or NSEC3 without DO"
			}
			if req.Type != dns.TypeANY && t != req.Type && t != dns.TypeCNAME && t != dns.TypeDNAME && t != dns.TypeRRSIG {
				return "answer of type " + dns.TypeToString[t]
			}
		}
	}
	return ""
}

// TestInvariants holds the table of lookup cases to the fuzz invariants,
// which also shows the invariants are not vacuous.
func TestInvariants(t *testing.T) {
	z := testZone(t)
	for _, tc := range lookupCases {
		req := Request{Name: tc.Qname, Type: tc.Qtype, DO: tc.Do}
		if err := invariants(req, z.Lookup(req)); err != "" {
			t.Errorf("%s: %s", caseName(tc), err)
		}
	}
	bad := Result{Rcode: dns.RcodeNameError, Authoritative: true}
	if invariants(Request{Name: "x.example.org.", Type: dns.TypeA}, bad) == "" {
		t.Error("NXDOMAIN without SOA passed")
	}
}

// isDenial reports whether rr is an NSEC, an NSEC3 or an RRSIG over one.
func isDenial(rr dns.RR) bool {
	switch x := rr.(type) {
	case *dns.NSEC, *dns.NSEC3:
		return true
	case *dns.RRSIG:
		return x.TypeCovered == dns.TypeNSEC || x.TypeCovered == dns.TypeNSEC3
	}
	return false
}

func sameName(a, b string) bool {
	var ka, kb keyBuf
	return ka.set(a) && kb.set(b) && string(ka.b[:ka.n]) == string(kb.b[:kb.n])
}
