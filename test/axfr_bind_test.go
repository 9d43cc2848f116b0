package test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cfsecondary/cfsecondary/internal/testutil"

	"github.com/coredns/coredns/plugin/test"

	"github.com/miekg/dns"
)

const bindZone = `$ORIGIN example.org.
$TTL 3600
@        IN SOA  ns1.example.org. hostmaster.example.org. 2026112601 300 60 1209600 600
         IN NS   ns1.example.org.
         IN MX   10 mail.example.org.
         IN A    192.0.2.10
ns1      IN A    192.0.2.1
mail     IN A    192.0.2.25
www      IN CNAME web.example.org.
web      IN A    192.0.2.80
*.apps   IN A    192.0.2.90
sub      IN NS   ns.sub.example.org.
ns.sub   IN A    192.0.2.53
`

// TestAXFRFromBind transfers a zone from a real BIND 9 primary with a TSIG key of each required
// algorithm, through the custom CoreDNS, and checks what it then serves.
func TestAXFRFromBind(t *testing.T) {
	keys := map[string]string{
		"xfr-sha256.": "hmac-sha256 icZaaOG4phnFi2roPJEXTaeTrc0AEQC13ktQP4qnnEE=",
		"xfr-sha512.": "hmac-sha512 FhYZCDmyk29PuijcZkvLswm2RW5gtmWTIqCxcU/yOBg=",
	}
	// Transfers only with one of the keys: an unsigned request is refused, so a pass proves
	// the TSIG exchange worked.
	bind := startBind(t, keys, `allow-transfer { key "xfr-sha256."; key "xfr-sha512."; };`,
		BindZone{Name: "example.org", Text: bindZone})

	for _, key := range []string{"xfr-sha256.", "xfr-sha512."} {
		t.Run(key, func(t *testing.T) {
			alg, secret, _ := strings.Cut(keys[key], " ")
			port := freePort(t)
			addr := fmt.Sprintf("127.0.0.1:%d", port)
			startCoreDNS(t, fmt.Sprintf(`example.org:%d {
				bind 127.0.0.1
				cfsecondary {
					peer %s {
						tsig %s
					}
					tsig %s %s %s
					dir %s
				}
			}`, port, bind.Addr, key, key, alg, secret, t.TempDir()))

			waitFor(t, 10*time.Second, "the zone to be transferred", func() bool { return serialAt(addr, "example.org") == 2026112601 })

			cases := []test.Case{
				{Qname: "example.org.", Qtype: dns.TypeMX, Authoritative: true,
					Answer: []dns.RR{test.MX("example.org. 3600 IN MX 10 mail.example.org.")},
					Extra:  []dns.RR{test.A("mail.example.org. 3600 IN A 192.0.2.25")}},
				{Qname: "www.example.org.", Qtype: dns.TypeA, Authoritative: true,
					Answer: []dns.RR{test.CNAME("www.example.org. 3600 IN CNAME web.example.org."), test.A("web.example.org. 3600 IN A 192.0.2.80")}},
				{Qname: "x.apps.example.org.", Qtype: dns.TypeA, Authoritative: true,
					Answer: []dns.RR{test.A("x.apps.example.org. 3600 IN A 192.0.2.90")}},
				{Qname: "nope.example.org.", Qtype: dns.TypeA, Authoritative: true, Rcode: dns.RcodeNameError,
					Ns: []dns.RR{test.SOA("example.org. 600 IN SOA ns1.example.org. hostmaster.example.org. 2026112601 300 60 1209600 600")}},
				{Qname: "host.sub.example.org.", Qtype: dns.TypeA,
					Ns:    []dns.RR{test.NS("sub.example.org. 3600 IN NS ns.sub.example.org.")},
					Extra: []dns.RR{test.A("ns.sub.example.org. 3600 IN A 192.0.2.53")}},
			}
			for _, tc := range cases {
				r := exchange(t, addr, tc.Qname, tc.Qtype, false)
				if err := testutil.CheckResponse(r, tc); err != nil {
					t.Errorf("%s %s: %v\n%s", tc.Qname, dns.TypeToString[tc.Qtype], err, r)
				}
			}
		})
	}
	if !strings.Contains(bind.Log(), "AXFR started: TSIG xfr-sha512") || !strings.Contains(bind.Log(), "AXFR started: TSIG xfr-sha256") {
		t.Errorf("named did not log TSIG-signed AXFRs with both keys:\n%s", bind.Log())
	}
}
