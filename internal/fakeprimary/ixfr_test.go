package fakeprimary

import (
	"net"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cfsecondary/cfsecondary/xfr"
	"github.com/miekg/dns"
)

func ixfrQuery(serial uint32) *dns.Msg {
	m := new(dns.Msg)
	m.SetIxfr(zone, serial, "ns1."+zone, "hostmaster."+zone)
	return m
}

// TestMiekgIXFR checks the IXFR answers against miekg/dns's client, which
// verifies every message's TSIG and follows RFC 1995 itself.
func TestMiekgIXFR(t *testing.T) {
	k := key(dns.HmacSHA256)
	s := Start(t, zone, Zone(zone, 1, 10), WithKey(k), WithPerMessage(3))
	s.SetRecords(Zone(zone, 2, 12))
	s.SetRecords(Zone(zone, 3, 7))
	secret, provider := tsigFor(k)
	tests := []struct {
		name  string
		mode  Mode
		from  uint32
		want  []uint32 // serials of the SOAs in the answer
		count func() int
	}{
		{name: "incremental", from: 1, want: []uint32{3, 1, 2, 2, 3, 3}, count: s.IXFRs},
		{name: "condensed", mode: Mode{IXFR: IXFRCondensed}, from: 1, want: []uint32{3, 1, 3, 3}, count: s.IXFRs},
		{name: "up to date", from: 3, want: []uint32{3}, count: s.IXFRs},
		{name: "unknown serial", from: 0, want: []uint32{3, 3}, count: s.AXFRStyle},
		{name: "AXFR-style", mode: Mode{IXFR: IXFRAXFRStyle}, from: 1, want: []uint32{3, 3}, count: s.AXFRStyle},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s.SetMode(tt.mode)
			before := tt.count()
			tr := &dns.Transfer{TsigSecret: secret, TsigProvider: provider}
			q := ixfrQuery(tt.from)
			q.SetTsig(k.Name, k.Algorithm, 300, time.Now().Unix())
			env, err := tr.In(q, s.Addr)
			if err != nil {
				t.Fatal(err)
			}
			var soas []uint32
			n := 0
			for e := range env {
				if e.Error != nil {
					t.Fatal(e.Error)
				}
				for _, rr := range e.RR {
					n++
					if soa, ok := rr.(*dns.SOA); ok {
						soas = append(soas, soa.Serial)
					}
				}
			}
			if !slices.Equal(soas, tt.want) {
				t.Errorf("SOA serials %v, want %v (%d records)", soas, tt.want, n)
			}
			if tt.count() != before+1 || s.LastIXFRSerial() != tt.from {
				t.Errorf("counter %d -> %d, last serial %d", before, tt.count(), s.LastIXFRSerial())
			}
		})
	}
}

func TestHistory(t *testing.T) {
	s := Start(t, zone, Zone(zone, 1, 1))
	s.SetRecords(Zone(zone, 2, 2))
	s.SetRecords(Zone(zone, 2, 3)) // same serial: replaces
	s.SetRecords(Zone(zone, 5, 3))
	if got := s.Serials(); !slices.Equal(got, []uint32{1, 2, 5}) {
		t.Fatalf("serials %v", got)
	}
	s.ClearHistory()
	if got := s.Serials(); !slices.Equal(got, []uint32{5}) || s.Serial() != 5 {
		t.Fatalf("after ClearHistory: %v", got)
	}
	// An IXFR from 2 is now answered AXFR-style.
	c := &dns.Client{Net: "tcp"}
	r, _, err := c.Exchange(ixfrQuery(2), s.Addr)
	if err != nil || len(r.Answer) != 7 || s.AXFRStyle() != 1 || s.IXFRs() != 0 {
		t.Fatalf("%v, %v", r, err)
	}
}

// TestIXFRModes checks the one-message answers by hand.
func TestIXFRModes(t *testing.T) {
	s := Start(t, zone, Zone(zone, 1, 1))
	s.SetRecords(Zone(zone, 2, 1))
	c := &dns.Client{Net: "tcp"}
	for _, tt := range []struct {
		mode  IXFRMode
		rcode int
		n     int
	}{
		{IXFRNotImp, dns.RcodeNotImplemented, 0},
		{IXFRFormErr, dns.RcodeFormatError, 0},
		{IXFRRefused, dns.RcodeRefused, 0},
		{IXFREmpty, dns.RcodeSuccess, 0},
		{IXFRSingleSOA, dns.RcodeSuccess, 1},
	} {
		s.SetMode(Mode{IXFR: tt.mode})
		r, _, err := c.Exchange(ixfrQuery(1), s.Addr)
		if err != nil || r.Rcode != tt.rcode || len(r.Answer) != tt.n {
			t.Errorf("mode %d: %v, %v", tt.mode, r, err)
		}
		// AXFR still works.
		q := new(dns.Msg)
		q.SetAxfr(zone)
		if r, _, err := c.Exchange(q, s.Addr); err != nil || r.Rcode != dns.RcodeSuccess || len(r.Answer) != 5 {
			t.Errorf("mode %d: AXFR %v, %v", tt.mode, r, err)
		}
	}
	// No SOA in the authority section: FORMERR.
	s.SetMode(Mode{})
	q := new(dns.Msg)
	q.SetQuestion(zone, dns.TypeIXFR)
	if r, _, err := c.Exchange(q, s.Addr); err != nil || r.Rcode != dns.RcodeFormatError {
		t.Errorf("IXFR without SOA: %v, %v", r, err)
	}
	// Over UDP: refused (this server does IXFR over TCP only).
	c.Net = "udp"
	if r, _, err := c.Exchange(ixfrQuery(1), s.Addr); err != nil || r.Rcode != dns.RcodeRefused {
		t.Errorf("IXFR over UDP: %v, %v", r, err)
	}
}

func TestEDNS(t *testing.T) {
	s := Start(t, zone, Zone(zone, 1, 1))
	c := new(dns.Client)
	query := func(expire bool) *dns.Msg {
		q := new(dns.Msg)
		q.SetQuestion(zone, dns.TypeSOA)
		q.SetEdns0(1232, false)
		if expire {
			o := q.IsEdns0()
			o.Option = append(o.Option, &dns.EDNS0_EXPIRE{Code: dns.EDNS0EXPIRE, Empty: true})
		}
		return q
	}
	expireOf := func(r *dns.Msg) (uint32, bool) {
		if o := r.IsEdns0(); o != nil {
			for _, e := range o.Option {
				if x, ok := e.(*dns.EDNS0_EXPIRE); ok {
					return x.Expire, true
				}
			}
		}
		return 0, false
	}
	for _, tt := range []struct {
		name       string
		mode       Mode
		ask        bool
		rcode      int
		opt        bool
		expire     uint32
		hasExpired bool
	}{
		{name: "no expire set", ask: true, opt: true},
		{name: "expire set", mode: Mode{Expire: 3600}, ask: true, opt: true, expire: 3600, hasExpired: true},
		{name: "expire zero", mode: Mode{Expire: ExpireZero}, ask: true, opt: true, expire: 0, hasExpired: true},
		{name: "expire not asked", mode: Mode{Expire: 3600}, opt: true},
		{name: "FORMERR", mode: Mode{EDNSFormErr: true}, ask: true, rcode: dns.RcodeFormatError},
		{name: "NOTIMP", mode: Mode{EDNSNotImp: true}, rcode: dns.RcodeNotImplemented},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s.SetMode(tt.mode)
			r, _, err := c.Exchange(query(tt.ask), s.Addr)
			if err != nil || r.Rcode != tt.rcode || (r.IsEdns0() != nil) != tt.opt {
				t.Fatalf("%v, %v", r, err)
			}
			e, ok := expireOf(r)
			if ok != tt.hasExpired || e != tt.expire {
				t.Errorf("expire %d, %t", e, ok)
			}
		})
	}
	// Without EDNS in the query, none in the answer, whatever the mode.
	s.SetMode(Mode{Expire: 3600, EDNSFormErr: true})
	q := new(dns.Msg)
	q.SetQuestion(zone, dns.TypeSOA)
	if r, _, err := c.Exchange(q, s.Addr); err != nil || r.Rcode != dns.RcodeSuccess || r.IsEdns0() != nil {
		t.Fatalf("%v, %v", r, err)
	}
}

// TestEDNSTransfer checks that every message of a transfer has an OPT
// record and only the first the EXPIRE option, as BIND does, and that the
// signatures still verify (miekg checks each).
func TestEDNSTransfer(t *testing.T) {
	k := key(dns.HmacSHA1)
	s := Start(t, zone, Zone(zone, 1, 20), WithKey(k), WithPerMessage(5), WithMode(Mode{Expire: 7200}))
	query := func() *dns.Msg {
		q := new(dns.Msg)
		q.SetAxfr(zone)
		q.SetEdns0(1232, false)
		q.IsEdns0().Option = []dns.EDNS0{&dns.EDNS0_EXPIRE{Code: dns.EDNS0EXPIRE, Empty: true}}
		return q
	}
	secret, provider := tsigFor(k)
	tr := &dns.Transfer{TsigSecret: secret, TsigProvider: provider}
	q := query()
	q.SetTsig(k.Name, k.Algorithm, 300, time.Now().Unix())
	env, err := tr.In(q, s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for e := range env {
		if e.Error != nil {
			t.Fatal(e.Error)
		}
		n += len(e.RR)
	}
	if n != 24 {
		t.Fatalf("%d records", n)
	}

	// Transfer.In hands over only the records: read the messages of an
	// unsigned transfer with a Conn of our own.
	u := Start(t, zone, Zone(zone, 1, 20), WithPerMessage(5), WithMode(Mode{Expire: 7200}))
	conn, err := dns.Dial("tcp", u.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.WriteMsg(query()); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		r, err := conn.ReadMsg()
		if err != nil {
			t.Fatalf("message %d: %v", i+1, err)
		}
		o := r.IsEdns0()
		if o == nil || (len(o.Option) == 1) != (i == 0) {
			t.Fatalf("message %d: OPT %v", i+1, o)
		}
	}
}

// TestNotify sends NOTIFYs to a miekg/dns server standing in for a
// secondary.
func TestNotify(t *testing.T) {
	k := key(dns.HmacSHA512)
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var got atomic.Int32
	var rcode atomic.Int32
	var fromOK, signedOK atomic.Bool
	started := make(chan struct{})
	secret, _ := tsigFor(k)
	srv := &dns.Server{PacketConn: pc, TsigSecret: secret, NotifyStartedFunc: func() { close(started) }}
	srv.Handler = dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		got.Add(1)
		fromOK.Store(w.RemoteAddr().(*net.UDPAddr).IP.Equal(net.IPv4(127, 0, 0, 1)))
		signedOK.Store(r.IsTsig() != nil && w.TsigStatus() == nil)
		m := new(dns.Msg)
		m.SetRcode(r, int(rcode.Load()))
		if t := r.IsTsig(); t != nil {
			m.SetTsig(t.Hdr.Name, t.Algorithm, 300, time.Now().Unix())
		}
		if r.Opcode != dns.OpcodeNotify || r.Question[0].Name != zone || len(r.Answer) != 1 {
			m.Rcode = dns.RcodeFormatError
		}
		w.WriteMsg(m)
	})
	go srv.ActivateAndServe()
	<-started
	t.Cleanup(func() { srv.Shutdown() })
	addr := pc.LocalAddr().String()

	s := Start(t, zone, Zone(zone, 1, 1), WithKey(k))
	if err := s.Notify(addr); err != nil || got.Load() != 1 || !fromOK.Load() || !signedOK.Load() {
		t.Fatalf("signed NOTIFY: %v (received %d, from 127.0.0.1 %t, signed %t)", err, got.Load(), fromOK.Load(), signedOK.Load())
	}
	if err := s.NotifyWith(addr, nil); err != nil || got.Load() != 2 || signedOK.Load() {
		t.Fatalf("unsigned NOTIFY: %v", err)
	}
	rcode.Store(dns.RcodeRefused)
	if err := s.Notify(addr); err == nil {
		t.Fatal("REFUSED NOTIFY reported as a success")
	}
	other := &xfr.Key{Name: k.Name, Algorithm: k.Algorithm, Secret: []byte("other secret")}
	rcode.Store(dns.RcodeSuccess)
	if err := s.NotifyWith(addr, other); err == nil {
		t.Fatal("answer signed with another secret accepted")
	}
}
