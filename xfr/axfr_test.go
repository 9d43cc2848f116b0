package xfr_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cfsecondary/cfsecondary/internal/fakeprimary"
	"github.com/cfsecondary/cfsecondary/xfr"
	"github.com/miekg/dns"
)

const zone = "example.com."

var algorithms = []string{dns.HmacMD5, dns.HmacSHA1, dns.HmacSHA224, dns.HmacSHA256, dns.HmacSHA384, dns.HmacSHA512}

func key(alg string) *xfr.Key {
	return &xfr.Key{Name: "xfr-key.", Algorithm: alg, Secret: []byte("0123456789abcdef0123456789abcdef")}
}

// sink records what a transfer hands it, as the zone builder would.
type sink struct {
	mu     sync.Mutex
	rrs    []dns.RR
	failAt int // Add number that fails, from 1
}

var errSink = errors.New("sink full")

func (s *sink) Add(rr dns.RR) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failAt > 0 && len(s.rrs)+1 == s.failAt {
		return errSink
	}
	s.rrs = append(s.rrs, rr)
	return nil
}

// quick keeps failing tests from waiting out the defaults.
var quick = xfr.Options{DialTimeout: 2 * time.Second, IdleTimeout: 5 * time.Second, MaxDuration: 30 * time.Second}

func TestAXFR(t *testing.T) {
	type test struct {
		name    string
		alg     string // "" no TSIG
		n       int    // A records
		perMsg  int
		signAll bool
	}
	tests := []test{{name: "small plain", n: 10, perMsg: 100}, {name: "large plain", n: 5000, perMsg: 100}}
	for _, alg := range algorithms {
		tests = append(tests,
			test{name: "small " + alg, alg: alg, n: 10, perMsg: 100},
			test{name: "large " + alg, alg: alg, n: 5000, perMsg: 100},
		)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			records := fakeprimary.Zone(zone, 2024010101, tt.n)
			var opts []fakeprimary.Option
			peer := xfr.Peer{}
			if tt.alg != "" {
				opts = append(opts, fakeprimary.WithKey(key(tt.alg)))
				peer.Key = key(tt.alg)
			}
			opts = append(opts, fakeprimary.WithPerMessage(tt.perMsg))
			srv := fakeprimary.Start(t, zone, records, opts...)
			peer.Addr = srv.Addr

			var s sink
			res, err := xfr.AXFR(context.Background(), peer, zone, quick, &s)
			if err != nil {
				t.Fatal(err)
			}
			wantMsgs := (len(records) + 1 + tt.perMsg - 1) / tt.perMsg
			if res.Serial != 2024010101 || res.Records != len(records) || res.Messages != wantMsgs || res.OutOfZone != 0 || res.Bytes < int64(10*len(records)) {
				t.Errorf("result %+v, want serial 2024010101, %d records, %d messages", res, len(records), wantMsgs)
			}
			if len(s.rrs) != len(records) {
				t.Fatalf("sink got %d records, want %d", len(s.rrs), len(records))
			}
			for i := range records {
				if s.rrs[i].String() != records[i].String() {
					t.Fatalf("record %d = %s, want %s", i, s.rrs[i], records[i])
				}
			}
			if srv.Transfers() != 1 {
				t.Errorf("server counted %d transfers", srv.Transfers())
			}
		})
	}
}

// check tells whether err is the expected kind of failure.
type check func(error) bool

func tsigErr(code uint16, text string) check {
	return func(err error) bool {
		var te *xfr.TSIGError
		return errors.As(err, &te) && te.Code == code && strings.Contains(err.Error(), text)
	}
}

func rcodeErr(rcode int) check {
	return func(err error) bool {
		var re *xfr.RcodeError
		return errors.As(err, &re) && re.Rcode == rcode && strings.Contains(err.Error(), dns.RcodeToString[rcode])
	}
}

func protoErr(text string) check {
	return func(err error) bool {
		var pe *xfr.ProtocolError
		return errors.As(err, &pe) && strings.Contains(err.Error(), text)
	}
}

func is(target error, text string) check {
	return func(err error) bool { return errors.Is(err, target) && strings.Contains(err.Error(), text) }
}

// TestAXFRBroken runs every misbehaviour of the fake primary: each must
// end in an error of the right kind, never in a transfer the caller would
// commit.
func TestAXFRBroken(t *testing.T) {
	k := key(dns.HmacSHA256)
	otherName := *k
	otherName.Name = "other."
	otherSecret := *k
	otherSecret.Secret = []byte("not the secret")
	otherAlg := *k
	otherAlg.Algorithm = dns.HmacSHA512

	unsignedFirst := func(w *fakeprimary.Writer, req *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(req)
		m.Answer = w.Records()[:1]
		w.WriteMsg(m, false)
	}
	tcBit := func(w *fakeprimary.Writer, req *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(req)
		m.Truncated = true
		m.Answer = w.Records()[:1]
		w.WriteMsg(m, true)
	}
	raw := func(b []byte) fakeprimary.Handler {
		return func(w *fakeprimary.Writer, req *dns.Msg) { w.WriteRaw(b) }
	}
	notSOA := func(w *fakeprimary.Writer, req *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(req)
		m.Answer = w.Records()[1:3]
		w.WriteMsg(m, true)
	}
	dataAfterEnd := func(w *fakeprimary.Writer, req *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(req)
		rrs := w.Records()
		m.Answer = append(append(append([]dns.RR{}, rrs...), rrs[0]), rrs[1])
		w.WriteMsg(m, true)
	}
	otherClass := func(w *fakeprimary.Writer, req *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(req)
		rrs := w.Records()
		ch := dns.Copy(rrs[1])
		ch.Header().Class = dns.ClassCHAOS
		m.Answer = append(append([]dns.RR{}, rrs[0], ch), rrs[0])
		w.WriteMsg(m, true)
	}
	subSOA := func(w *fakeprimary.Writer, req *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(req)
		rrs := w.Records()
		m.Answer = []dns.RR{rrs[0], fakeprimary.SOA("sub."+zone, 1), rrs[0]}
		w.WriteMsg(m, true)
	}
	notQuery := func(w *fakeprimary.Writer, req *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(req)
		m.Opcode = dns.OpcodeNotify
		m.Answer = w.Records()
		w.WriteMsg(m, true)
	}

	tests := []struct {
		name      string
		serverKey *xfr.Key // default k
		noKey     bool     // server without key
		clientKey *xfr.Key // default k; nil with unsignedClient
		unsigned  bool     // client sends no TSIG
		mode      fakeprimary.Mode
		perMsg    int
		n         int
		opt       func(*xfr.Options)
		want      check
	}{
		{name: "final message unsigned", mode: fakeprimary.Mode{UnsignedLast: true}, want: tsigErr(0, "tsig: final message unsigned")},
		{name: "single message unsigned", n: 1, mode: fakeprimary.Mode{UnsignedLast: true}, want: tsigErr(0, "tsig: response not signed")},
		{name: "response not signed", mode: fakeprimary.Mode{Handler: unsignedFirst}, want: tsigErr(0, "tsig: response not signed")},
		{name: "signed with other key", mode: fakeprimary.Mode{SignKey: &otherName}, want: tsigErr(dns.RcodeBadKey, "tsig: BADKEY: response signed with key other. (want xfr-key.)")},
		{name: "signed with other algorithm", mode: fakeprimary.Mode{SignKey: &otherAlg}, want: tsigErr(dns.RcodeBadKey, "algorithm hmac-sha512.")},
		{name: "signed with other secret", mode: fakeprimary.Mode{SignKey: &otherSecret}, want: tsigErr(dns.RcodeBadSig, "tsig: BADSIG on message 1")},
		{name: "corrupt MAC first", mode: fakeprimary.Mode{CorruptMACAt: 1}, want: tsigErr(dns.RcodeBadSig, "tsig: BADSIG on message 1")},
		{name: "corrupt MAC third", mode: fakeprimary.Mode{CorruptMACAt: 3}, want: tsigErr(dns.RcodeBadSig, "tsig: BADSIG on message 3")},
		{name: "corrupt MAC last", mode: fakeprimary.Mode{CorruptMACAt: 6}, want: tsigErr(dns.RcodeBadSig, "tsig: BADSIG on message 6")},
		{name: "corrupt MAC after unsigned", mode: fakeprimary.Mode{SignEvery: 3, CorruptMACAt: 4}, want: tsigErr(dns.RcodeBadSig, "tsig: BADSIG on message 4")},
		{name: "time signed in the future", mode: fakeprimary.Mode{TimeShift: 10 * time.Minute}, want: tsigErr(dns.RcodeBadTime, "outside fudge 300")},
		{name: "time signed in the past", mode: fakeprimary.Mode{TimeShift: -301 * time.Second}, want: tsigErr(dns.RcodeBadTime, "outside fudge 300")},
		{name: "100 unsigned in a row", perMsg: 1, n: 300, mode: fakeprimary.Mode{SignEvery: 101}, want: tsigErr(0, "tsig: message 101 unsigned, more than 99 in a row")},
		{name: "client key unknown to server", clientKey: &otherName, want: tsigErr(dns.RcodeBadKey, "BADKEY: reported by peer")},
		{name: "client secret wrong", clientKey: &otherSecret, want: tsigErr(dns.RcodeBadSig, "BADSIG: reported by peer")},
		{name: "client clock off", opt: func(o *xfr.Options) { o.Now = func() time.Time { return time.Now().Add(time.Hour) } }, want: tsigErr(dns.RcodeBadTime, "BADTIME: reported by peer")},
		{name: "client unsigned, server wants key", unsigned: true, want: rcodeErr(dns.RcodeRefused)},
		{name: "client signed, server has no key", noKey: true, want: tsigErr(dns.RcodeBadKey, "BADKEY: reported by peer")},
		{name: "no final SOA", mode: fakeprimary.Mode{NoFinalSOA: true}, want: is(xfr.ErrTruncated, "connection closed after 6 messages")},
		{name: "close after 2 messages", mode: fakeprimary.Mode{CloseAfter: 2}, want: is(xfr.ErrTruncated, "after 2 messages")},
		{name: "close before first message", mode: fakeprimary.Mode{Handler: func(*fakeprimary.Writer, *dns.Msg) {}}, want: is(xfr.ErrTruncated, "after 0 messages")},
		{name: "mid-stream SOA", mode: fakeprimary.Mode{MidSOA: true}, want: protoErr("record(s) after the final SOA")},
		{name: "mid-stream SOA in one message", perMsg: 1000, mode: fakeprimary.Mode{MidSOA: true}, want: protoErr("record(s) after the final SOA")},
		{name: "end SOA with other serial", mode: fakeprimary.Mode{WrongEndSerial: true}, want: protoErr("SOA serial 2024010102 mid-stream or at the end, want 2024010101")},
		{name: "wrong ID first", mode: fakeprimary.Mode{BadIDAt: 1}, want: protoErr("message 1: ID")},
		{name: "wrong ID later", mode: fakeprimary.Mode{BadIDAt: 4}, want: protoErr("message 4: ID")},
		{name: "wrong question first", mode: fakeprimary.Mode{BadQuestionAt: 1}, want: protoErr("message 1: question wrong.example.com. IN AXFR")},
		{name: "wrong question later", mode: fakeprimary.Mode{BadQuestionAt: 2}, want: protoErr("message 2: question wrong.example.com.")},
		{name: "REFUSED", mode: fakeprimary.Mode{Rcode: dns.RcodeRefused}, want: rcodeErr(dns.RcodeRefused)},
		{name: "NOTAUTH", mode: fakeprimary.Mode{Rcode: dns.RcodeNotAuth}, want: rcodeErr(dns.RcodeNotAuth)},
		{name: "SERVFAIL unsigned client", unsigned: true, noKey: true, mode: fakeprimary.Mode{Rcode: dns.RcodeServerFailure}, want: rcodeErr(dns.RcodeServerFailure)},
		{name: "TC bit", mode: fakeprimary.Mode{Handler: tcBit}, want: protoErr("TC bit set")},
		{name: "first record not SOA", mode: fakeprimary.Mode{Handler: notSOA}, want: protoErr("first record is example.com. IN NS, want the SOA")},
		{name: "records after final SOA", n: 2, mode: fakeprimary.Mode{Handler: dataAfterEnd}, want: protoErr("message 1: 1 record(s) after the final SOA")},
		{name: "record of class CH", mode: fakeprimary.Mode{Handler: otherClass}, want: protoErr("has class CH")},
		{name: "SOA of a subzone", mode: fakeprimary.Mode{Handler: subSOA}, want: protoErr("SOA for sub.example.com. inside zone")},
		{name: "opcode NOTIFY", mode: fakeprimary.Mode{Handler: notQuery}, want: protoErr("not a response to a query")},
		{name: "garbage", noKey: true, unsigned: true, mode: fakeprimary.Mode{Handler: raw([]byte{1, 2, 3})}, want: protoErr("malformed message")},
		{name: "empty answer", noKey: true, unsigned: true, mode: fakeprimary.Mode{Handler: func(w *fakeprimary.Writer, req *dns.Msg) {
			m := new(dns.Msg)
			m.SetReply(req)
			w.WriteMsg(m, true)
		}}, want: protoErr("first message has no answer records")},
		{name: "zero-length message", noKey: true, unsigned: true, mode: fakeprimary.Mode{Handler: raw(nil)}, want: protoErr("message 1: zero-length message")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := tt.n
			if n == 0 {
				n = 50
			}
			perMsg := tt.perMsg
			if perMsg == 0 {
				perMsg = 10
			}
			opts := []fakeprimary.Option{fakeprimary.WithPerMessage(perMsg), fakeprimary.WithMode(tt.mode)}
			if !tt.noKey {
				sk := k
				if tt.serverKey != nil {
					sk = tt.serverKey
				}
				opts = append(opts, fakeprimary.WithKey(sk))
			}
			srv := fakeprimary.Start(t, zone, fakeprimary.Zone(zone, 2024010101, n), opts...)
			peer := xfr.Peer{Addr: srv.Addr, Key: k}
			if tt.clientKey != nil {
				peer.Key = tt.clientKey
			}
			if tt.unsigned {
				peer.Key = nil
			}
			opt := quick
			if tt.opt != nil {
				tt.opt(&opt)
			}
			var s sink
			res, err := xfr.AXFR(context.Background(), peer, zone, opt, &s)
			if err == nil {
				t.Fatalf("transfer accepted: %+v", res)
			}
			if !strings.HasPrefix(err.Error(), "axfr from "+srv.Addr+": ") {
				t.Errorf("error %q lacks the peer", err)
			}
			if !tt.want(err) {
				t.Errorf("wrong error: %v (%T)", err, errors.Unwrap(err))
			}
		})
	}
}

// TestAXFRUnsignedRun checks the RFC 8945 limit both ways on the wire:
// 99 unsigned messages between signed ones pass, 100 do not.
func TestAXFRUnsignedRun(t *testing.T) {
	for _, tt := range []struct {
		every int
		ok    bool
	}{{2, true}, {50, true}, {100, true}, {101, false}} {
		t.Run(fmt.Sprint(tt.every-1, " unsigned"), func(t *testing.T) {
			k := key(dns.HmacSHA256)
			srv := fakeprimary.Start(t, zone, fakeprimary.Zone(zone, 7, 400), fakeprimary.WithKey(k),
				fakeprimary.WithPerMessage(1), fakeprimary.WithMode(fakeprimary.Mode{SignEvery: tt.every}))
			var s sink
			res, err := xfr.AXFR(context.Background(), xfr.Peer{Addr: srv.Addr, Key: k}, zone, quick, &s)
			if tt.ok {
				if err != nil || res.Records != 403 || res.Messages != 404 {
					t.Fatalf("%+v, %v", res, err)
				}
				return
			}
			if !tsigErr(0, "tsig: message 101 unsigned, more than 99 in a row")(err) {
				t.Fatalf("error %v", err)
			}
		})
	}
	// A stricter local limit applies too.
	k := key(dns.HmacSHA1)
	srv := fakeprimary.Start(t, zone, fakeprimary.Zone(zone, 7, 40), fakeprimary.WithKey(k),
		fakeprimary.WithPerMessage(1), fakeprimary.WithMode(fakeprimary.Mode{SignEvery: 5}))
	opt := quick
	opt.MaxUnsigned = 3
	_, err := xfr.AXFR(context.Background(), xfr.Peer{Addr: srv.Addr, Key: k}, zone, opt, &sink{})
	if !tsigErr(0, "tsig: message 5 unsigned, more than 3 in a row")(err) {
		t.Fatalf("MaxUnsigned 3: %v", err)
	}
}

func TestAXFROutOfZone(t *testing.T) {
	k := key(dns.HmacSHA384)
	records := fakeprimary.Zone(zone, 9, 20)
	srv := fakeprimary.Start(t, zone, records, fakeprimary.WithKey(k), fakeprimary.WithPerMessage(7),
		fakeprimary.WithMode(fakeprimary.Mode{OutOfZone: 8}))
	var s sink
	res, err := xfr.AXFR(context.Background(), xfr.Peer{Addr: srv.Addr, Key: k}, zone, quick, &s)
	if err != nil {
		t.Fatal(err)
	}
	if res.OutOfZone != 8 || len(res.OutOfZoneNames) != 5 || res.OutOfZoneNames[0] != "oz0.out-of-zone.test." || res.Records != len(records) || len(s.rrs) != len(records) {
		t.Fatalf("result %+v, sink %d records; want 8 out of zone, %d records", res, len(s.rrs), len(records))
	}
	for _, rr := range s.rrs {
		if !dns.IsSubDomain(zone, rr.Header().Name) {
			t.Errorf("out-of-zone record passed on: %s", rr)
		}
	}
}

func TestAXFRSinkError(t *testing.T) {
	srv := fakeprimary.Start(t, zone, fakeprimary.Zone(zone, 1, 100))
	_, err := xfr.AXFR(context.Background(), xfr.Peer{Addr: srv.Addr}, zone, quick, &sink{failAt: 42})
	if !errors.Is(err, errSink) || !strings.Contains(err.Error(), "sink: sink full") {
		t.Fatalf("error %v, want the sink's", err)
	}
}

func TestAXFRIdleTimeout(t *testing.T) {
	srv := fakeprimary.Start(t, zone, fakeprimary.Zone(zone, 1, 100), fakeprimary.WithPerMessage(10),
		fakeprimary.WithMode(fakeprimary.Mode{StallAfter: 2}))
	opt := quick
	opt.IdleTimeout = 200 * time.Millisecond
	start := time.Now()
	res, err := xfr.AXFR(context.Background(), xfr.Peer{Addr: srv.Addr}, zone, opt, &sink{})
	if !errors.Is(err, xfr.ErrIdleTimeout) || res.Messages != 2 {
		t.Fatalf("error %v after %d messages, want idle timeout after 2", err, res.Messages)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("took %v", d)
	}
}

func TestAXFRMaxDuration(t *testing.T) {
	// Each message comes in time, the whole does not.
	srv := fakeprimary.Start(t, zone, fakeprimary.Zone(zone, 1, 100), fakeprimary.WithPerMessage(5),
		fakeprimary.WithMode(fakeprimary.Mode{Delay: 50 * time.Millisecond}))
	opt := quick
	opt.IdleTimeout = time.Second
	opt.MaxDuration = 300 * time.Millisecond
	_, err := xfr.AXFR(context.Background(), xfr.Peer{Addr: srv.Addr}, zone, opt, &sink{})
	if !errors.Is(err, xfr.ErrMaxDuration) {
		t.Fatalf("error %v, want max duration", err)
	}
}

func TestAXFRCancel(t *testing.T) {
	srv := fakeprimary.Start(t, zone, fakeprimary.Zone(zone, 1, 100), fakeprimary.WithPerMessage(10),
		fakeprimary.WithMode(fakeprimary.Mode{StallAfter: 1}))
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	_, err := xfr.AXFR(ctx, xfr.Peer{Addr: srv.Addr}, zone, quick, &sink{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("cancel took %v", d)
	}
	// Already cancelled: no dial.
	_, err = xfr.AXFR(ctx, xfr.Peer{Addr: srv.Addr}, zone, quick, &sink{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
}

func TestAXFRDialError(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	_, err = xfr.AXFR(context.Background(), xfr.Peer{Addr: addr}, zone, quick, &sink{})
	var opErr *net.OpError
	if !errors.As(err, &opErr) || !strings.Contains(err.Error(), "axfr from "+addr+": dial: ") {
		t.Fatalf("error %v", err)
	}
}

// TestAXFRZoneCase checks that names compare case-insensitively.
func TestAXFRZoneCase(t *testing.T) {
	srv := fakeprimary.Start(t, zone, fakeprimary.Zone(zone, 3, 5), fakeprimary.WithKey(key(dns.HmacSHA1)))
	res, err := xfr.AXFR(context.Background(), xfr.Peer{Addr: srv.Addr, Key: key(dns.HmacSHA1)}, "Example.COM", quick, &sink{})
	if err != nil || res.Serial != 3 {
		t.Fatalf("%+v, %v", res, err)
	}
}

// TestAXFRSetRecords checks the fake primary's zone can change between
// transfers.
func TestAXFRSetRecords(t *testing.T) {
	srv := fakeprimary.Start(t, zone, fakeprimary.Zone(zone, 1, 5))
	for serial := uint32(1); serial <= 3; serial++ {
		if serial > 1 {
			srv.SetRecords(fakeprimary.Zone(zone, serial, int(serial)))
		}
		res, err := xfr.AXFR(context.Background(), xfr.Peer{Addr: srv.Addr}, zone, quick, &sink{})
		if err != nil || res.Serial != serial {
			t.Fatalf("serial %d: %+v, %v", serial, res, err)
		}
	}
	if srv.Transfers() != 3 {
		t.Errorf("Transfers() = %d", srv.Transfers())
	}
}
