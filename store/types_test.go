package store

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/miekg/dns"
)

// TestEveryTypeRoundTrips feeds every RR type miekg/dns knows, and some it
// does not, random rdata as a transfer would bring it (unpacked from wire),
// and checks that the line appendRR writes parses back to the same wire
// form. This is what decides which RRs presentable lets through as
// String(): a failure here is an RR the saved file would lose or garble.
//
// The rdata is unpacked the way dns.UnpackRR does it, from a message that
// ends where the rdata does; miekg/dns then accepts rdata cut short after
// any field, so such odd RRs can come from any broken primary.
func TestEveryTypeRoundTrips(t *testing.T) {
	types := []uint16{65280, 65534, 4321}
	for tt := range dns.TypeToRR {
		types = append(types, tt)
	}
	slices.Sort(types)
	r := rand.New(rand.NewPCG(1, 2))
	for _, tt := range types {
		if meta(tt) {
			continue
		}
		ok, generic, refused := 0, 0, 0
		for i := range 3000 {
			rd := randomRdata(r, i)
			h := dns.RR_Header{Name: "x.example.", Rrtype: tt, Class: dns.ClassINET, Ttl: 300, Rdlength: uint16(len(rd))}
			rr, off, err := dns.UnpackRRWithHeader(h, rd, 0)
			if err != nil || off != len(rd) {
				continue
			}
			want, err := packRR(rr)
			if err != nil {
				continue // cannot be served either
			}
			b, err := appendRR(nil, rr)
			if err != nil {
				// SaveZone fails: safe, but only rdata cut short
				// should get here.
				refused++
				if testing.Verbose() {
					t.Logf("%s: refused: %v", dns.Type(tt), err)
				}
				continue
			}
			line := string(b)
			back, err := parseLine(line)
			if err != nil {
				t.Errorf("%s: %q does not parse: %v", dns.Type(tt), line, err)
				continue
			}
			got, err := packRR(back)
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("%s: %q parses to %q: wire\n%x, want\n%x", dns.Type(tt), line, back, got, want)
				continue
			}
			ok++
			if !presentable(rr, rr.String()) {
				generic++
			}
		}
		if testing.Verbose() {
			t.Logf("%-10s %4d round trips, %4d of them in generic form, %4d refused", dns.Type(tt), ok, generic, refused)
		}
	}
}

// randomRdata makes rdata likely to unpack: short, with many small octets
// (label lengths, counts), and now and then empty.
func randomRdata(r *rand.Rand, i int) []byte {
	n := r.IntN(48)
	if i < 8 {
		n = i
	}
	rd := make([]byte, n)
	for j := range rd {
		switch r.IntN(4) {
		case 0:
			rd[j] = byte(r.IntN(8))
		case 1:
			rd[j] = "abcxyz019-_.\\\"();@ \t"[r.IntN(20)]
		default:
			rd[j] = byte(r.IntN(256))
		}
	}
	return rd
}

// meta: the types package zone refuses (it holds no OPT, TSIG...).
func meta(t uint16) bool {
	switch t {
	case dns.TypeNone, dns.TypeOPT, dns.TypeTKEY, dns.TypeTSIG, dns.TypeIXFR,
		dns.TypeAXFR, dns.TypeMAILB, dns.TypeMAILA, dns.TypeANY:
		return true
	}
	return false
}
