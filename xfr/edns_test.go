package xfr_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/cfsecondary/cfsecondary/internal/fakeprimary"
	"github.com/cfsecondary/cfsecondary/xfr"
	"github.com/miekg/dns"
)

// kinds of request, each returning the EXPIRE seen and the server's count
// of requests of that kind.
var requestKinds = []struct {
	name  string
	do    func(srv *fakeprimary.Server, peer xfr.Peer, opt xfr.Options) (int64, error)
	count func(srv *fakeprimary.Server) int
}{
	{"SOA", func(srv *fakeprimary.Server, peer xfr.Peer, opt xfr.Options) (int64, error) {
		ans, err := xfr.QuerySOA(context.Background(), peer, zone, opt)
		if err == nil && ans.SOA.Serial != 2 {
			err = fmt.Errorf("serial %d", ans.SOA.Serial)
		}
		return ans.Expire, err
	}, (*fakeprimary.Server).SOAQueries},
	{"AXFR", func(srv *fakeprimary.Server, peer xfr.Peer, opt xfr.Options) (int64, error) {
		res, err := xfr.AXFR(context.Background(), peer, zone, opt, &sink{})
		if err == nil && res.Serial != 2 {
			err = fmt.Errorf("serial %d", res.Serial)
		}
		return res.Expire, err
	}, (*fakeprimary.Server).AXFRQueries},
	{"IXFR", func(srv *fakeprimary.Server, peer xfr.Peer, opt xfr.Options) (int64, error) {
		res, err := xfr.IXFR(context.Background(), peer, zone, fakeprimary.SOA(zone, 1), opt, &sink{})
		if err == nil && len(res.Deltas) != 1 {
			err = fmt.Errorf("%d deltas", len(res.Deltas))
		}
		return res.Expire, err
	}, (*fakeprimary.Server).IXFRQueries},
	{"IXFR up to date", func(srv *fakeprimary.Server, peer xfr.Peer, opt xfr.Options) (int64, error) {
		res, err := xfr.IXFR(context.Background(), peer, zone, fakeprimary.SOA(zone, 2), opt, &sink{})
		if err == nil && !res.UpToDate {
			err = errors.New("not up to date")
		}
		return res.Expire, err
	}, (*fakeprimary.Server).IXFRQueries},
}

// TestExpire checks the EDNS EXPIRE option (RFC 7314) on every kind of
// request, with and without TSIG: the OPT record sits before the TSIG RR
// both ways, and both sides verify.
func TestExpire(t *testing.T) {
	tests := []struct {
		name   string
		mode   fakeprimary.Mode
		noEDNS bool
		want   int64
		reqs   int // requests the server should see
	}{
		{name: "absent", want: -1, reqs: 1},
		{name: "one day", mode: fakeprimary.Mode{Expire: 86400}, want: 86400, reqs: 1},
		{name: "max", mode: fakeprimary.Mode{Expire: 1<<32 - 1}, want: 1<<32 - 1, reqs: 1},
		{name: "zero", mode: fakeprimary.Mode{Expire: fakeprimary.ExpireZero}, want: 0, reqs: 1},
		{name: "not asked for", mode: fakeprimary.Mode{Expire: 86400}, noEDNS: true, want: -1, reqs: 1},
		// A server from before EDNS: one retry without it.
		{name: "FORMERR to EDNS", mode: fakeprimary.Mode{Expire: 86400, EDNSFormErr: true}, want: -1, reqs: 2},
		{name: "NOTIMP to EDNS", mode: fakeprimary.Mode{Expire: 86400, EDNSNotImp: true}, want: -1, reqs: 2},
		// NoEDNS sends no OPT: such a server answers at once.
		{name: "FORMERR to EDNS, NoEDNS", mode: fakeprimary.Mode{EDNSFormErr: true}, noEDNS: true, want: -1, reqs: 1},
	}
	for _, kind := range requestKinds {
		for _, tt := range tests {
			for _, signed := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/%s/tsig %t", kind.name, tt.name, signed), func(t *testing.T) {
					k := key(dns.HmacSHA384)
					opts := []fakeprimary.Option{fakeprimary.WithMode(tt.mode), fakeprimary.WithPerMessage(4)}
					peer := xfr.Peer{}
					if signed {
						opts = append(opts, fakeprimary.WithKey(k))
						peer.Key = k
					}
					srv := startVersions(t, []uint32{1, 2}, opts...)
					peer.Addr = srv.Addr
					opt := quick
					opt.NoEDNS = tt.noEDNS
					got, err := kind.do(srv, peer, opt)
					if err != nil {
						t.Fatal(err)
					}
					if got != tt.want || kind.count(srv) != tt.reqs {
						t.Errorf("expire %d after %d requests, want %d after %d", got, kind.count(srv), tt.want, tt.reqs)
					}
				})
			}
		}
	}
}

// TestEDNSRejectedTwice: a primary that answers FORMERR without OPT, with
// and without EDNS, gets one retry only, and the error is the rcode.
func TestEDNSRejectedTwice(t *testing.T) {
	srv := startVersions(t, []uint32{1, 2}, fakeprimary.WithMode(fakeprimary.Mode{Rcode: dns.RcodeFormatError}))
	peer := xfr.Peer{Addr: srv.Addr}
	// The fake primary echoes OPT in its FORMERR: it knows EDNS, so the
	// FORMERR is about something else and there is no retry.
	if _, err := xfr.QuerySOA(context.Background(), peer, zone, quick); !rcodeErr(dns.RcodeFormatError)(err) || srv.SOAQueries() != 1 {
		t.Fatalf("%v after %d queries, want FORMERR after 1", err, srv.SOAQueries())
	}
	srv.SetMode(fakeprimary.Mode{Handler: func(w *fakeprimary.Writer, req *dns.Msg) {
		m := new(dns.Msg)
		m.SetRcode(req, dns.RcodeFormatError)
		m.Extra = nil
		w.Signer = nil
		wire, _ := m.Pack()
		w.WriteRaw(wire) // no OPT: as from a server without EDNS
	}})
	before := srv.AXFRQueries()
	_, err := xfr.AXFR(context.Background(), peer, zone, quick, &sink{})
	if !rcodeErr(dns.RcodeFormatError)(err) || srv.AXFRQueries()-before != 2 {
		t.Fatalf("%v after %d queries, want FORMERR after 2", err, srv.AXFRQueries()-before)
	}
	_, err = xfr.IXFR(context.Background(), peer, zone, fakeprimary.SOA(zone, 1), quick, &sink{})
	if !rcodeErr(dns.RcodeFormatError)(err) || !errors.Is(err, xfr.ErrFallback) || srv.IXFRQueries() != 2 {
		t.Fatalf("%v after %d queries, want FORMERR and fallback after 2", err, srv.IXFRQueries())
	}
}
