package xfr_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cfsecondary/cfsecondary/internal/fakeprimary"
	"github.com/cfsecondary/cfsecondary/xfr"
	zonepkg "github.com/cfsecondary/cfsecondary/zone"
	"github.com/miekg/dns"
)

// version returns the zone at serial: 20 hosts, a third of whose
// addresses depend on the serial, and a TXT record found only in this
// version. Each step so deletes and adds records.
func version(serial uint32) []dns.RR {
	rrs := fakeprimary.Zone(zone, serial, 20)
	for i, rr := range rrs[3:] {
		if uint32(i)%3 == serial%3 {
			rr.(*dns.A).A = net.IPv4(10, 9, byte(serial), byte(i)).To4()
		}
	}
	txt, _ := dns.NewRR(fmt.Sprintf("v.%s 300 IN TXT \"version %d\"", zone, serial))
	return append(rrs, txt)
}

// startVersions starts a fake primary that went through the versions
// serials, the last being current.
func startVersions(t *testing.T, serials []uint32, opts ...fakeprimary.Option) *fakeprimary.Server {
	t.Helper()
	srv := fakeprimary.Start(t, zone, version(serials[0]), opts...)
	for _, s := range serials[1:] {
		srv.SetRecords(version(s))
	}
	return srv
}

// model is a zone as a set of records in text form.
type model map[string]bool

func newModel(rrs []dns.RR) model {
	m := model{}
	for _, rr := range rrs[1:] { // without the SOA
		m[rr.String()] = true
	}
	return m
}

// apply applies the deltas as the caller does, strictly: a record to
// delete must be there.
func (m model) apply(t *testing.T, deltas []xfr.Delta) {
	t.Helper()
	for i, d := range deltas {
		for _, rr := range d.Del {
			if !m[rr.String()] {
				t.Fatalf("delta %d deletes %s, which is not there", i+1, rr)
			}
			delete(m, rr.String())
		}
		for _, rr := range d.Add {
			m[rr.String()] = true
		}
	}
}

func (m model) equal(o model) bool {
	if len(m) != len(o) {
		return false
	}
	for k := range m {
		if !o[k] {
			return false
		}
	}
	return true
}

func TestIXFR(t *testing.T) {
	type want struct {
		upToDate, full bool
		deltas         []uint32 // serials the deltas go through, have first
		ixfrs, axfrs   int      // fake primary counters
	}
	tests := []struct {
		name    string
		history []uint32
		have    uint32
		mode    fakeprimary.Mode
		want    want
	}{
		{name: "up to date", history: []uint32{1, 2}, have: 2, want: want{upToDate: true, ixfrs: 1}},
		{name: "ours newer", history: []uint32{1, 2}, have: 3, want: want{upToDate: true, ixfrs: 1}},
		{name: "one delta", history: []uint32{1, 2}, have: 1, want: want{deltas: []uint32{1, 2}, ixfrs: 1}},
		{name: "three deltas", history: []uint32{1, 2, 3, 4}, have: 1, want: want{deltas: []uint32{1, 2, 3, 4}, ixfrs: 1}},
		{name: "two of three deltas", history: []uint32{1, 2, 3, 4}, have: 2, want: want{deltas: []uint32{2, 3, 4}, ixfrs: 1}},
		{name: "condensed", history: []uint32{1, 2, 3, 4}, have: 1, mode: fakeprimary.Mode{IXFR: fakeprimary.IXFRCondensed}, want: want{deltas: []uint32{1, 4}, ixfrs: 1}},
		{name: "across the serial wrap", history: []uint32{4294967290, 3, 9}, have: 4294967290, want: want{deltas: []uint32{4294967290, 3, 9}, ixfrs: 1}},
		{name: "serial not in history", history: []uint32{1, 2, 3}, have: 0, want: want{full: true, axfrs: 1}},
		{name: "AXFR-style answer", history: []uint32{1, 2, 3}, have: 1, mode: fakeprimary.Mode{IXFR: fakeprimary.IXFRAXFRStyle}, want: want{full: true, axfrs: 1}},
		{name: "AXFR-style answer, up to date", history: []uint32{1, 2, 3}, have: 3, mode: fakeprimary.Mode{IXFR: fakeprimary.IXFRAXFRStyle}, want: want{upToDate: true, axfrs: 1}},
	}
	k := key(dns.HmacSHA256)
	for _, tt := range tests {
		for _, perMsg := range []int{1, 4, 1000} {
			for _, signed := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/%d per message/tsig %t", tt.name, perMsg, signed), func(t *testing.T) {
					opts := []fakeprimary.Option{fakeprimary.WithPerMessage(perMsg), fakeprimary.WithMode(tt.mode)}
					peer := xfr.Peer{}
					if signed {
						opts = append(opts, fakeprimary.WithKey(k))
						peer.Key = k
					}
					srv := startVersions(t, tt.history, opts...)
					peer.Addr = srv.Addr
					cur := tt.history[len(tt.history)-1]

					var s sink
					res, err := xfr.IXFR(context.Background(), peer, zone, fakeprimary.SOA(zone, tt.have), quick, &s)
					if err != nil {
						t.Fatal(err)
					}
					if res.Serial != cur || res.UpToDate != tt.want.upToDate || res.Full != tt.want.full || res.Expire != -1 {
						t.Fatalf("result %+v, want serial %d, %+v", res, cur, tt.want)
					}
					if srv.IXFRs() != tt.want.ixfrs || srv.AXFRStyle() != tt.want.axfrs || srv.IXFRQueries() != 1 || srv.LastIXFRSerial() != tt.have {
						t.Errorf("server counted %d IXFRs, %d AXFR-style, %d IXFR queries with serial %d", srv.IXFRs(), srv.AXFRStyle(), srv.IXFRQueries(), srv.LastIXFRSerial())
					}
					switch {
					case tt.want.upToDate:
						if len(s.rrs) != 0 || res.Deltas != nil || res.Messages != 1 {
							t.Errorf("up to date, but %d records to the sink, %d deltas, %d messages", len(s.rrs), len(res.Deltas), res.Messages)
						}
					case tt.want.full:
						want := version(cur)
						if len(s.rrs) != len(want) || res.Records != len(want) || res.Deltas != nil {
							t.Fatalf("AXFR-style: sink %d records, result %d, %d deltas; want %d", len(s.rrs), res.Records, len(res.Deltas), len(want))
						}
						for i := range want {
							if s.rrs[i].String() != want[i].String() {
								t.Fatalf("record %d = %s, want %s", i, s.rrs[i], want[i])
							}
						}
					default:
						if len(s.rrs) != 0 {
							t.Errorf("incremental answer sent %d records to the sink", len(s.rrs))
						}
						var got []uint32
						n := 0
						for i, d := range res.Deltas {
							if i == 0 {
								got = append(got, d.From.Serial)
							}
							got = append(got, d.To.Serial)
							n += len(d.Del) + len(d.Add)
						}
						if !slices.Equal(got, tt.want.deltas) || n != res.Records {
							t.Fatalf("deltas through %v with %d records (result %d), want %v", got, n, res.Records, tt.want.deltas)
						}
						m := newModel(version(tt.have))
						m.apply(t, res.Deltas)
						if !m.equal(newModel(version(cur))) {
							t.Fatalf("deltas applied to serial %d do not give serial %d", tt.have, cur)
						}
					}
				})
			}
		}
	}
}

// TestIXFRAppliesToZone applies the deltas with zone.Apply, as the caller
// does, and compares with an AXFR of the same version.
func TestIXFRAppliesToZone(t *testing.T) {
	k := key(dns.HmacSHA512)
	srv := startVersions(t, []uint32{10, 11, 12, 13}, fakeprimary.WithKey(k), fakeprimary.WithPerMessage(3),
		fakeprimary.WithMode(fakeprimary.Mode{SignEvery: 4}))
	peer := xfr.Peer{Addr: srv.Addr, Key: k}

	b := zonepkg.NewBuilder(zone, zonepkg.DefaultLimits())
	for _, rr := range version(10) {
		if err := b.Add(rr); err != nil {
			t.Fatal(err)
		}
	}
	z, err := b.Zone()
	if err != nil {
		t.Fatal(err)
	}
	res, err := xfr.IXFR(context.Background(), peer, zone, z.SOA(), quick, &sink{})
	if err != nil || len(res.Deltas) != 3 {
		t.Fatalf("%+v, %v", res, err)
	}
	for _, d := range res.Deltas {
		if z, err = z.Apply(append(d.Del, d.From), append(d.Add, d.To)); err != nil {
			t.Fatal(err)
		}
	}
	b = zonepkg.NewBuilder(zone, zonepkg.DefaultLimits())
	if _, err := xfr.AXFR(context.Background(), peer, zone, quick, b); err != nil {
		t.Fatal(err)
	}
	want, err := b.Zone()
	if err != nil {
		t.Fatal(err)
	}
	if got, w := dump(z), dump(want); got != w || z.Serial() != 13 {
		t.Fatalf("after IXFR, serial %d:\n%s\nafter AXFR:\n%s", z.Serial(), got, w)
	}
	// A delta against another version does not apply: the caller falls back.
	res, err = xfr.IXFR(context.Background(), peer, zone, fakeprimary.SOA(zone, 11), quick, &sink{})
	if err != nil {
		t.Fatal(err)
	}
	old := zonepkg.NewBuilder(zone, zonepkg.DefaultLimits())
	for _, rr := range version(12) {
		old.Add(rr)
	}
	if z, err = old.Zone(); err != nil {
		t.Fatal(err)
	}
	if _, err := z.Apply(append(res.Deltas[0].Del, res.Deltas[0].From), append(res.Deltas[0].Add, res.Deltas[0].To)); !errors.Is(err, zonepkg.ErrNotFound) {
		t.Fatalf("delta 11->12 applied to 12: %v", err)
	}
}

func dump(z *zonepkg.Zone) string {
	var lines []string
	z.Walk(func(rrs []dns.RR) bool {
		for _, rr := range rrs {
			lines = append(lines, rr.String())
		}
		return true
	})
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// TestIXFRFallback runs every answer after which the caller should try
// AXFR, and checks that AXFR from the same primary then works.
func TestIXFRFallback(t *testing.T) {
	answer := func(rrs ...dns.RR) fakeprimary.Handler {
		return func(w *fakeprimary.Writer, req *dns.Msg) {
			m := new(dns.Msg)
			m.SetReply(req)
			m.Answer = rrs
			w.WriteMsg(m, true)
		}
	}
	soa := func(serial uint32) dns.RR { return fakeprimary.SOA(zone, serial) }
	a := version(1)[5]
	singleThenStall := func(w *fakeprimary.Writer, req *dns.Msg) {
		answer(soa(3))(w, req)
		w.Stall()
	}
	tests := []struct {
		name    string
		history []uint32 // default 1, 2, 3
		have    uint32   // default 1
		mode    fakeprimary.Mode
		opt     func(*xfr.Options)
		want    check
		queries int // IXFR queries the server should see; default 1
	}{
		{name: "NOTIMP", mode: fakeprimary.Mode{IXFR: fakeprimary.IXFRNotImp}, want: rcodeErr(dns.RcodeNotImplemented)},
		{name: "FORMERR", mode: fakeprimary.Mode{IXFR: fakeprimary.IXFRFormErr}, want: rcodeErr(dns.RcodeFormatError)},
		{name: "REFUSED", mode: fakeprimary.Mode{IXFR: fakeprimary.IXFRRefused}, want: rcodeErr(dns.RcodeRefused)},
		{name: "NOTIMP without EDNS", mode: fakeprimary.Mode{IXFR: fakeprimary.IXFRNotImp}, opt: func(o *xfr.Options) { o.NoEDNS = true }, want: rcodeErr(dns.RcodeNotImplemented)},
		{name: "empty answer", mode: fakeprimary.Mode{IXFR: fakeprimary.IXFREmpty}, want: is(xfr.ErrEmptyIXFR, "message 1: first message has no answer records")},
		{name: "broken chain in the middle", history: []uint32{1, 2, 3, 4}, mode: fakeprimary.Mode{IXFR: fakeprimary.IXFRBrokenChain}, want: protoErr("delta 2 starts at serial 3, previous ended at 2")},
		{name: "broken chain at the end", mode: fakeprimary.Mode{IXFR: fakeprimary.IXFRBrokenChain}, want: protoErr("delta 1 ends at serial 2, but the answer ends at 3")},
		{name: "delta past the current serial", history: []uint32{1, 2}, mode: fakeprimary.Mode{IXFR: fakeprimary.IXFRBrokenChain}, want: protoErr("delta 1 ends at serial 3, past the primary's current 2")},
		{name: "end SOA with other serial", mode: fakeprimary.Mode{WrongEndSerial: true}, want: protoErr("delta 3 starts at serial 4, previous ended at 3")},
		{name: "single newer SOA, connection closed", mode: fakeprimary.Mode{IXFR: fakeprimary.IXFRSingleSOA}, want: protoErr("answer is a single SOA of serial 3, newer than our 1, and nothing more")},
		{name: "single newer SOA, connection stalled", mode: fakeprimary.Mode{Handler: singleThenStall}, opt: func(o *xfr.Options) { o.IdleTimeout = 300 * time.Millisecond },
			want: protoErr("answer is a single SOA of serial 3, newer than our 1, and nothing more (no message for 300ms)")},
		{name: "too many changes", opt: func(o *xfr.Options) { o.MaxIXFRRecords = 5 }, want: protoErr("more than 5 changes: AXFR is cheaper")},
		{name: "first delta from another serial", mode: fakeprimary.Mode{Handler: answer(soa(3), soa(7), soa(8), soa(3))}, want: protoErr("delta 1 starts at serial 7, ours is 1")},
		{name: "delta not forward", mode: fakeprimary.Mode{Handler: answer(soa(3), soa(1), a, soa(1), soa(3))}, want: protoErr("delta 1 goes from serial 1 to 1, not forward")},
		{name: "delta backwards", mode: fakeprimary.Mode{Handler: answer(soa(3), soa(1), soa(2), soa(2), soa(4294967295), soa(3))}, want: protoErr("delta 2 goes from serial 2 to 4294967295, not forward")},
		{name: "SOA of another owner", mode: fakeprimary.Mode{Handler: answer(soa(3), soa(1), fakeprimary.SOA("sub."+zone, 1), soa(3), soa(3))}, want: protoErr("SOA for sub.example.com. inside zone")},
	}
	k := key(dns.HmacSHA256)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			history := tt.history
			if history == nil {
				history = []uint32{1, 2, 3}
			}
			have := tt.have
			if have == 0 {
				have = 1
			}
			srv := startVersions(t, history, fakeprimary.WithKey(k), fakeprimary.WithPerMessage(3), fakeprimary.WithMode(tt.mode))
			peer := xfr.Peer{Addr: srv.Addr, Key: k}
			opt := quick
			if tt.opt != nil {
				tt.opt(&opt)
			}
			var s sink
			res, err := xfr.IXFR(context.Background(), peer, zone, fakeprimary.SOA(zone, have), opt, &s)
			t.Log(err)
			if !errors.Is(err, xfr.ErrFallback) || !tt.want(err) {
				t.Fatalf("error %v, want fallback to AXFR and the right cause", err)
			}
			if !strings.HasPrefix(err.Error(), "ixfr from "+srv.Addr+": ") || !strings.HasSuffix(err.Error(), "(fall back to AXFR)") {
				t.Errorf("error %q", err)
			}
			if res.Deltas != nil || res.UpToDate || res.Full {
				t.Errorf("failed IXFR returned %+v", res)
			}
			queries := tt.queries
			if queries == 0 {
				queries = 1
			}
			if srv.IXFRQueries() != queries {
				t.Errorf("server saw %d IXFR queries, want %d", srv.IXFRQueries(), queries)
			}
			if tt.mode.Handler != nil {
				return
			}
			// AXFR from the same peer still works.
			axfrOpt := opt
			axfrOpt.IdleTimeout = quick.IdleTimeout
			ares, err := xfr.AXFR(context.Background(), peer, zone, axfrOpt, &sink{})
			if err != nil && !tt.mode.WrongEndSerial {
				t.Fatalf("AXFR after fallback: %v", err)
			}
			if err == nil && ares.Serial != history[len(history)-1] {
				t.Fatalf("AXFR after fallback: %+v", ares)
			}
		})
	}
}

// TestIXFRNoFallback runs failures that are not the primary's way of
// saying "no IXFR": they must not wrap ErrFallback, so that the caller
// retries later instead of pulling the whole zone at once.
func TestIXFRNoFallback(t *testing.T) {
	soa := func(serial uint32) dns.RR { return fakeprimary.SOA(zone, serial) }
	dataAfterEnd := func(w *fakeprimary.Writer, req *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(req)
		m.Answer = []dns.RR{soa(3), soa(1), soa(3), soa(3), version(3)[4]}
		w.WriteMsg(m, true)
	}
	k := key(dns.HmacSHA256)
	otherSecret := *k
	otherSecret.Secret = []byte("not the secret")
	tests := []struct {
		name   string
		mode   fakeprimary.Mode
		opt    func(*xfr.Options)
		client *xfr.Key
		want   check
	}{
		{name: "drop mid-stream", mode: fakeprimary.Mode{IXFRDropAfter: 2}, want: is(xfr.ErrTruncated, "connection closed after 2 messages, before the final SOA")},
		{name: "drop after the first message", mode: fakeprimary.Mode{IXFRDropAfter: 1}, want: is(xfr.ErrTruncated, "connection closed after 1 messages")},
		{name: "no final SOA", mode: fakeprimary.Mode{NoFinalSOA: true}, want: is(xfr.ErrTruncated, "before the final SOA")},
		{name: "stall mid-stream", mode: fakeprimary.Mode{StallAfter: 2}, opt: func(o *xfr.Options) { o.IdleTimeout = 300 * time.Millisecond }, want: is(xfr.ErrIdleTimeout, "after 2 messages")},
		{name: "SERVFAIL", mode: fakeprimary.Mode{Rcode: dns.RcodeServerFailure}, want: rcodeErr(dns.RcodeServerFailure)},
		{name: "NOTAUTH", mode: fakeprimary.Mode{Rcode: dns.RcodeNotAuth}, want: rcodeErr(dns.RcodeNotAuth)},
		{name: "corrupt MAC", mode: fakeprimary.Mode{CorruptMACAt: 3}, want: tsigErr(dns.RcodeBadSig, "tsig: BADSIG on message 3")},
		{name: "unsigned last", mode: fakeprimary.Mode{UnsignedLast: true}, want: tsigErr(0, "tsig: final message unsigned")},
		{name: "unsigned in a row", mode: fakeprimary.Mode{SignEvery: 3}, opt: func(o *xfr.Options) { o.MaxUnsigned = 1 }, want: tsigErr(0, "tsig: message 3 unsigned, more than 1 in a row")},
		{name: "client key wrong", client: &otherSecret, want: tsigErr(dns.RcodeBadSig, "BADSIG: reported by peer")},
		{name: "wrong ID", mode: fakeprimary.Mode{BadIDAt: 2}, want: protoErr("message 2: ID")},
		{name: "wrong question", mode: fakeprimary.Mode{BadQuestionAt: 1}, want: protoErr("message 1: question wrong.example.com. IN IXFR, want example.com. IN IXFR")},
		{name: "AXFR question", mode: fakeprimary.Mode{Handler: func(w *fakeprimary.Writer, req *dns.Msg) {
			m := new(dns.Msg)
			m.SetReply(req)
			m.Question[0].Qtype = dns.TypeAXFR
			m.Answer = []dns.RR{soa(3), soa(3)}
			w.WriteMsg(m, true)
		}}, want: protoErr("question example.com. IN AXFR, want example.com. IN IXFR")},
		{name: "data after the final SOA", mode: fakeprimary.Mode{Handler: dataAfterEnd}, want: protoErr("message 1: 1 record(s) after the final SOA")},
		{name: "AXFR-style, broken end", mode: fakeprimary.Mode{IXFR: fakeprimary.IXFRAXFRStyle, WrongEndSerial: true}, want: protoErr("SOA serial 4 mid-stream or at the end, want 3")},
		{name: "AXFR-style, mid-stream SOA", mode: fakeprimary.Mode{IXFR: fakeprimary.IXFRAXFRStyle, MidSOA: true}, want: protoErr("record(s) after the final SOA")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startVersions(t, []uint32{1, 2, 3}, fakeprimary.WithKey(k), fakeprimary.WithPerMessage(3), fakeprimary.WithMode(tt.mode))
			peer := xfr.Peer{Addr: srv.Addr, Key: k}
			if tt.client != nil {
				peer.Key = tt.client
			}
			opt := quick
			if tt.opt != nil {
				tt.opt(&opt)
			}
			res, err := xfr.IXFR(context.Background(), peer, zone, fakeprimary.SOA(zone, 1), opt, &sink{})
			if err == nil {
				t.Fatalf("accepted: %+v", res)
			}
			t.Log(err)
			if errors.Is(err, xfr.ErrFallback) || !tt.want(err) {
				t.Fatalf("error %v", err)
			}
			if res.Deltas != nil {
				t.Errorf("failed IXFR returned deltas")
			}
		})
	}
}

// TestIXFROutOfZone checks that records outside the zone in a delta are
// dropped and counted, as AXFR does.
func TestIXFROutOfZone(t *testing.T) {
	srv := startVersions(t, []uint32{1, 2, 3}, fakeprimary.WithPerMessage(5), fakeprimary.WithMode(fakeprimary.Mode{OutOfZone: 7}))
	res, err := xfr.IXFR(context.Background(), xfr.Peer{Addr: srv.Addr}, zone, fakeprimary.SOA(zone, 1), quick, &sink{})
	if err != nil {
		t.Fatal(err)
	}
	if res.OutOfZone != 7 || len(res.OutOfZoneNames) != 5 || res.OutOfZoneNames[0] != "oz0.out-of-zone.test." || len(res.Deltas) != 2 {
		t.Fatalf("result %+v", res)
	}
	m := newModel(version(1))
	m.apply(t, res.Deltas)
	if !m.equal(newModel(version(3))) {
		t.Fatal("deltas do not give version 3")
	}
}

// TestIXFRTSIG transfers incrementally with every algorithm, a large
// answer over many messages, only some of them signed.
func TestIXFRTSIG(t *testing.T) {
	for _, alg := range algorithms {
		t.Run(alg, func(t *testing.T) {
			k := key(alg)
			srv := fakeprimary.Start(t, zone, fakeprimary.Zone(zone, 1, 3000), fakeprimary.WithKey(k), fakeprimary.WithPerMessage(50),
				fakeprimary.WithMode(fakeprimary.Mode{SignEvery: 7}))
			srv.SetRecords(fakeprimary.Zone(zone, 2, 5000)) // 2000 additions
			srv.SetRecords(fakeprimary.Zone(zone, 3, 1000)) // 4000 deletions
			res, err := xfr.IXFR(context.Background(), xfr.Peer{Addr: srv.Addr, Key: k}, zone, fakeprimary.SOA(zone, 1), quick, &sink{})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Deltas) != 2 || len(res.Deltas[0].Add) != 2000 || len(res.Deltas[0].Del) != 0 || len(res.Deltas[1].Del) != 4000 || res.Records != 6000 || res.Messages != 121 {
				t.Fatalf("result: %d deltas, %d records in %d messages", len(res.Deltas), res.Records, res.Messages)
			}
		})
	}
}

// TestIXFRFromMiekg checks our client against miekg/dns's server-side
// TSIG and Transfer.Out, for every algorithm.
func TestIXFRFromMiekg(t *testing.T) {
	v1, v2, v3 := version(1), version(2), version(3)
	answer := func(r *dns.Msg) []dns.RR {
		have := r.Ns[0].(*dns.SOA).Serial
		if have == 3 {
			return []dns.RR{v3[0]}
		}
		out := []dns.RR{v3[0]}
		for _, step := range [][2][]dns.RR{{v1, v2}, {v2, v3}} {
			if step[0][0].(*dns.SOA).Serial < have {
				continue
			}
			del, add := diff(step[0], step[1])
			out = append(out, step[0][0])
			out = append(out, del...)
			out = append(out, step[1][0])
			out = append(out, add...)
		}
		return append(out, v3[0])
	}
	for _, alg := range algorithms {
		t.Run(alg, func(t *testing.T) {
			k := key(alg)
			addr, rejected := startMiekgWith(t, k, answer, 4)
			peer := xfr.Peer{Addr: addr, Key: k}
			for have, n := range map[uint32]int{1: 2, 2: 1} {
				res, err := xfr.IXFR(context.Background(), peer, zone, fakeprimary.SOA(zone, have), quick, &sink{})
				if err != nil {
					t.Fatalf("%v (server rejected %d requests)", err, rejected.Load())
				}
				if len(res.Deltas) != n || res.Serial != 3 {
					t.Fatalf("from %d: %+v", have, res)
				}
				m := newModel(version(have))
				m.apply(t, res.Deltas)
				if !m.equal(newModel(v3)) {
					t.Fatalf("from %d: deltas do not give version 3", have)
				}
			}
			res, err := xfr.IXFR(context.Background(), peer, zone, fakeprimary.SOA(zone, 3), quick, &sink{})
			if err != nil || !res.UpToDate {
				t.Fatalf("up to date: %+v, %v", res, err)
			}
		})
	}
}

// diff is what changed from version a to b, SOAs left out.
func diff(a, b []dns.RR) (del, add []dns.RR) {
	ma, mb := newModel(a), newModel(b)
	for _, rr := range a[1:] {
		if !mb[rr.String()] {
			del = append(del, rr)
		}
	}
	for _, rr := range b[1:] {
		if !ma[rr.String()] {
			add = append(add, rr)
		}
	}
	return del, add
}

func TestIXFRNoSOA(t *testing.T) {
	_, err := xfr.IXFR(context.Background(), xfr.Peer{Addr: "127.0.0.1:1"}, zone, nil, quick, &sink{})
	if err == nil || errors.Is(err, xfr.ErrFallback) {
		t.Fatalf("error %v", err)
	}
}

func TestIXFRCancel(t *testing.T) {
	srv := startVersions(t, []uint32{1, 2}, fakeprimary.WithPerMessage(2), fakeprimary.WithMode(fakeprimary.Mode{StallAfter: 1}))
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	_, err := xfr.IXFR(ctx, xfr.Peer{Addr: srv.Addr}, zone, fakeprimary.SOA(zone, 1), quick, &sink{})
	if !errors.Is(err, context.Canceled) || errors.Is(err, xfr.ErrFallback) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
}
