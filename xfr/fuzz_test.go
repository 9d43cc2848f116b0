package xfr

import (
	"encoding/binary"
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
	soa, _ := dns.NewRR("example.com. 3600 IN SOA ns1.example.com. hostmaster.example.com. 5 3600 600 604800 300")
	rrs = append(rrs, soa)
	for i := range n {
		rr, _ := dns.NewRR(fmt.Sprintf("h%d.example.com. 300 IN A 192.0.2.%d", i, i%250))
		rrs = append(rrs, rr)
	}
	rr, _ := dns.NewRR("out.example.net. 300 IN A 192.0.2.1")
	rrs = append(rrs, rr, soa)
	s, _ := NewSigner(fuzzKey, fuzzRequestMAC())
	s.Now = fixedClock(testNow)
	var out []byte
	for i := 0; len(rrs) > 0; i++ {
		k := min(per, len(rrs))
		m := new(dns.Msg)
		m.Id = fuzzID
		m.Response = true
		if i == 0 {
			m.Question = []dns.Question{{Name: "example.com.", Qtype: dns.TypeAXFR, Qclass: dns.ClassINET}}
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
			if s.soa == nil || s.res.Serial != s.soa.Serial || sink.n != s.res.Records || sink.n < 1 {
				t.Fatalf("accepted inconsistent transfer: %+v, sink %d", s.res, sink.n)
			}
			if signed && !v.last {
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
