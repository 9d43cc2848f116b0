package xfr

import (
	"encoding/binary"
	"errors"
	"fmt"
	"testing"

	"github.com/miekg/dns"
)

const fuzzID = 0x1234

// fuzzKey and fuzzRequestMAC set up the client side of a signed exchange
// with a fixed clock, so that seeds stay valid.
var fuzzKey = testKey(dns.HmacSHA256)

func fuzzRequestMAC() []byte {
	s, _ := NewSigner(fuzzKey, nil)
	s.Now = fixedClock(testNow)
	s.Sign(request(fuzzID))
	return s.MAC()
}

// fuzzStream builds a good AXFR response stream, length-prefixed as on
// TCP, with messages of per records; with sign, every every-th message and
// the last are signed.
func fuzzStream(sign bool, n, per, every int) []byte {
	rrs := []dns.RR{}
	soa := fuzzSOA(5)
	rrs = append(rrs, soa)
	for i := range n {
		rrs = append(rrs, fuzzA(i))
	}
	rr, _ := dns.NewRR("out.example.net. 300 IN A 192.0.2.1")
	rrs = append(rrs, rr, soa)
	return fuzzMessages(dns.TypeAXFR, rrs, sign, per, every)
}

func fuzzSOA(serial uint32) *dns.SOA {
	rr, _ := dns.NewRR(fmt.Sprintf("example.com. 3600 IN SOA ns1.example.com. hostmaster.example.com. %d 3600 600 604800 300", serial))
	return rr.(*dns.SOA)
}

func fuzzA(i int) dns.RR {
	rr, _ := dns.NewRR(fmt.Sprintf("h%d.example.com. 300 IN A 192.0.2.%d", i, i%250))
	return rr
}

// fuzzMessages packs rrs into a response stream to a qtype query, as
// fuzzStream describes. The first message carries an EXPIRE option.
func fuzzMessages(qtype uint16, rrs []dns.RR, sign bool, per, every int) []byte {
	s, _ := NewSigner(fuzzKey, fuzzRequestMAC())
	s.Now = fixedClock(testNow)
	var out []byte
	for i := 0; len(rrs) > 0; i++ {
		k := min(per, len(rrs))
		m := new(dns.Msg)
		m.Id = fuzzID
		m.Response = true
		if i == 0 {
			m.Question = []dns.Question{{Name: "example.com.", Qtype: qtype, Qclass: dns.ClassINET}}
			o := newOPT()
			o.Option = []dns.EDNS0{&dns.EDNS0_EXPIRE{Code: dns.EDNS0EXPIRE, Expire: 86400}}
			m.Extra = []dns.RR{o}
		}
		m.Answer = rrs[:k]
		rrs = rrs[k:]
		wire, _ := m.Pack()
		if sign && (i%every == 0 || len(rrs) == 0) {
			wire, _ = s.Sign(wire)
		} else if sign {
			s.Skip(wire)
		}
		out = binary.BigEndian.AppendUint16(out, uint16(len(wire)))
		out = append(out, wire...)
	}
	return out
}

type countSink struct{ n int }

func (c *countSink) Add(dns.RR) error { c.n++; return nil }

// runStream feeds length-prefixed messages to a stream and checks the
// invariants of an accepted transfer.
func runStream(t *testing.T, data []byte, signed bool) (Result, error) {
	var v *Verifier
	if signed {
		v, _ = NewVerifier(fuzzKey, fuzzRequestMAC())
		v.Now = fixedClock(testNow)
	}
	var sink countSink
	s := newStream("example.com.", fuzzID, v, &sink)
	return feed(t, s, data, &sink)
}

// feed feeds length-prefixed messages to s and checks the invariants of an
// accepted transfer.
func feed(t *testing.T, s *stream, data []byte, sink *countSink) (Result, error) {
	signed := s.verify != nil
	for len(data) > 0 {
		n := len(data)
		if len(data) >= 2 {
			n = min(int(binary.BigEndian.Uint16(data)), len(data)-2)
			data = data[2:]
		}
		msg := data[:n]
		data = data[n:]
		done, err := s.add(msg)
		if err != nil {
			return s.res, err
		}
		if done {
			if s.soa == nil || s.res.Serial != s.soa.Serial || s.res.Expire != -1 && s.res.Expire != 86400 {
				t.Fatalf("accepted inconsistent transfer: %+v", s.res)
			}
			if s.ix == nil || s.ix.kind == ixFull {
				if sink.n != s.res.Records || sink.n < 1 {
					t.Fatalf("accepted inconsistent transfer: %+v, sink %d", s.res, sink.n)
				}
			} else {
				checkIXFR(t, s, sink)
			}
			if signed && !s.verify.last {
				t.Fatal("accepted transfer whose last message was unsigned")
			}
			return s.res, nil
		}
	}
	return s.res, s.truncated(nil)
}

func TestStreamSeeds(t *testing.T) {
	for _, tt := range []struct {
		sign             bool
		n, per, every    int
		records, outZone int
	}{
		{false, 10, 5, 1, 11, 1},
		{true, 10, 5, 1, 11, 1},
		{true, 30, 2, 4, 31, 1},
		{true, 0, 1, 1, 1, 1},
	} {
		res, err := runStream(t, fuzzStream(tt.sign, tt.n, tt.per, tt.every), tt.sign)
		if err != nil || res.Records != tt.records || res.OutOfZone != tt.outZone {
			t.Errorf("%+v: %+v, %v", tt, res, err)
		}
	}
	// Cut anywhere, a stream must not be accepted.
	full := fuzzStream(true, 10, 3, 2)
	for i := range len(full) - 1 {
		if _, err := runStream(t, full[:i], true); err == nil {
			t.Fatalf("stream cut at %d accepted", i)
		}
	}
}

func FuzzAXFRStream(f *testing.F) {
	f.Add(fuzzStream(false, 10, 5, 1), false)
	f.Add(fuzzStream(true, 10, 5, 1), true)
	f.Add(fuzzStream(true, 30, 2, 4), true)
	f.Add(fuzzStream(true, 0, 1, 1), true)
	f.Fuzz(func(t *testing.T, data []byte, signed bool) {
		runStream(t, data, signed)
	})
}

// checkIXFR checks an accepted IXFR answer that was not AXFR-style.
func checkIXFR(t *testing.T, s *stream, sink *countSink) {
	x := s.ix
	if sink.n != 0 {
		t.Fatalf("%d records went to the sink of an incremental answer", sink.n)
	}
	switch x.kind {
	case ixUpToDate:
		if serialNewer(s.soa.Serial, x.have) || len(x.deltas) != 0 || !s.stop {
			t.Fatalf("up to date with serial %d, ours %d, %d deltas", s.soa.Serial, x.have, len(x.deltas))
		}
		return
	case ixIncremental:
	default:
		t.Fatalf("accepted an answer of kind %d", x.kind)
	}
	prev, n := x.have, 0
	for i, d := range x.deltas {
		if d.From == nil || d.To == nil || d.From.Serial != prev || !serialNewer(d.To.Serial, d.From.Serial) {
			t.Fatalf("delta %d of %d breaks the chain: %v -> %v after %d", i+1, len(x.deltas), d.From, d.To, prev)
		}
		for _, rr := range append(append([]dns.RR{}, d.Del...), d.Add...) {
			if rr.Header().Rrtype == dns.TypeSOA || !dns.IsSubDomain("example.com.", rr.Header().Name) {
				t.Fatalf("delta %d holds %s", i+1, rr)
			}
		}
		prev = d.To.Serial
		n += len(d.Del) + len(d.Add)
	}
	if len(x.deltas) == 0 || prev != s.soa.Serial || n != s.res.Records {
		t.Fatalf("%d deltas end at %d, answer at %d; %d records, counted %d", len(x.deltas), prev, s.soa.Serial, n, s.res.Records)
	}
}

// runIXFRStream is runStream for an IXFR asked with serial have.
func runIXFRStream(t *testing.T, data []byte, signed bool, have uint32, maxRecords int) (Result, error) {
	var v *Verifier
	if signed {
		v, _ = NewVerifier(fuzzKey, fuzzRequestMAC())
		v.Now = fixedClock(testNow)
	}
	var sink countSink
	s := newStream("example.com.", fuzzID, v, &sink)
	s.qtype = dns.TypeIXFR
	s.ix = &ixfrState{have: have, max: maxRecords}
	return feed(t, s, data, &sink)
}

// ixfrSeed returns an incremental answer from serial 2 to 5 in three
// deltas, with an out-of-zone record in the last.
func ixfrSeed(sign bool, per, every int) []byte {
	out, _ := dns.NewRR("out.example.net. 300 IN A 192.0.2.1")
	rrs := []dns.RR{
		fuzzSOA(5),
		fuzzSOA(2), fuzzA(1), fuzzA(2), fuzzSOA(3), fuzzA(3),
		fuzzSOA(3), fuzzSOA(4), fuzzA(4), fuzzA(5),
		fuzzSOA(4), fuzzA(3), fuzzSOA(5), out, fuzzA(1),
		fuzzSOA(5),
	}
	return fuzzMessages(dns.TypeIXFR, rrs, sign, per, every)
}

func TestIXFRStreamSeeds(t *testing.T) {
	for _, tt := range []struct {
		name      string
		data      []byte
		sign      bool
		have      uint32
		max       int
		kind      int
		records   int
		deltas    int
		fallback  bool
		truncated bool
	}{
		{name: "incremental", data: ixfrSeed(false, 3, 1), have: 2, kind: ixIncremental, records: 7, deltas: 3},
		{name: "incremental signed", data: ixfrSeed(true, 1, 5), sign: true, have: 2, kind: ixIncremental, records: 7, deltas: 3},
		{name: "incremental in one message", data: ixfrSeed(true, 100, 1), sign: true, have: 2, kind: ixIncremental, records: 7, deltas: 3},
		{name: "too many changes", data: ixfrSeed(false, 3, 1), have: 2, max: 6, fallback: true},
		{name: "just enough changes", data: ixfrSeed(false, 3, 1), have: 2, max: 7, kind: ixIncremental, records: 7, deltas: 3},
		{name: "asked from another serial", data: ixfrSeed(false, 3, 1), have: 1, fallback: true},
		{name: "up to date", data: fuzzMessages(dns.TypeIXFR, []dns.RR{fuzzSOA(5)}, true, 1, 1), sign: true, have: 5, kind: ixUpToDate},
		{name: "newer than the primary", data: fuzzMessages(dns.TypeIXFR, []dns.RR{fuzzSOA(5)}, false, 1, 1), have: 6, kind: ixUpToDate},
		{name: "lone newer SOA", data: fuzzMessages(dns.TypeIXFR, []dns.RR{fuzzSOA(5)}, false, 1, 1), have: 4, fallback: true},
		{name: "lone newer SOA, then more", data: fuzzMessages(dns.TypeIXFR, []dns.RR{fuzzSOA(5), fuzzA(1)}, false, 1, 1), have: 4, truncated: true},
		{name: "AXFR-style", data: fuzzMessages(dns.TypeIXFR, []dns.RR{fuzzSOA(5), fuzzA(1), fuzzA(2), fuzzSOA(5)}, true, 2, 1), sign: true, have: 4, kind: ixFull, records: 3},
		{name: "AXFR-style of a bare SOA", data: fuzzMessages(dns.TypeIXFR, []dns.RR{fuzzSOA(5), fuzzSOA(5)}, false, 2, 1), have: 4, kind: ixFull, records: 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res, err := runIXFRStream(t, tt.data, tt.sign, tt.have, tt.max)
			switch {
			case tt.fallback:
				if !errors.Is(err, ErrFallback) {
					t.Fatalf("error %v, want fallback", err)
				}
				return
			case tt.truncated:
				if !errors.Is(err, ErrTruncated) || errors.Is(err, ErrFallback) {
					t.Fatalf("error %v, want truncated", err)
				}
				return
			case err != nil:
				t.Fatal(err)
			}
			if res.Records != tt.records || res.Expire != 86400 {
				t.Errorf("result %+v, want %d records, expire 86400", res, tt.records)
			}
			if tt.kind == ixIncremental && res.OutOfZone != 1 {
				t.Errorf("%d out of zone, want 1", res.OutOfZone)
			}
		})
	}
	// Cut anywhere, an answer must not be accepted.
	full := ixfrSeed(true, 2, 2)
	for i := range len(full) - 1 {
		if _, err := runIXFRStream(t, full[:i], true, 2, 0); err == nil {
			t.Fatalf("answer cut at %d accepted", i)
		}
	}
}

func FuzzIXFRStream(f *testing.F) {
	f.Add(ixfrSeed(false, 3, 1), false, uint32(2))
	f.Add(ixfrSeed(true, 1, 5), true, uint32(2))
	f.Add(ixfrSeed(true, 100, 1), true, uint32(2))
	f.Add(fuzzMessages(dns.TypeIXFR, []dns.RR{fuzzSOA(5)}, true, 1, 1), true, uint32(5))
	f.Add(fuzzMessages(dns.TypeIXFR, []dns.RR{fuzzSOA(5), fuzzA(1), fuzzA(2), fuzzSOA(5)}, false, 2, 1), false, uint32(4))
	f.Fuzz(func(t *testing.T, data []byte, signed bool, have uint32) {
		runIXFRStream(t, data, signed, have, 0)
	})
}

func FuzzVerifyTSIG(f *testing.F) {
	s, _ := NewSigner(fuzzKey, fuzzRequestMAC())
	s.Now = fixedClock(testNow)
	first, _ := s.Sign(response(fuzzID, 0, 3))
	second := response(fuzzID, 3, 2)
	s.Skip(second)
	third, _ := s.Sign(response(fuzzID, 5, 1))
	f.Add(first, second, third)
	f.Add(first, []byte{}, []byte{0})
	f.Fuzz(func(t *testing.T, a, b, c []byte) {
		v, _ := NewVerifier(fuzzKey, fuzzRequestMAC())
		v.Now = fixedClock(testNow)
		for _, msg := range [][]byte{a, b, c} {
			if _, err := v.Verify(msg); err != nil {
				return
			}
		}
		v.Finish()
	})
}
