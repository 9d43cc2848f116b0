package dnssec

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cfsecondary/cfsecondary/zone"

	"github.com/miekg/dns"
)

// bindTool returns the path of one of BIND's tools, failing the test with
// how to install them when it is missing.
func bindTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		for _, dir := range []string{"/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"} {
			if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
				return filepath.Join(dir, name)
			}
		}
		t.Fatalf("%s is needed by this test: apt-get install -y bind9-utils bind9-dnsutils", name)
	}
	return p
}

func run(t *testing.T, dir, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bindTool(t, name), args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// serveSigned answers DNS queries on a loopback port, UDP and TCP, from the
// zone *z through the signer, as cfsecondary's ServeDNS would.
func serveSigned(t *testing.T, s *Signer, z *atomic.Pointer[zone.Zone]) string {
	t.Helper()
	handler := dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		q := r.Question[0]
		if !dns.IsSubDomain(s.Origin(), q.Name) {
			m.SetRcode(r, dns.RcodeRefused)
			w.WriteMsg(m)
			return
		}
		do, size := false, 512
		if opt := r.IsEdns0(); opt != nil {
			do, size = opt.Do(), int(opt.UDPSize())
		}
		_, tcp := w.RemoteAddr().(*net.TCPAddr)
		res := s.Answer(z.Load(), zone.Request{Name: q.Name, Type: q.Qtype, DO: do, TCP: tcp})
		m.SetReply(r)
		m.Authoritative, m.Rcode = res.Authoritative, res.Rcode
		m.Answer, m.Ns, m.Extra = res.Answer, res.Ns, res.Extra
		if r.IsEdns0() != nil {
			m.SetEdns0(4096, do)
		}
		if tcp {
			size = dns.MaxMsgSize
		}
		m.Truncate(size)
		w.WriteMsg(m)
	})
	for range 20 {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		l, err := net.Listen("tcp", pc.LocalAddr().String())
		if err != nil {
			pc.Close()
			continue
		}
		udp := &dns.Server{PacketConn: pc, Handler: handler}
		tcp := &dns.Server{Listener: l, Handler: handler}
		go udp.ActivateAndServe()
		go tcp.ActivateAndServe()
		t.Cleanup(func() { udp.Shutdown(); tcp.Shutdown() })
		return pc.LocalAddr().String()
	}
	t.Fatal("no free port")
	return ""
}

// writeAnchors writes a delv trust anchor file with the DS records.
func writeAnchors(t *testing.T, dir string, ds []*dns.DS) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("trust-anchors {\n")
	for _, d := range ds {
		fmt.Fprintf(&b, "  %s static-ds %d %d %d \"%s\";\n", d.Hdr.Name, d.KeyTag, d.Algorithm, d.DigestType, d.Digest)
	}
	b.WriteString("};\n")
	p := filepath.Join(dir, "anchors.conf")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// delv asks BIND's validating resolver tool for name and type, through the
// server at addr, with the anchors, and returns its output.
func delv(t *testing.T, addr, anchors, name string, qtype uint16) (string, error) {
	t.Helper()
	host, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command(bindTool(t, "delv"), "@"+host, "-p", port, "-a", anchors, "+root="+testOrigin,
		"+nomultiline", "+vtrace", name, dns.TypeToString[qtype])
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestDelvValidates has BIND's delv validate the query table, answered
// online, from our DS, for both algorithms and both kinds of denial. (delv
// follows referrals to the child's servers, which do not exist here: the
// delegations are checked with DS queries instead.)
func TestDelvValidates(t *testing.T) {
	bindTool(t, "delv")
	for _, alg := range []uint8{dns.ECDSAP256SHA256, dns.ED25519} {
		keys := testKeys(t, testOrigin, alg)
		for _, denial := range []Denial{DenialCompact, DenialNSEC3} {
			t.Run(dns.AlgorithmToString[alg]+"/"+denial.String(), func(t *testing.T) {
				var zp atomic.Pointer[zone.Zone]
				zp.Store(buildZone(t, testOrigin, testZone))
				s := newTestSigner(t, keys, Options{Denial: denial})
				addr := serveSigned(t, s, &zp)
				anchors := writeAnchors(t, t.TempDir(), s.DS())
				for _, q := range queryTable {
					if strings.HasPrefix(q.kind, "referral") {
						continue
					}
					out, err := delv(t, addr, anchors, q.name, q.qtype)
					ok := err == nil && strings.Contains(out, "fully validated")
					for _, bad := range []string{"validation failed", "bogus", "; unsigned answer", "insecurity proof", "broken trust chain"} {
						ok = ok && !strings.Contains(out, bad)
					}
					switch q.kind {
					case "nxdomain", "nodata", "ent", "wildnodata":
						// After a CNAME or DNAME delv shows the validated chain,
						// then the validated proof about its target.
						ok = ok && (strings.Contains(out, "; negative response, fully validated") ||
							strings.Contains(out, "nonexistence proof(s) found"))
					}
					if !ok {
						t.Errorf("%s %s (%s): delv says:\n%s", q.name, dns.TypeToString[q.qtype], q.kind, out)
					}
				}
			})
		}
	}
}

// TestBINDKeys loads keys made by dnssec-keygen (ECDSA and Ed25519, KSK and
// ZSK) and signs with them; the answers validate from the DS that
// dnssec-dsfromkey computes from the BIND key file.
func TestBINDKeys(t *testing.T) {
	for _, alg := range []string{"ECDSAP256SHA256", "ED25519"} {
		t.Run(alg, func(t *testing.T) {
			dir := t.TempDir()
			kskBase := strings.TrimSpace(run(t, dir, "dnssec-keygen", "-q", "-a", alg, "-f", "KSK", "example.com"))
			zskBase := strings.TrimSpace(run(t, dir, "dnssec-keygen", "-q", "-a", alg, "example.com"))
			// A key of another zone in the same directory is not ours.
			run(t, dir, "dnssec-keygen", "-q", "-a", alg, "example.net")

			keys, err := LoadKeys(dir, "example.com.")
			if err != nil {
				t.Fatal(err)
			}
			if len(keys) != 2 || !keys[0].KSK() || keys[1].KSK() {
				t.Fatalf("loaded %v, want the KSK and the ZSK", keys)
			}
			if keys[0].File != filepath.Join(dir, kskBase) || keys[1].File != filepath.Join(dir, zskBase) {
				t.Errorf("files %s, %s; want %s, %s", keys[0].File, keys[1].File, kskBase, zskBase)
			}
			if keys[0].Activate.IsZero() || keys[0].Publish.IsZero() {
				t.Errorf("BIND's timing metadata not read")
			}
			s := newTestSigner(t, keys, Options{})
			bindDS := parseDS(t, run(t, dir, "dnssec-dsfromkey", "-2", kskBase+".key"))
			ours := s.DS()
			if len(ours) != 1 || !strings.EqualFold(ours[0].Digest, bindDS.Digest) || ours[0].KeyTag != bindDS.KeyTag {
				t.Fatalf("our DS %v, BIND's %v", ours, bindDS)
			}
			z := buildZone(t, testOrigin, testZone)
			v := &validator{t: t, anchors: []*dns.DS{bindDS}, now: time.Now()}
			v.trust(s.Answer(z, zone.Request{Name: testOrigin, Type: dns.TypeDNSKEY, DO: true}).Answer)
			for _, q := range queryTable {
				checkCase(t, v, s, q, DenialCompact, s.Answer(z, zone.Request{Name: q.name, Type: q.qtype, DO: true}))
			}
		})
	}
}

func parseDS(t *testing.T, text string) *dns.DS {
	t.Helper()
	rr, err := dns.NewRR(strings.TrimSpace(text))
	if err != nil {
		t.Fatalf("%q: %v", text, err)
	}
	return rr.(*dns.DS)
}

// TestOurKeysInBIND: BIND's tools read the keys we generate: dnssec-dsfromkey
// computes the same DS from our .key, and dnssec-signzone signs the zone with
// our .key and .private, which dnssec-verify then accepts.
func TestOurKeysInBIND(t *testing.T) {
	for _, alg := range []uint8{dns.ECDSAP256SHA256, dns.ED25519} {
		t.Run(dns.AlgorithmToString[alg], func(t *testing.T) {
			dir := t.TempDir()
			ksk, zsk, err := GenerateKeys(dir, "example.com.", alg)
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range []*Key{ksk, zsk} {
				want := fmt.Sprintf("Kexample.com.+%03d+%05d", alg, k.Tag)
				if filepath.Base(k.File) != want {
					t.Errorf("key file %s, want %s", filepath.Base(k.File), want)
				}
				if fi, err := os.Stat(k.File + ".private"); err != nil || fi.Mode().Perm() != 0o600 {
					t.Errorf("private key file: %v, mode %v", err, fi.Mode())
				}
			}
			s := newTestSigner(t, []*Key{ksk, zsk}, Options{})
			bindDS := parseDS(t, run(t, dir, "dnssec-dsfromkey", "-2", filepath.Base(ksk.File)+".key"))
			if ds := s.DS()[0]; !strings.EqualFold(ds.Digest, bindDS.Digest) || ds.KeyTag != bindDS.KeyTag || ds.Algorithm != bindDS.Algorithm {
				t.Fatalf("our DS %v, BIND's %v", ds, bindDS)
			}
			// Loading them again gives the same keys.
			again, err := LoadKeys(dir, "example.com")
			if err != nil || len(again) != 2 || again[0].DNSKEY.PublicKey != ksk.DNSKEY.PublicKey || again[1].DNSKEY.PublicKey != zsk.DNSKEY.PublicKey {
				t.Fatalf("reloaded %v, %v", again, err)
			}

			if err := os.WriteFile(filepath.Join(dir, "zone"), []byte(testZone), 0o644); err != nil {
				t.Fatal(err)
			}
			// Smart signing: dnssec-signzone finds our key files in the
			// directory by itself and reads their timing metadata.
			run(t, dir, "dnssec-signzone", "-q", "-S", "-K", ".", "-o", "example.com.", "-f", "zone.signed", "zone")
			if signed, _ := os.ReadFile(filepath.Join(dir, "zone.signed")); !strings.Contains(string(signed), fmt.Sprintf(" %d example.com.", zsk.Tag)) ||
				!strings.Contains(string(signed), fmt.Sprintf(" %d example.com.", ksk.Tag)) {
				t.Fatalf("dnssec-signzone did not sign with both our keys")
			}
			run(t, dir, "dnssec-verify", "-q", "-o", "example.com.", "zone.signed")
		})
	}
}

// TestOnlineZoneVerifies dumps everything the signer serves in NSEC3 mode
// (every RRset with its signatures, the apex records, the whole NSEC3 chain)
// as a zone file and has dnssec-verify check it: signatures, the NSEC3 chain
// with its empty non-terminals, delegations and glue left unsigned.
func TestOnlineZoneVerifies(t *testing.T) {
	for _, alg := range []uint8{dns.ECDSAP256SHA256, dns.ED25519} {
		t.Run(dns.AlgorithmToString[alg], func(t *testing.T) {
			z := buildZone(t, testOrigin, testZone)
			s := newTestSigner(t, testKeys(t, testOrigin, alg), Options{Denial: DenialNSEC3})
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "zone.signed"), []byte(signedZoneText(t, s, z)), 0o644); err != nil {
				t.Fatal(err)
			}
			out := run(t, dir, "dnssec-verify", "-o", testOrigin, "zone.signed")
			if !strings.Contains(out, "Zone fully signed") {
				t.Fatalf("dnssec-verify:\n%s", out)
			}
		})
	}
}

// signedZoneText is the zone as the signer serves it in NSEC3 mode.
func signedZoneText(t *testing.T, s *Signer, z *zone.Zone) string {
	t.Helper()
	var b strings.Builder
	add := func(rrs []dns.RR) {
		for _, rr := range rrs {
			b.WriteString(rr.String())
			b.WriteByte('\n')
		}
	}
	v := s.version(z)
	skip := ""
	z.Walk(func(rrs []dns.RR) bool {
		owner := rrs[0].Header().Name
		if skip != "" && dns.IsSubDomain(skip, owner) && !equalName(skip, owner) {
			add(rrs) // glue: unsigned
			return true
		}
		for set := range rrsets(rrs) {
			h := set[0].Header()
			res := s.Answer(z, zone.Request{Name: h.Name, Type: h.Rrtype, DO: true})
			if h.Rrtype == dns.TypeNS && !equalName(owner, testOrigin) {
				add(set) // delegation NS: unsigned
				skip = owner
				continue
			}
			var sigs []dns.RR
			for _, rr := range res.Answer {
				if sig, ok := rr.(*dns.RRSIG); ok && sig.TypeCovered == h.Rrtype && equalName(sig.Hdr.Name, h.Name) {
					sigs = append(sigs, sig)
				}
			}
			if len(sigs) == 0 {
				t.Fatalf("%s %s: no signature in\n%s", h.Name, dns.TypeToString[h.Rrtype], dumpResult(res))
			}
			add(set)
			add(sigs)
		}
		return true
	})
	for _, tp := range v.apex {
		add(s.Answer(z, zone.Request{Name: testOrigin, Type: tp, DO: true}).Answer)
	}
	c := v.nsec3()
	for i := range c.recs {
		rr := c.rr(i)
		add([]dns.RR{rr})
		add(s.appendSigs(nil, []dns.RR{rr}, rr.Hdr.Name, s.zsk, ""))
	}
	return b.String()
}
