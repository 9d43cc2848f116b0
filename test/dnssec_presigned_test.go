package test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// A zone signed by BIND's dnssec-signzone three ways (NSEC, NSEC3, NSEC3 with opt-out), served by
// a real BIND primary, transferred by the custom CoreDNS, and queried: every answer with DO must
// validate against the zone's key (a validator in Go, below, and BIND's delv), match what BIND
// itself answers, and carry no DNSSEC records without DO.

const (
	presignedOrigin = "dnssec.test."
	presignedSalt   = "a1b2c3d4"
)

// presignedIterations are the NSEC3 iterations of each signed zone (for NSEC, any).
var presignedIterations = [3]uint16{0, 3, 0}

const presignedZone = `$ORIGIN dnssec.test.
$TTL 3600
@           IN SOA   ns1.dnssec.test. hostmaster.dnssec.test. 2026112701 3600 600 86400 300
@           IN NS    ns1.dnssec.test.
@           IN MX    10 mail.dnssec.test.
@           IN A     192.0.2.1
ns1         IN A     192.0.2.53
mail        IN A     192.0.2.25
www         IN A     192.0.2.80
www         IN AAAA  2001:db8::80
cname       IN CNAME www.dnssec.test.
cnx         IN CNAME nothere.dnssec.test.
*.wild      IN TXT   "wildcard"
*.wild      IN A     192.0.2.100
*.wc        IN CNAME www.dnssec.test.
a.ent       IN A     192.0.2.10
dn          IN DNAME dtarget.dnssec.test.
www.dtarget IN A     192.0.2.70
secure      IN NS    ns.secure.dnssec.test.
secure      IN DS    12345 13 2 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF
ns.secure   IN A     192.0.2.60
insecure    IN NS    ns.insecure.dnssec.test.
ns.insecure IN A     192.0.2.61
x.optent    IN NS    ns.example.net.
`

// Verdicts of the Go validator.
const (
	vSecure     = "secure"              // signatures and denial proofs complete
	vOptOut     = "opt-out"             // complete, but a next closer name is covered by an opt-out NSEC3
	vOptNoMatch = "opt-out NODATA"      // NODATA without a matching NSEC3, by an opt-out cover (RFC 5155 7.2.3, 7.2.4)
	vRefDS      = "referral+DS"         // a referral with a validated DS
	vRefNoDS    = "referral-DS"         // a referral proven to have no DS
	vRefNoDSOpt = "referral-DS opt-out" // the same, by an opt-out NSEC3 covering the cut
)

type presignedQuery struct {
	name  string // relative to the origin; "@" for it, "#name" for the hash of name
	qtype uint16
	rcode int
	want  [3]string // the Go validator's verdict for NSEC, NSEC3, NSEC3 opt-out
}

var presignedQueries = []presignedQuery{
	{"@", dns.TypeSOA, dns.RcodeSuccess, [3]string{vSecure, vSecure, vSecure}},
	{"@", dns.TypeDNSKEY, dns.RcodeSuccess, [3]string{vSecure, vSecure, vSecure}},
	{"@", dns.TypeMX, dns.RcodeSuccess, [3]string{vSecure, vSecure, vSecure}},
	{"@", dns.TypeNSEC3PARAM, dns.RcodeSuccess, [3]string{vSecure, vSecure, vSecure}}, // NODATA with NSEC
	{"www", dns.TypeA, dns.RcodeSuccess, [3]string{vSecure, vSecure, vSecure}},
	{"cname", dns.TypeA, dns.RcodeSuccess, [3]string{vSecure, vSecure, vSecure}},
	{"www.dn", dns.TypeA, dns.RcodeSuccess, [3]string{vSecure, vSecure, vSecure}},
	// NXDOMAIN.
	{"nothere", dns.TypeA, dns.RcodeNameError, [3]string{vSecure, vSecure, vOptOut}},
	{"a.b.nothere", dns.TypeA, dns.RcodeNameError, [3]string{vSecure, vSecure, vOptOut}},
	{"x.ent", dns.TypeA, dns.RcodeNameError, [3]string{vSecure, vSecure, vOptOut}},
	{"cnx", dns.TypeA, dns.RcodeNameError, [3]string{vSecure, vSecure, vOptOut}},
	// The owner name of www's NSEC3 does not exist either (RFC 5155 7.2.8).
	{"#www", dns.TypeA, dns.RcodeNameError, [3]string{vSecure, vSecure, vOptOut}},
	{"#www", dns.TypeNSEC3, dns.RcodeNameError, [3]string{vSecure, vSecure, vOptOut}},
	// NODATA, at a name, at empty non-terminals (optent only leads to an unsigned delegation).
	{"www", dns.TypeTXT, dns.RcodeSuccess, [3]string{vSecure, vSecure, vSecure}},
	{"ent", dns.TypeA, dns.RcodeSuccess, [3]string{vSecure, vSecure, vSecure}},
	{"optent", dns.TypeA, dns.RcodeSuccess, [3]string{vSecure, vSecure, vOptNoMatch}},
	// Wildcards: answers, NODATA, a CNAME.
	{"foo.wild", dns.TypeTXT, dns.RcodeSuccess, [3]string{vSecure, vSecure, vOptOut}},
	{"a.b.wild", dns.TypeA, dns.RcodeSuccess, [3]string{vSecure, vSecure, vOptOut}},
	{"foo.wild", dns.TypeAAAA, dns.RcodeSuccess, [3]string{vSecure, vSecure, vOptOut}},
	{"foo.wc", dns.TypeA, dns.RcodeSuccess, [3]string{vSecure, vSecure, vOptOut}},
	// Delegations, signed and not, and their DS.
	{"secure", dns.TypeA, dns.RcodeSuccess, [3]string{vRefDS, vRefDS, vRefDS}},
	{"host.secure", dns.TypeA, dns.RcodeSuccess, [3]string{vRefDS, vRefDS, vRefDS}},
	{"insecure", dns.TypeA, dns.RcodeSuccess, [3]string{vRefNoDS, vRefNoDS, vRefNoDSOpt}},
	{"x.optent", dns.TypeA, dns.RcodeSuccess, [3]string{vRefNoDS, vRefNoDS, vRefNoDSOpt}},
	{"secure", dns.TypeDS, dns.RcodeSuccess, [3]string{vSecure, vSecure, vSecure}},
	{"insecure", dns.TypeDS, dns.RcodeSuccess, [3]string{vSecure, vSecure, vOptNoMatch}},
}

// bindTool finds one of BIND's tools, failing (never skipping) with what to install.
func bindTool(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is not installed: apt-get install -y %s", name, pkg)
	}
	return p
}

func runBindTool(t *testing.T, dir, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// presignedSigner signs zones with one ECDSA P-256 KSK and ZSK, made by dnssec-keygen in a
// temporary directory.
type presignedSigner struct {
	dir, signzone string
	ksk           *dns.DNSKEY
}

// signPresigned makes the keys and signs presignedZone with them three ways. It returns the
// signed zones, in the order of presignedQuery.want, and the KSK.
func signPresigned(t *testing.T) ([3]string, *dns.DNSKEY) {
	s := newPresignedSigner(t)
	return s.sign(t, presignedZone), s.ksk
}

// sign signs text three ways: NSEC, NSEC3 (salt, 3 iterations), NSEC3 with opt-out.
func (s *presignedSigner) sign(t *testing.T, text string) [3]string {
	t.Helper()
	if err := os.WriteFile(filepath.Join(s.dir, "zone.db"), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	var zones [3]string
	for i, args := range [][]string{
		nil,
		{"-3", presignedSalt, "-H", "3"},
		{"-3", presignedSalt, "-H", "0", "-A"},
	} {
		out := filepath.Join(s.dir, fmt.Sprintf("signed%d.db", i))
		runBindTool(t, s.dir, s.signzone, slices.Concat([]string{"-q", "-S", "-K", s.dir, "-d", s.dir, "-o", presignedOrigin, "-f", out}, args, []string{"zone.db"})...)
		signed, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		zones[i] = string(signed)
	}
	return zones
}

func newPresignedSigner(t *testing.T) *presignedSigner {
	keygen := bindTool(t, "dnssec-keygen", "bind9-utils")
	dir := t.TempDir()
	s := &presignedSigner{dir: dir, signzone: bindTool(t, "dnssec-signzone", "bind9-utils")}
	ksk := strings.TrimSpace(runBindTool(t, dir, keygen, "-q", "-K", dir, "-a", "ECDSAP256SHA256", "-f", "KSK", presignedOrigin))
	runBindTool(t, dir, keygen, "-q", "-K", dir, "-a", "ECDSAP256SHA256", presignedOrigin)
	text, err := os.ReadFile(filepath.Join(dir, ksk+".key"))
	if err != nil {
		t.Fatal(err)
	}
	var key *dns.DNSKEY
	for _, line := range strings.Split(string(text), "\n") {
		if line == "" || strings.HasPrefix(line, ";") {
			continue
		}
		rr, err := dns.NewRR(line)
		if err != nil {
			t.Fatalf("KSK file: %v", err)
		}
		key, _ = rr.(*dns.DNSKEY)
	}
	if key == nil || key.Flags != 257 {
		t.Fatalf("no KSK in %s", text)
	}
	s.ksk = key
	return s
}

// writeAnchor writes a trust anchor file for delv with the KSK.
func writeAnchor(t *testing.T, ksk *dns.DNSKEY) string {
	anchor := filepath.Join(t.TempDir(), "anchor.conf")
	if err := os.WriteFile(anchor, []byte(fmt.Sprintf("trust-anchors {\n\t%s static-key %d %d %d %q;\n};\n",
		presignedOrigin, ksk.Flags, ksk.Protocol, ksk.Algorithm, ksk.PublicKey)), 0o644); err != nil {
		t.Fatal(err)
	}
	return anchor
}

func TestPresignedFromBind(t *testing.T) {
	delv := bindTool(t, "delv", "bind9-dnsutils")
	zones, ksk := signPresigned(t)
	anchor := writeAnchor(t, ksk)

	for i, kind := range []string{"nsec", "nsec3", "nsec3-optout"} {
		t.Run(kind, func(t *testing.T) {
			// minimal-responses: BIND answers as we do, so that the two can be compared.
			bind := startBind(t, nil, "allow-transfer { any; }; minimal-responses yes;",
				BindZone{Name: strings.TrimSuffix(presignedOrigin, "."), Text: zones[i], Signed: true})
			port := freePort(t)
			addr := fmt.Sprintf("127.0.0.1:%d", port)
			startCoreDNS(t, fmt.Sprintf("%s:%d {\n bind 127.0.0.1\n cfsecondary {\n  peer %s\n  dir %s\n }\n}\n",
				presignedOrigin, port, bind.Addr, t.TempDir()))
			waitFor(t, 10*time.Second, "the zone to be transferred", func() bool { return serialAt(addr, presignedOrigin) == 2026112701 })

			v := newDNSSECValidator(t, addr, ksk, kind != "nsec")
			var table strings.Builder
			for _, q := range presignedQueries {
				name := presignedOrigin
				switch {
				case strings.HasPrefix(q.name, "#"):
					name = strings.ToLower(dns.HashName(q.name[1:]+"."+presignedOrigin, dns.SHA1, presignedIterations[i], presignedSalt)) + "." + presignedOrigin
				case q.name != "@":
					name = q.name + "." + presignedOrigin
				}
				qt := dns.TypeToString[q.qtype]
				r := askAuth(t, addr, name, q.qtype, true)
				got, err := v.check(name, q.qtype, r)
				switch {
				case err != nil:
					t.Errorf("%s %s: does not validate: %v\n%s", name, qt, err, r)
				case got != q.want[i]:
					t.Errorf("%s %s: %s, want %s\n%s", name, qt, got, q.want[i], r)
				}
				// The validator is not vacuous, and the proofs are minimal: without any one of
				// its NSEC or NSEC3 RRsets, or with a broken signature, the response fails or
				// proves less.
				if err == nil {
					for _, mut := range breakResponse(r) {
						if weaker, err := v.check(name, q.qtype, mut.m); err == nil && weaker == got {
							t.Errorf("%s %s %s: still validates (%s)", name, qt, mut.what, got)
						}
					}
				}
				if r.Rcode != q.rcode {
					t.Errorf("%s %s: rcode %s, want %s", name, qt, dns.RcodeToString[r.Rcode], dns.RcodeToString[q.rcode])
				}

				// Without DO: the same answer, less every RRSIG, NSEC, NSEC3 and referral DS.
				plain := askAuth(t, addr, name, q.qtype, false)
				if diff := compareAnswers(stripDNSSEC(r, q.qtype), plain, true); diff != "" {
					t.Errorf("%s %s without DO: %s\n%s", name, qt, diff, plain)
				}
				for _, rr := range slices.Concat(plain.Answer, plain.Ns, plain.Extra) {
					if isDNSSECType(rr.Header().Rrtype) && rr.Header().Rrtype != q.qtype {
						t.Errorf("%s %s without DO: %s", name, qt, rr)
					}
				}

				// What BIND answers, answer and authority sections alike (BIND's additional
				// section is minimal).
				ref := askAuth(t, bind.Addr, name, q.qtype, true)
				if diff := compareAnswers(ref, r, false); diff != "" {
					t.Errorf("%s %s: not as BIND answers: %s\nBIND:%s\nCoreDNS:%s", name, qt, diff, ref, r)
				}

				// delv, a validating resolver, gets the same verdict from both. It follows no
				// referrals from an authoritative server ("non-improving referral").
				verdict := "-"
				if r.Authoritative {
					verdict = delvVerdict(t, delv, anchor, addr, name, qt)
					if want := delvVerdict(t, delv, anchor, bind.Addr, name, qt); verdict != want {
						t.Errorf("%s %s: delv says %q, with BIND %q", name, qt, verdict, want)
					}
					if got == vSecure && !strings.Contains(verdict, "fully validated") || strings.Contains(verdict, "failed:") && !strings.Contains(verdict, "ncache") {
						t.Errorf("%s %s: delv says %q", name, qt, verdict)
					}
				}
				fmt.Fprintf(&table, "  %-46s %-10s %-8s %-20s %s\n", name, qt, dns.RcodeToString[r.Rcode], got, verdict)
			}
			t.Logf("%s: query, rcode, Go validator, delv:\n%s", kind, table.String())
		})
	}
}

type brokenResponse struct {
	what string
	m    *dns.Msg
}

// breakResponse returns broken copies of m: without each NSEC or NSEC3 RRset of the authority section
// (and its RRSIGs), with the RRSIGs of its first signed RRset corrupted, and without the RRSIGs
// of the answer section.
func breakResponse(m *dns.Msg) []brokenResponse {
	var out []brokenResponse
	seen := map[string]bool{}
	for _, rr := range m.Ns {
		t := rr.Header().Rrtype
		if t != dns.TypeNSEC && t != dns.TypeNSEC3 || seen[rr.Header().Name] {
			continue
		}
		seen[rr.Header().Name] = true
		c := m.Copy()
		c.Ns = slices.DeleteFunc(c.Ns, func(x dns.RR) bool { return strings.EqualFold(x.Header().Name, rr.Header().Name) })
		out = append(out, brokenResponse{"without the " + dns.TypeToString[t] + " at " + rr.Header().Name, c})
	}
	for _, sec := range []string{"answer", "authority"} {
		c := m.Copy()
		rrs := c.Answer
		if sec == "authority" {
			rrs = c.Ns
		}
		var covered uint16
		var owner string
		for _, rr := range rrs {
			s, ok := rr.(*dns.RRSIG)
			if !ok || covered != 0 && (s.TypeCovered != covered || !strings.EqualFold(s.Hdr.Name, owner)) {
				continue
			}
			covered, owner = s.TypeCovered, s.Hdr.Name
			sig := []byte(s.Signature)
			sig[len(sig)/2] ^= 1 // a base64 letter changed: another signature
			if sig[len(sig)/2] == '+' || sig[len(sig)/2] == '/' || sig[len(sig)/2] == '=' {
				sig[len(sig)/2] = 'A'
			}
			s.Signature = string(sig)
		}
		if covered != 0 {
			out = append(out, brokenResponse{"with a bad RRSIG over " + owner + " " + dns.TypeToString[covered] + " in the " + sec, c})
		}
	}
	if slices.ContainsFunc(m.Answer, func(rr dns.RR) bool { return rr.Header().Rrtype == dns.TypeRRSIG }) {
		c := m.Copy()
		c.Answer = slices.DeleteFunc(c.Answer, func(x dns.RR) bool { return x.Header().Rrtype == dns.TypeRRSIG })
		out = append(out, brokenResponse{"without RRSIGs in the answer", c})
	}
	return out
}

// askAuth asks addr over UDP with a 4096-octet buffer, DO as told, and RD clear as a resolver asks
// an authoritative server.
func askAuth(t *testing.T, addr, name string, qtype uint16, do bool) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	m.RecursionDesired = false
	m.SetEdns0(4096, do)
	r, _, err := (&dns.Client{Timeout: 2 * time.Second}).Exchange(m, addr)
	if err != nil {
		t.Fatalf("query %s %s to %s: %v", name, dns.TypeToString[qtype], addr, err)
	}
	if r.Truncated {
		t.Fatalf("query %s %s to %s: truncated", name, dns.TypeToString[qtype], addr)
	}
	return r
}

// delvVerdict runs delv against addr with the zone's trust anchor and returns its verdict lines.
func delvVerdict(t *testing.T, delv, anchor, addr, name, qtype string) string {
	t.Helper()
	host, port, _ := strings.Cut(addr, ":")
	out, _ := exec.Command(delv, "@"+host, "-p", port, "-a", anchor, "+root="+presignedOrigin, name, qtype).CombinedOutput()
	var lines []string
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, ";") && (strings.Contains(line, "validated") || strings.Contains(line, "unsigned answer") ||
			strings.Contains(line, "resolution failed") || strings.Contains(line, "bogus")) {
			lines = append(lines, strings.TrimLeft(line, "; "))
		}
	}
	return strings.Join(lines, "; ")
}

func isDNSSECType(t uint16) bool {
	return t == dns.TypeRRSIG || t == dns.TypeNSEC || t == dns.TypeNSEC3
}

// stripDNSSEC returns a copy of m without what DO adds: RRSIG, NSEC and NSEC3 records not asked
// for, and the DS of a referral.
func stripDNSSEC(m *dns.Msg, qtype uint16) *dns.Msg {
	c := m.Copy()
	keep := func(rrs []dns.RR, section string) []dns.RR {
		var out []dns.RR
		for _, rr := range rrs {
			t := rr.Header().Rrtype
			if isDNSSECType(t) && (t != qtype || section != "answer") || t == dns.TypeDS && section == "authority" {
				continue
			}
			out = append(out, rr)
		}
		return out
	}
	c.Answer, c.Ns, c.Extra = keep(c.Answer, "answer"), keep(c.Ns, "authority"), keep(c.Extra, "additional")
	return c
}

// compareAnswers compares the rcode, AA and the answer and authority sections of two
// responses as sets, and the additional sections too when extra is set (OPT aside). It returns
// what differs, or "".
func compareAnswers(a, b *dns.Msg, extra bool) string {
	if a.Rcode != b.Rcode || a.Authoritative != b.Authoritative {
		return fmt.Sprintf("rcode %s aa=%t vs rcode %s aa=%t", dns.RcodeToString[a.Rcode], a.Authoritative, dns.RcodeToString[b.Rcode], b.Authoritative)
	}
	set := func(rrs []dns.RR) []string {
		var out []string
		for _, rr := range rrs {
			if rr.Header().Rrtype == dns.TypeOPT {
				continue
			}
			c := dns.Copy(rr)
			c.Header().Name = strings.ToLower(c.Header().Name)
			out = append(out, c.String())
		}
		slices.Sort(out)
		return out
	}
	sections := []struct {
		name string
		a, b []dns.RR
	}{{"answer", a.Answer, b.Answer}, {"authority", a.Ns, b.Ns}}
	if extra {
		sections = append(sections, struct {
			name string
			a, b []dns.RR
		}{"additional", a.Extra, b.Extra})
	}
	for _, s := range sections {
		if x, y := set(s.a), set(s.b); !slices.Equal(x, y) {
			return fmt.Sprintf("%s section differs:\n\t%s\nvs\n\t%s", s.name, strings.Join(x, "\n\t"), strings.Join(y, "\n\t"))
		}
	}
	return ""
}

// TestPresignedIXFRFromBind: a signed zone changes on the primary (a name added, one removed,
// everything signed again) and reaches the secondary by NOTIFY and IXFR, which replaces
// signatures and links of the NSEC or NSEC3 chain in place. Answers from the new version, the
// proofs found by the new chain included, validate and are those BIND gives.
func TestPresignedIXFRFromBind(t *testing.T) {
	s := newPresignedSigner(t)
	v1 := s.sign(t, presignedZone)
	text2 := strings.Replace(presignedZone, "2026112701", "2026112702", 1)
	text2 = strings.Replace(text2, "cname       IN CNAME www.dnssec.test.\n", "", 1) + "new         IN A     192.0.2.99\nb.new2      IN A     192.0.2.98\n"
	v2 := s.sign(t, text2)

	for i, kind := range []string{"nsec", "nsec3", "nsec3-optout"} {
		t.Run(kind, func(t *testing.T) {
			logs := captureLogs(t)
			port := freePort(t)
			addr := fmt.Sprintf("127.0.0.1:%d", port)
			bind := startBind(t, nil, "allow-transfer { any; }; minimal-responses yes; ixfr-from-differences yes;",
				BindZone{Name: strings.TrimSuffix(presignedOrigin, "."), Text: v1[i], Signed: true,
					Extra: fmt.Sprintf("notify explicit; also-notify { 127.0.0.1 port %d; };", port)})
			startCoreDNS(t, fmt.Sprintf("%s:%d {\n bind 127.0.0.1\n cfsecondary {\n  peer %s ixfr\n  dir %s\n }\n}\n",
				presignedOrigin, port, bind.Addr, t.TempDir()))
			waitFor(t, 10*time.Second, "serial 2026112701", func() bool { return serialAt(addr, presignedOrigin) == 2026112701 })

			if err := os.WriteFile(filepath.Join(bind.Dir, strings.TrimSuffix(presignedOrigin, ".")+".zone"), []byte(v2[i]), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := bind.cmd.Process.Signal(syscall.SIGHUP); err != nil { // named reloads its zones
				t.Fatal(err)
			}
			waitFor(t, 15*time.Second, "serial 2026112702", func() bool { return serialAt(addr, presignedOrigin) == 2026112702 })
			waitFor(t, 5*time.Second, "the IXFR to be logged", func() bool {
				return logs.Count("dnssec.test.: transferred serial 2026112702") >= 1
			})
			if n := logs.Count("dnssec.test.: transferred serial 2026112702", "by ixfr"); n != 1 {
				t.Errorf("serial 2026112702 came by IXFR %d times, want once:\n%s", n, logs)
			}

			v := newDNSSECValidator(t, addr, s.ksk, kind != "nsec")
			nx := [3]string{vSecure, vSecure, vOptOut}
			for _, q := range []struct {
				name  string
				qtype uint16
				want  string
			}{
				{"new.dnssec.test.", dns.TypeA, vSecure},
				{"new.dnssec.test.", dns.TypeTXT, vSecure},
				{"new2.dnssec.test.", dns.TypeA, vSecure}, // a new empty non-terminal
				{"b.new2.dnssec.test.", dns.TypeA, vSecure},
				{"cname.dnssec.test.", dns.TypeA, nx[i]}, // removed
				{"nothere.dnssec.test.", dns.TypeA, nx[i]},
				{"www.dnssec.test.", dns.TypeA, vSecure},
				{"foo.wild.dnssec.test.", dns.TypeTXT, nx[i]},
			} {
				r := askAuth(t, addr, q.name, q.qtype, true)
				got, err := v.check(q.name, q.qtype, r)
				switch {
				case err != nil:
					t.Errorf("%s %s: does not validate: %v\n%s", q.name, dns.TypeToString[q.qtype], err, r)
				case got != q.want:
					t.Errorf("%s %s: %s, want %s\n%s", q.name, dns.TypeToString[q.qtype], got, q.want, r)
				}
				ref := askAuth(t, bind.Addr, q.name, q.qtype, true)
				if diff := compareAnswers(ref, r, false); diff != "" {
					t.Errorf("%s %s: not as BIND answers: %s", q.name, dns.TypeToString[q.qtype], diff)
				}
			}
		})
	}
}
