package store

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/cfsecondary/cfsecondary/zone"
)

// richZone is a zone with every kind of record worth worrying about when
// writing text: DNSSEC, SVCB, odd strings, escaped names, unknown types.
// Lines are relative to the origin "example.org.".
var richZone = []string{
	`@ 3600 IN SOA ns1 hostmaster 2024010101 7200 3600 1209600 300`,
	`@ 3600 IN NS ns1`,
	`@ 3600 IN NS ns2.example.net.`,
	`ns1 3600 IN A 192.0.2.1`,
	`ns1 3600 IN AAAA 2001:db8::1`,
	`@ 3600 IN MX 10 mail`,
	`@ 3600 IN MX 20 mail.example.net.`,
	`mail 3600 IN A 192.0.2.2`,
	`www 3600 IN CNAME @`,
	`dname 3600 IN DNAME example.net.`,
	`@ 3600 IN TXT "v=spf1 -all"`,
	`@ 3600 IN TXT "quote \" inside" "semi ; colon" "back \\ slash" "paren ( )"`,
	`@ 3600 IN TXT "tab\009 newline\010 nul\000 high\255 utf8 \195\169"`,
	`@ 3600 IN TXT ""`,
	`@ 3600 IN SPF "v=spf1 ip4:192.0.2.0/24 -all"`,
	`long 3600 IN TXT ` + strings.Repeat(`"`+strings.Repeat("x", 255)+`" `, 8),
	`huge 3600 IN TXT ` + strings.Repeat(`"`+strings.Repeat("y\\\"", 85)+`" `, 250),
	`_sip._tcp 3600 IN SRV 10 60 5060 sip`,
	`sip 3600 IN A 192.0.2.3`,
	`@ 3600 IN NAPTR 100 10 "S" "SIP+D2U" "" _sip._udp`,
	`@ 3600 IN NAPTR 100 20 "U" "E2U+sip" "!^.*$!sip:info@example.org!" .`,
	`@ 3600 IN CAA 0 issue "letsencrypt.org"`,
	`@ 3600 IN CAA 0 issuewild ";"`,
	`@ 3600 IN CAA 128 iodef "mailto:security@example.org"`,
	`@ 3600 IN CAA 0 tbs "back\\slash \"quoted\""`,
	`svc 3600 IN SVCB 1 . alpn="h2,h3" port=8443 ipv4hint=192.0.2.10,192.0.2.11 ipv6hint=2001:db8::10 mandatory=alpn,port`,
	`svc 3600 IN SVCB 2 svc2 key65333="hello world" no-default-alpn alpn=h2`,
	`svc2 3600 IN A 192.0.2.12`,
	`@ 3600 IN HTTPS 1 . alpn=h3 ech="AEn+DQBFKwAgACABWIHUGj4u+PIggYXcR5JF0gYk3dCRioBW8uJq9H4mKAAIAAEAAQABAANAEnB1YmxpYy50bHMtZWNoLmRldgAA"`,
	`alias 3600 IN HTTPS 0 svc`,
	`sub 3600 IN NS ns.sub`,
	`ns.sub 3600 IN A 192.0.2.20`,
	`sub 3600 IN DS 12345 13 2 2BB183AF5F22588179A53B0A98631FAD1A292118E36A2D5D2F1C5D2B6B7A52C0`,
	`sub 3600 IN DS 12345 8 1 2BB183AF5F22588179A53B0A98631FAD1A292118`,
	`@ 3600 IN DNSKEY 257 3 13 mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ==`,
	`@ 3600 IN DNSKEY 256 3 8 AwEAAagAIKlVZrpC6Ia7gEzahOR+9W29euxhJhVVLOyQbSEW0O8gcCjFFVQUTf6v58fLjwBd0YI0EzrAcQqBGCzh/RStIoO8g0NfnfL2MTJRkxoXbfDaUeVPQuYEhg37NZWAJQ9VnMVDxP/VHL496M/QZxkjf5/Efucp2gaDX6RS6CXpoY68LsvPVjR0ZSwzz1apAzvN9dlzEheX7ICJBBtuA6G3LQpzW5hOA2hzCTMjJPJ8LbqF6dsV6DoBQzgul0sGIcGOYl7OyQdXfZ57relSQageu+ipAdTTJ25AsRTAoub8ONGcLmqrAmRLKBP1dfwhYB4N7knNnulqQxA+Uk1ihz0=`,
	`@ 3600 IN CDS 12345 13 2 2BB183AF5F22588179A53B0A98631FAD1A292118E36A2D5D2F1C5D2B6B7A52C0`,
	`@ 3600 IN CDNSKEY 257 3 13 mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ==`,
	`@ 3600 IN RRSIG SOA 13 2 3600 20300101000000 20200101000000 12345 example.org. yn4pVexpcHW3WWEvyBvGNPrcVTPzvXr0nHfI+3zXdo8vzD+UJ/JNPxvjxnzTKXLeTPs9rkBXwXCQ3P45V0sFdg==`,
	`@ 3600 IN RRSIG NS 13 2 3600 20300101000000 20200101000000 12345 example.org. yn4pVexpcHW3WWEvyBvGNPrcVTPzvXr0nHfI+3zXdo8vzD+UJ/JNPxvjxnzTKXLeTPs9rkBXwXCQ3P45V0sFdg==`,
	`@ 3600 IN NSEC alias A NS SOA MX TXT AAAA NAPTR RRSIG NSEC DNSKEY TYPE65000`,
	`@ 3600 IN NSEC3PARAM 1 0 0 -`,
	`2vptu5timamqttgl4luu9kg21e0aor3s 3600 IN NSEC3 1 1 0 - 2VPTU5TIMAMQTTGL4LUU9KG21E0AOR3T A RRSIG`,
	`35mthgpgcu1qg68fab165klnsnk3dpvl 3600 IN NSEC3 1 0 10 AABBCCDD 35MTHGPGCU1QG68FAB165KLNSNK3DPVM NS DS RRSIG`,
	`_25._tcp.mail 3600 IN TLSA 3 1 1 0C72AC70B745AC19998811B131D662C9AC69DBDBE7CB23E5B514B56664C5D3D6`,
	`_25._tcp.mail 3600 IN SMIMEA 3 1 1 0C72AC70B745AC19998811B131D662C9AC69DBDBE7CB23E5B514B56664C5D3D6`,
	`mail 3600 IN SSHFP 4 2 123456789ABCDEF67890123456789ABCDEF67890123456789ABCDEF123456789`,
	`mail 3600 IN SSHFP 1 1 dd465c09cfa51fb45020cc83316fff21b9ec74ac`,
	`loc 3600 IN LOC 52 22 23.000 N 4 53 32.000 E -2.00m 1m 10000m 10m`,
	`loc 3600 IN HINFO "PC-Intel-700mhz" "Linux \"2.6\""`,
	`loc 3600 IN RP hostmaster.example.org. txt.loc.example.org.`,
	`txt.loc 3600 IN TXT "contact"`,
	`@ 3600 IN URI 10 1 "ftp://ftp1.example.com/public"`,
	`@ 3600 IN CERT PGP 0 0 FsSp4mJPb7h9vUoWOZQR6iycEgzRqBHgI0VVs61jPUfRQ3iuqVChLI97d5yjL1Z/cy1/pKRGYGA/Yt2FZ0Xv5g==`,
	`@ 3600 IN DHCID AAIBY2/AuCccgoJbsaxcQc9TUapptP69lOjxfNuVAA2kjEA=`,
	`@ 3600 IN OPENPGPKEY mQINBFRfJAoBEAC8fHg+UtPNnF7Y4RbtcRAsP+c9yu3h6kz81ZXlf8P2dG4L`,
	`@ 3600 IN AFSDB 1 afs.example.org.`,
	`afs 3600 IN A 192.0.2.30`,
	`@ 3600 IN KX 10 afs`,
	`eui 3600 IN EUI48 00-00-5e-00-53-2a`,
	`eui 3600 IN EUI64 00-00-5e-ef-10-00-00-2a`,
	`@ 3600 IN CSYNC 66 3 A NS AAAA`,
	`apl 3600 IN APL 1:192.168.32.0/21 !1:192.168.38.0/28 2:2001:db8::/32`,
	`ipsec 3600 IN IPSECKEY 10 1 2 192.0.2.38 AQNRU3mG7TVTO2BkR47usntb102uFJtugbo6BSGvgqt4AQ==`,
	`ipsec 3600 IN IPSECKEY 10 3 2 gw.example.net. AQNRU3mG7TVTO2BkR47usntb102uFJtugbo6BSGvgqt4AQ==`,
	`@ 3600 IN ZONEMD 2024010101 1 1 a3b69bad980a3504e1cffcb0fd6397f93848071c93151f552ae2f6b1711d4bd2d8b39808226d7b9db71e34b72077f8fe`,
	`ptr 3600 IN PTR www.example.org.`,
	`unknown 3600 IN TYPE65280 \# 2 abcd`,
	`unknown 3600 IN TYPE65281 \# 0`,
	`null 3600 IN TYPE10 \# 3 010203`,
	`*.wild 3600 IN A 192.0.2.40`,
	`*.wild 3600 IN TXT "wild"`,
	`a\.b 3600 IN A 192.0.2.41`,
	`with\032space 3600 IN A 192.0.2.42`,
	`semi\;colon\"quote\(paren\)\@at\\back 3600 IN A 192.0.2.43`,
	`\000\255\007 3600 IN TXT "binary label"`,
	`Mixed.CASE 3600 IN A 192.0.2.44`,
	`ttl 0 IN A 192.0.2.45`,
	`ttl 2147483647 IN AAAA 2001:db8::45`,
	`cname-target 3600 IN CNAME a\.b`,
}

// parseRR parses one line of a zone file for origin, then sends the RR
// through its wire form: records come to a secondary by transfer.
func parseRR(t testing.TB, origin, line string) dns.RR {
	t.Helper()
	zp := dns.NewZoneParser(strings.NewReader(line), origin, "")
	rr, ok := zp.Next()
	if !ok {
		t.Fatalf("parsing %q: %v", line, zp.Err())
	}
	wire, err := packRR(rr)
	if err != nil {
		t.Fatalf("packing %q: %v", line, err)
	}
	back, _, err := dns.UnpackRR(wire, 0)
	if err != nil {
		t.Fatalf("unpacking %q: %v", line, err)
	}
	return back
}

func richRRs(t testing.TB, origin string) []dns.RR {
	var rrs []dns.RR
	for _, l := range richZone {
		rrs = append(rrs, parseRR(t, origin, l))
	}
	return rrs
}

// texts returns the RRs of z as sorted strings, and their wire forms:
// what the server will answer with.
func texts(z *zone.Zone) (text, wire []string) {
	z.Walk(func(rrs []dns.RR) bool {
		for _, rr := range rrs {
			text = append(text, rr.String())
			w, err := packRR(rr)
			if err != nil {
				panic(err)
			}
			wire = append(wire, string(w))
		}
		return true
	})
	slices.Sort(text)
	slices.Sort(wire)
	return text, wire
}

func sameZone(t *testing.T, got, want *zone.Zone) {
	t.Helper()
	if got.Origin() != want.Origin() || got.Serial() != want.Serial() || got.Len() != want.Len() {
		t.Fatalf("loaded %s serial %d, %d records; saved %s serial %d, %d records",
			got.Origin(), got.Serial(), got.Len(), want.Origin(), want.Serial(), want.Len())
	}
	g, gw := texts(got)
	w, ww := texts(want)
	if !slices.Equal(gw, ww) {
		t.Errorf("wire forms differ")
	}
	if !slices.Equal(g, w) {
		for i := range min(len(g), len(w)) {
			if g[i] != w[i] {
				t.Fatalf("record %d differs:\n got %q\nwant %q", i, g[i], w[i])
			}
		}
		t.Fatalf("records differ")
	}
}

func TestRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name   string
		origin string
		rrs    func(t testing.TB, origin string) []dns.RR
	}{
		{"rich", "example.org.", richRRs},
		{"rich, escaped origin", `We\.ird\032Zone.example.`, richRRs},
		{"rich, origin with a blank", `a\ b.Example.`, richRRs},
		{"root", ".", richRRs},
		{"big", "example.com.", func(t testing.TB, origin string) []dns.RR { return bigRRs(origin, 7, 5000) }},
		{"soa only", "example.net.", func(t testing.TB, origin string) []dns.RR {
			return []dns.RR{parseRR(t, origin, "@ 60 IN SOA . . 4294967295 1 1 1 1")}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Open(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			z := build(t, tc.origin, tc.rrs(t, tc.origin))
			if err := s.SaveZone(z); err != nil {
				t.Fatal(err)
			}
			got, st, err := s.Load(tc.origin, zone.DefaultLimits())
			if err != nil {
				t.Fatal(err)
			}
			sameZone(t, got, z)
			if st.Zone != z.Origin() || st.Serial != z.Serial() {
				t.Errorf("state %+v, want zone %s serial %d", st, z.Origin(), z.Serial())
			}
			// Saving what was loaded gives the same file, but for the
			// header's time.
			if err := s.SaveZone(got); err != nil {
				t.Fatal(err)
			}
			again, _, err := s.Load(tc.origin, zone.DefaultLimits())
			if err != nil {
				t.Fatal(err)
			}
			sameZone(t, again, z)
		})
	}
}

// TestNamedCheckzone has BIND read what SaveZone writes.
func TestNamedCheckzone(t *testing.T) {
	bin := ""
	for _, p := range []string{"/usr/bin/named-checkzone", "/usr/sbin/named-checkzone"} {
		if _, err := os.Stat(p); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		if p, err := exec.LookPath("named-checkzone"); err == nil {
			bin = p
		}
	}
	if bin == "" {
		t.Fatal("named-checkzone not found: apt-get install bind9-utils")
	}
	for _, tc := range []struct {
		origin string
		rrs    []dns.RR
	}{
		{"example.org.", richRRs(t, "example.org.")},
		{`We\.ird\032Zone.example.`, richRRs(t, `We\.ird\032Zone.example.`)},
		{`a\ b.Example.`, richRRs(t, `a\ b.Example.`)},
		{"example.com.", bigRRs("example.com.", 7, 2000)},
	} {
		t.Run(tc.origin, func(t *testing.T) {
			s, err := Open(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			z := build(t, tc.origin, tc.rrs)
			if err := s.SaveZone(z); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(bin, "-k", "ignore", "-i", "local", tc.origin, s.ZonePath(tc.origin)).CombinedOutput()
			if err != nil {
				t.Fatalf("named-checkzone: %v\n%s", err, out)
			}
			if !strings.Contains(string(out), "loaded serial") {
				t.Fatalf("named-checkzone says:\n%s", out)
			}
			t.Logf("%s", out)
		})
	}
}
