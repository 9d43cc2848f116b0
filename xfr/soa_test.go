package xfr_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cfsecondary/cfsecondary/internal/fakeprimary"
	"github.com/cfsecondary/cfsecondary/xfr"
	"github.com/miekg/dns"
)

func TestQuerySOA(t *testing.T) {
	tests := []struct {
		name    string
		alg     string // server and client key; "" none
		mode    fakeprimary.Mode
		queries int // SOA queries the server should see
	}{
		{name: "plain", queries: 1},
		{name: "md5", alg: dns.HmacMD5, queries: 1},
		{name: "sha1", alg: dns.HmacSHA1, queries: 1},
		{name: "sha224", alg: dns.HmacSHA224, queries: 1},
		{name: "sha256", alg: dns.HmacSHA256, queries: 1},
		{name: "sha384", alg: dns.HmacSHA384, queries: 1},
		{name: "sha512", alg: dns.HmacSHA512, queries: 1},
		{name: "TC falls back to TCP", alg: dns.HmacSHA256, mode: fakeprimary.Mode{UDPTruncate: true}, queries: 2},
		{name: "UDP timeout falls back to TCP", alg: dns.HmacSHA256, mode: fakeprimary.Mode{UDPDrop: true}, queries: 2},
		{name: "UDP answer with wrong ID ignored, TCP asked", mode: fakeprimary.Mode{Handler: func(w *fakeprimary.Writer, req *dns.Msg) {
			m := new(dns.Msg)
			m.SetReply(req)
			m.Authoritative = true
			m.Answer = w.Records()[:1]
			if !w.TCP {
				m.Id++
			}
			w.WriteMsg(m, true)
		}}, queries: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts []fakeprimary.Option
			peer := xfr.Peer{}
			if tt.alg != "" {
				opts = append(opts, fakeprimary.WithKey(key(tt.alg)))
				peer.Key = key(tt.alg)
			}
			srv := fakeprimary.Start(t, zone, fakeprimary.Zone(zone, 777, 3), append(opts, fakeprimary.WithMode(tt.mode))...)
			peer.Addr = srv.Addr
			opt := quick
			opt.DialTimeout = 300 * time.Millisecond
			ans, err := xfr.QuerySOA(context.Background(), peer, "EXAMPLE.com", opt)
			if err != nil {
				t.Fatal(err)
			}
			if ans.SOA.Serial != 777 || ans.Expire != -1 {
				t.Errorf("serial %d, expire %d", ans.SOA.Serial, ans.Expire)
			}
			if srv.SOAQueries() != tt.queries {
				t.Errorf("server saw %d queries, want %d", srv.SOAQueries(), tt.queries)
			}
		})
	}
}

func TestQuerySOABroken(t *testing.T) {
	k := key(dns.HmacSHA256)
	otherSecret := *k
	otherSecret.Secret = []byte("wrong")
	otherName := *k
	otherName.Name = "other."
	answer := func(edit func(m *dns.Msg, soa dns.RR)) fakeprimary.Handler {
		return func(w *fakeprimary.Writer, req *dns.Msg) {
			m := new(dns.Msg)
			m.SetReply(req)
			m.Authoritative = true
			edit(m, w.Records()[0])
			w.WriteMsg(m, true)
		}
	}
	tests := []struct {
		name      string
		clientKey *xfr.Key // default k
		unsigned  bool
		mode      fakeprimary.Mode
		want      check
	}{
		{name: "client wrong secret", clientKey: &otherSecret, want: tsigErr(dns.RcodeBadSig, "BADSIG: reported by peer")},
		{name: "client unknown key", clientKey: &otherName, want: tsigErr(dns.RcodeBadKey, "BADKEY: reported by peer")},
		{name: "server wrong secret", mode: fakeprimary.Mode{SignKey: &otherSecret}, want: tsigErr(dns.RcodeBadSig, "BADSIG on message 1")},
		{name: "server other key", mode: fakeprimary.Mode{SignKey: &otherName}, want: tsigErr(dns.RcodeBadKey, "response signed with key other.")},
		{name: "server clock off", mode: fakeprimary.Mode{TimeShift: time.Hour}, want: tsigErr(dns.RcodeBadTime, "outside fudge")},
		{name: "unsigned answer", mode: fakeprimary.Mode{Handler: func(w *fakeprimary.Writer, req *dns.Msg) {
			m := new(dns.Msg)
			m.SetReply(req)
			m.Authoritative = true
			m.Answer = w.Records()[:1]
			w.WriteMsg(m, false)
		}}, want: tsigErr(0, "response not signed")},
		{name: "client unsigned", unsigned: true, want: rcodeErr(dns.RcodeRefused)},
		{name: "not authoritative", mode: fakeprimary.Mode{NoAA: true}, want: protoErr("not authoritative")},
		{name: "REFUSED", mode: fakeprimary.Mode{Rcode: dns.RcodeRefused}, want: rcodeErr(dns.RcodeRefused)},
		{name: "NXDOMAIN", mode: fakeprimary.Mode{Rcode: dns.RcodeNameError}, want: rcodeErr(dns.RcodeNameError)},
		{name: "wrong ID on both", mode: fakeprimary.Mode{BadIDAt: 1}, want: protoErr("does not match request ID")},
		{name: "wrong question", mode: fakeprimary.Mode{BadQuestionAt: 1}, want: protoErr("question wrong.example.com. IN SOA")},
		{name: "no SOA", mode: fakeprimary.Mode{Handler: answer(func(m *dns.Msg, soa dns.RR) {})}, want: protoErr("no SOA for example.com.")},
		{name: "SOA of another zone", mode: fakeprimary.Mode{Handler: answer(func(m *dns.Msg, soa dns.RR) {
			m.Answer = []dns.RR{fakeprimary.SOA("com.", 5)}
		})}, want: protoErr("no SOA for example.com.")},
		{name: "SOA in authority only", mode: fakeprimary.Mode{Handler: answer(func(m *dns.Msg, soa dns.RR) {
			m.Ns = []dns.RR{soa}
		})}, want: protoErr("no SOA for example.com.")},
		{name: "TC over TCP too", mode: fakeprimary.Mode{Handler: answer(func(m *dns.Msg, soa dns.RR) { m.Truncated = true })}, want: protoErr("tcp: message 1: TC bit set over TCP")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := fakeprimary.Start(t, zone, fakeprimary.Zone(zone, 1, 1), fakeprimary.WithKey(k), fakeprimary.WithMode(tt.mode))
			peer := xfr.Peer{Addr: srv.Addr, Key: k}
			if tt.clientKey != nil {
				peer.Key = tt.clientKey
			}
			if tt.unsigned {
				peer.Key = nil
			}
			opt := quick
			opt.DialTimeout = 300 * time.Millisecond
			soa, err := xfr.QuerySOA(context.Background(), peer, zone, opt)
			if err == nil {
				t.Fatalf("accepted %v", soa)
			}
			if !strings.HasPrefix(err.Error(), "soa query for example.com. to "+srv.Addr+": ") {
				t.Errorf("error %q lacks context", err)
			}
			if !tt.want(err) {
				t.Errorf("wrong error: %v", err)
			}
		})
	}
}

func TestQuerySOACancel(t *testing.T) {
	srv := fakeprimary.Start(t, zone, fakeprimary.Zone(zone, 1, 1), fakeprimary.WithMode(fakeprimary.Mode{UDPDrop: true}))
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := xfr.QuerySOA(ctx, xfr.Peer{Addr: srv.Addr}, zone, xfr.Options{DialTimeout: 5 * time.Second})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v", err)
	}
}
