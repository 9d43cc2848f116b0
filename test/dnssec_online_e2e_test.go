package test

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cfsecondary/cfsecondary/dnssec"
	"github.com/cfsecondary/cfsecondary/internal/fakeprimary"

	"github.com/miekg/dns"
)

// signedZone is version serial of the hidden primary's unsigned zone; www's address changes.
func signedZone(serial uint32, www string) []dns.RR {
	text := fmt.Sprintf(`$ORIGIN signed.test.
@        300 IN SOA ns1 hostmaster %d 3600 600 86400 300
@        300 IN NS  ns1
ns1      300 IN A   192.0.2.1
www      300 IN A   %s
txt      300 IN TXT "kept"
*.wild   300 IN A   192.0.2.99
x.y.ent  300 IN A   192.0.2.7
sub      300 IN NS  ns.sub
sub      300 IN DS  12345 13 2 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF
ns.sub   300 IN A   192.0.2.53
unsigned 300 IN NS  ns.unsigned
ns.unsigned 300 IN A 192.0.2.54
`, serial, www)
	var rrs []dns.RR
	zp := dns.NewZoneParser(strings.NewReader(text), "", "")
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		rrs = append(rrs, rr)
	}
	return rrs
}

func exchangeDO(t *testing.T, addr, name string, qtype uint16) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	m.SetEdns0(4096, true)
	r, _, err := (&dns.Client{Net: "tcp", Timeout: 2 * time.Second}).Exchange(m, addr)
	if err != nil {
		t.Fatalf("%s %s: %v", name, dns.TypeToString[qtype], err)
	}
	return r
}

// verifySigned checks every RRSIG of r with keys, and that every RRset of the answer and
// authority sections (a referral's NS aside) is signed. It returns the signatures by
// "owner/type".
func verifySigned(t *testing.T, r *dns.Msg, keys map[uint16]*dns.DNSKEY) map[string]string {
	t.Helper()
	sigs := map[string]string{}
	for _, sec := range [][]dns.RR{r.Answer, r.Ns} {
		sets := map[string][]dns.RR{}
		var rrsigs []*dns.RRSIG
		for _, rr := range sec {
			if s, ok := rr.(*dns.RRSIG); ok {
				rrsigs = append(rrsigs, s)
				continue
			}
			k := strings.ToLower(rr.Header().Name) + "/" + dns.TypeToString[rr.Header().Rrtype]
			sets[k] = append(sets[k], rr)
		}
		for k, set := range sets {
			if set[0].Header().Rrtype == dns.TypeNS && !r.Authoritative {
				continue
			}
			ok := false
			for _, s := range rrsigs {
				if strings.ToLower(s.Hdr.Name)+"/"+dns.TypeToString[s.TypeCovered] != k {
					continue
				}
				key := keys[s.KeyTag]
				if key == nil || s.Verify(key, set) != nil || !s.ValidityPeriod(time.Now()) {
					t.Errorf("%s: bad RRSIG %v", k, s)
					continue
				}
				ok = true
				sigs[k] = s.Signature
			}
			if !ok {
				t.Errorf("%s not signed", k)
			}
		}
	}
	return sigs
}

// TestDNSSECOnlineSigning: cfsecondary signs a hidden primary's unsigned zone with keys it
// generates in its dir; every answer validates from the DS of that KSK (in Go and with BIND's
// delv); an IXFR that changes one record brings new signatures for that RRset and the SOA only.
func TestDNSSECOnlineSigning(t *testing.T) {
	primary := fakeprimary.Start(t, "signed.test.", signedZone(1, "192.0.2.80"))
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	dir := t.TempDir()
	startCoreDNS(t, fmt.Sprintf(`signed.test:%d {
		bind 127.0.0.1
		cfsecondary {
			peer %s ixfr
			dir %s
			dnssec sign ecdsa
		}
	}`, port, primary.Addr, dir))
	waitFor(t, 10*time.Second, "serial 1", func() bool { return serialAt(addr, "signed.test") == 1 })

	// The keys generated on first start, in BIND's format.
	keys, err := dnssec.LoadKeys(dir, "signed.test.")
	if err != nil || len(keys) != 2 || !keys[0].KSK() {
		t.Fatalf("keys in %s: %v, %v", dir, keys, err)
	}
	ds := keys[0].DNSKEY.ToDS(dns.SHA256)

	// The DNSKEY RRset: our two keys, signed by the KSK that matches the DS.
	r := exchangeDO(t, addr, "signed.test.", dns.TypeDNSKEY)
	trusted := map[uint16]*dns.DNSKEY{}
	for _, rr := range r.Answer {
		if k, ok := rr.(*dns.DNSKEY); ok {
			trusted[k.KeyTag()] = k
		}
	}
	if len(trusted) != 2 || trusted[ds.KeyTag] == nil {
		t.Fatalf("DNSKEY answer %v", r.Answer)
	}
	verifySigned(t, r, map[uint16]*dns.DNSKEY{ds.KeyTag: trusted[ds.KeyTag]})

	table := []struct {
		name  string
		qtype uint16
		rcode int
		nsec  string // the NSEC bitmap of a compact denial, "" for none
	}{
		{"www.signed.test.", dns.TypeA, dns.RcodeSuccess, ""},
		{"nope.signed.test.", dns.TypeA, dns.RcodeSuccess, "RRSIG NSEC NXNAME"}, // NXDOMAIN, compact
		{"www.signed.test.", dns.TypeTXT, dns.RcodeSuccess, "A RRSIG NSEC"},     // NODATA
		{"foo.wild.signed.test.", dns.TypeA, dns.RcodeSuccess, ""},              // wildcard
		{"y.ent.signed.test.", dns.TypeA, dns.RcodeSuccess, "RRSIG NSEC"},       // empty non-terminal
		{"host.sub.signed.test.", dns.TypeA, dns.RcodeSuccess, ""},              // signed delegation: DS
		{"host.unsigned.signed.test.", dns.TypeA, dns.RcodeSuccess, "NS RRSIG NSEC"},
		{"signed.test.", dns.TypeCDS, dns.RcodeSuccess, ""},
	}
	before := map[string]string{}
	for _, q := range table {
		r := exchangeDO(t, addr, q.name, q.qtype)
		if r.Rcode != q.rcode {
			t.Errorf("%s %s: rcode %s", q.name, dns.TypeToString[q.qtype], dns.RcodeToString[r.Rcode])
		}
		for k, v := range verifySigned(t, r, trusted) {
			before[k] = v
		}
		var bitmap string
		for _, rr := range r.Ns {
			if n, ok := rr.(*dns.NSEC); ok {
				bitmap = strings.Join(strings.Fields(n.String())[5:], " ")
			}
		}
		if bitmap != q.nsec {
			t.Errorf("%s %s: NSEC bitmap %q, want %q", q.name, dns.TypeToString[q.qtype], bitmap, q.nsec)
		}
	}

	// BIND's validator agrees, from the DS.
	if delv, err := exec.LookPath("delv"); err == nil {
		anchors := filepath.Join(t.TempDir(), "anchors.conf")
		os.WriteFile(anchors, []byte(fmt.Sprintf("trust-anchors { signed.test. static-ds %d %d %d \"%s\"; };\n",
			ds.KeyTag, ds.Algorithm, ds.DigestType, ds.Digest)), 0o644)
		host, p, _ := net.SplitHostPort(addr)
		for _, q := range []string{"www A", "nope A", "www TXT", "foo.wild A", "y.ent A", "sub DS", "unsigned DS"} {
			f := strings.Fields(q)
			out, err := exec.Command(delv, "@"+host, "-p", p, "-a", anchors, "+root=signed.test.", f[0]+".signed.test.", f[1]).CombinedOutput()
			if err != nil || !strings.Contains(string(out), "fully validated") {
				t.Errorf("delv %s: %v\n%s", q, err, out)
			}
		}
	} else {
		t.Fatal("delv is needed: apt-get install -y bind9-dnsutils")
	}

	// An IXFR that changes www's address: only www/A and the SOA get new signatures.
	primary.SetRecords(signedZone(2, "192.0.2.81"))
	if err := primary.Notify(addr); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "serial 2", func() bool { return serialAt(addr, "signed.test") == 2 })
	if primary.IXFRs() != 1 {
		t.Fatalf("serial 2 came by %d IXFRs, want 1", primary.IXFRs())
	}
	after := map[string]string{}
	for _, q := range table {
		for k, v := range verifySigned(t, exchangeDO(t, addr, q.name, q.qtype), trusted) {
			after[k] = v
		}
	}
	var changed []string
	for k, v := range before {
		if after[k] != v {
			changed = append(changed, k)
		}
	}
	if strings.Join(changed, " ") != "signed.test./SOA www.signed.test./A" &&
		strings.Join(changed, " ") != "www.signed.test./A signed.test./SOA" {
		t.Errorf("new signatures after the IXFR: %v, want www/A and the SOA only", changed)
	}
}
