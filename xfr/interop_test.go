package xfr_test

import (
	"context"
	"crypto/hmac"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"net"
	"sync/atomic"
	"testing"

	"github.com/cfsecondary/cfsecondary/internal/fakeprimary"
	"github.com/cfsecondary/cfsecondary/xfr"
	"github.com/miekg/dns"
)

// md5Provider gives miekg/dns the hmac-md5 it no longer has; everything
// else (what the MAC covers, chaining, packing) stays miekg's.
type md5Provider struct{ secret []byte }

func (p md5Provider) Generate(msg []byte, _ *dns.TSIG) ([]byte, error) {
	h := hmac.New(md5.New, p.secret)
	h.Write(msg)
	return h.Sum(nil), nil
}

func (p md5Provider) Verify(msg []byte, t *dns.TSIG) error {
	b, _ := p.Generate(msg, t)
	mac, err := hex.DecodeString(t.MAC)
	if err != nil || !hmac.Equal(b, mac) {
		return dns.ErrSig
	}
	return nil
}

// startMiekg serves zone by AXFR with miekg/dns's server, which verifies
// the request and signs every response message itself.
// It returns the address and a count of requests it rejected.
func startMiekg(t *testing.T, k *xfr.Key, records []dns.RR, perMsg int) (string, *atomic.Int32) {
	return startMiekgWith(t, k, func(*dns.Msg) []dns.RR { return append(append([]dns.RR{}, records...), records[0]) }, perMsg)
}

// startMiekgWith is startMiekg for the answer (AXFR or IXFR) that answer
// returns for a request, sent in messages of perMsg records with
// dns.Transfer.Out. It also checks that signed requests carry our OPT
// record, which miekg's TSIG check must accept before the TSIG RR.
func startMiekgWith(t *testing.T, k *xfr.Key, answer func(r *dns.Msg) []dns.RR, perMsg int) (string, *atomic.Int32) {
	var rejected atomic.Int32
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	srv := &dns.Server{Listener: l, Net: "tcp", NotifyStartedFunc: func() { close(started) }}
	if k.Algorithm == dns.HmacMD5 {
		srv.TsigProvider = md5Provider{k.Secret}
	} else {
		srv.TsigSecret = map[string]string{k.Name: base64.StdEncoding.EncodeToString(k.Secret)}
	}
	srv.Handler = dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		defer w.Close()
		if r.IsTsig() == nil || w.TsigStatus() != nil {
			rejected.Add(1)
			m := new(dns.Msg)
			m.SetRcode(r, dns.RcodeRefused)
			w.WriteMsg(m)
			return
		}
		if o := r.IsEdns0(); o == nil || o.UDPSize() != xfr.EDNSBufSize || len(o.Option) != 1 || o.Option[0].Option() != dns.EDNS0EXPIRE {
			t.Errorf("request without our OPT record: %v", r)
		}
		all := answer(r)
		ch := make(chan *dns.Envelope)
		go func() {
			defer close(ch)
			for len(all) > 0 {
				n := min(perMsg, len(all))
				ch <- &dns.Envelope{RR: all[:n]}
				all = all[n:]
			}
		}()
		if err := new(dns.Transfer).Out(w, r, ch); err != nil {
			t.Errorf("Transfer.Out: %v", err)
		}
		for range ch {
		}
	})
	go srv.ActivateAndServe()
	<-started
	t.Cleanup(func() { srv.Shutdown() })
	return l.Addr().String(), &rejected
}

// TestAXFRFromMiekg transfers from a server whose TSIG is not ours, for
// every algorithm, so that our client is not only checked against our own
// signer.
func TestAXFRFromMiekg(t *testing.T) {
	for _, alg := range algorithms {
		t.Run(alg, func(t *testing.T) {
			k := key(alg)
			records := fakeprimary.Zone(zone, 42, 5000)
			addr, rejected := startMiekg(t, k, records, 100)
			var s sink
			res, err := xfr.AXFR(context.Background(), xfr.Peer{Addr: addr, Key: k}, zone, quick, &s)
			if err != nil {
				t.Fatalf("%v (server rejected %d requests)", err, rejected.Load())
			}
			if res.Serial != 42 || res.Records != len(records) || res.Messages != 51 || len(s.rrs) != len(records) {
				t.Fatalf("result %+v, sink %d", res, len(s.rrs))
			}
			// A key the server does not know is refused, not ignored.
			bad := *k
			bad.Secret = []byte("wrong")
			if _, err := xfr.AXFR(context.Background(), xfr.Peer{Addr: addr, Key: &bad}, zone, quick, &sink{}); err == nil || rejected.Load() != 1 {
				t.Fatalf("wrong secret: error %v, server rejected %d requests", err, rejected.Load())
			}
		})
	}
}
