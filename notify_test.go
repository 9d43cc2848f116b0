package cfsecondary

import (
	"context"
	"testing"

	"github.com/coredns/coredns/plugin/pkg/dnstest"
	"github.com/coredns/coredns/plugin/test"

	"github.com/miekg/dns"
)

func TestNotify(t *testing.T) {
	s := newTestSecondary(t, false) // its one peer is 192.0.2.1
	tests := []struct {
		name    string
		from    string
		rcode   int  // returned to the chain
		written bool // answered by the plugin itself (else the server writes the rcode)
	}{
		{name: "from the primary", from: "192.0.2.1", rcode: dns.RcodeSuccess, written: true},
		{name: "from a stranger", from: "198.51.100.9", rcode: dns.RcodeRefused},
		{name: "from the primary's IPv4 as IPv6-mapped", from: "::ffff:192.0.2.1", rcode: dns.RcodeSuccess, written: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := new(dns.Msg)
			req.SetNotify("example.org.")
			rec := dnstest.NewRecorder(&test.ResponseWriter{RemoteIP: tc.from})
			rcode, err := s.ServeDNS(context.Background(), rec, req)
			if err != nil || rcode != tc.rcode {
				t.Fatalf("rcode %s, err %v; want %s", dns.RcodeToString[rcode], err, dns.RcodeToString[tc.rcode])
			}
			if !tc.written {
				if rec.Msg != nil {
					t.Errorf("refused NOTIFY answered by the plugin: %v", rec.Msg)
				}
				return
			}
			m := rec.Msg
			if m == nil || m.Id != req.Id || m.Opcode != dns.OpcodeNotify || !m.Authoritative || !m.Response || m.Rcode != dns.RcodeSuccess {
				t.Errorf("NOTIFY answer %v: want same ID, opcode NOTIFY, AA, NOERROR", m)
			}
		})
	}
}
