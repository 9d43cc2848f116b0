package zone

import (
	"errors"
	"fmt"
	"testing"

	"github.com/coredns/coredns/plugin/test"
	"github.com/miekg/dns"
)

func rr(s string) dns.RR {
	r, err := dns.NewRR(s)
	if err != nil {
		panic(err)
	}
	return r
}

const (
	oldSOA = "example.org. 3600 IN SOA ns1.example.org. hostmaster.example.org. 2024010101 7200 3600 1209600 300"
	newSOA = "example.org. 3600 IN SOA ns1.example.org. hostmaster.example.org. 2024010102 7200 3600 1209600 300"
)

func TestApply(t *testing.T) {
	old := testZone(t)
	before := dump(old)
	z, err := old.Apply(
		[]dns.RR{
			rr(oldSOA),
			rr("www.example.org. 3600 IN A 192.0.2.80"),
			rr("a.ent.example.org. 3600 IN A 192.0.2.10"), // ent and a.ent go away
			rr("exists.wild.example.org. 3600 IN A 192.0.2.30"),
		},
		[]dns.RR{
			rr(newSOA),
			rr("www.example.org. 3600 IN A 192.0.2.88"),
			rr("x.y.new.example.org. 3600 IN A 192.0.2.40"), // with ENTs y.new and new
			rr("sub3.example.org. 3600 IN NS ns.sub3.example.org."),
			rr("ns.sub3.example.org. 3600 IN A 192.0.2.41"),
		},
	)
	if err != nil {
		t.Fatal(err)
	}
	if dump(old) != before {
		t.Fatal("Apply changed the old zone")
	}
	if z.Serial() != 2024010102 || z.Len() != old.Len()+1 {
		t.Errorf("Serial %d, Len %d; want 2024010102, %d", z.Serial(), z.Len(), old.Len()+1)
	}
	negNew := test.SOA("example.org. 300 IN SOA ns1.example.org. hostmaster.example.org. 2024010102 7200 3600 1209600 300")
	for _, tc := range []test.Case{
		{
			Qname: "www.example.org.", Qtype: dns.TypeA, Authoritative: true,
			Answer: []dns.RR{test.A("www.example.org. 3600 IN A 192.0.2.88"), wwwSig},
			Do:     true,
		},
		{
			Qname: "ent.example.org.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Authoritative: true,
			Ns: []dns.RR{negNew},
		},
		{
			Qname: "exists.wild.example.org.", Qtype: dns.TypeTXT, Authoritative: true, // now the wildcard
			Answer: []dns.RR{test.TXT(`exists.wild.example.org. 3600 IN TXT "wildcard"`)},
		},
		{
			Qname: "new.example.org.", Qtype: dns.TypeA, Authoritative: true,
			Ns: []dns.RR{negNew},
		},
		{
			Qname: "x.y.new.example.org.", Qtype: dns.TypeA, Authoritative: true,
			Answer: []dns.RR{test.A("x.y.new.example.org. 3600 IN A 192.0.2.40")},
		},
		{
			Qname: "www.sub3.example.org.", Qtype: dns.TypeA,
			Ns:    []dns.RR{test.NS("sub3.example.org. 3600 IN NS ns.sub3.example.org.")},
			Extra: []dns.RR{test.A("ns.sub3.example.org. 3600 IN A 192.0.2.41")},
		},
	} {
		t.Run(caseName(tc), func(t *testing.T) { check(t, z, tc, false) })
	}
	// The old version still answers as before.
	for _, tc := range lookupCases {
		t.Run("old/"+caseName(tc), func(t *testing.T) { check(t, old, tc, false) })
	}

	// Undo: the diff back gives the original zone.
	back, err := z.Apply(
		[]dns.RR{
			rr(newSOA),
			rr("www.example.org. 3600 IN A 192.0.2.88"),
			rr("x.y.new.example.org. 3600 IN A 192.0.2.40"),
			rr("sub3.example.org. 3600 IN NS ns.sub3.example.org."),
			rr("ns.sub3.example.org. 3600 IN A 192.0.2.41"),
		},
		[]dns.RR{
			rr(oldSOA),
			rr("www.example.org. 3600 IN A 192.0.2.80"),
			rr("a.ent.example.org. 3600 IN A 192.0.2.10"),
			rr("exists.wild.example.org. 3600 IN A 192.0.2.30"),
		},
	)
	if err != nil {
		t.Fatal(err)
	}
	if back.Names() != old.Names() {
		t.Errorf("%d names after undo, want %d", back.Names(), old.Names())
	}
	for _, tc := range lookupCases {
		t.Run("back/"+caseName(tc), func(t *testing.T) { check(t, back, tc, false) })
	}
}

func TestApplyErrors(t *testing.T) {
	z := testZone(t)
	for _, tc := range []struct {
		name     string
		lim      Limits
		del, add []dns.RR
		is       error
	}{
		{name: "delete missing", del: []dns.RR{rr("www.example.org. IN A 192.0.2.99")}, is: ErrNotFound},
		{name: "delete missing name", del: []dns.RR{rr("nope.example.org. IN A 192.0.2.99")}, is: ErrNotFound},
		{name: "out of zone", add: []dns.RR{rr("www.example.com. IN A 192.0.2.99")}, is: ErrOutOfZone},
		{name: "CNAME and data", add: []dns.RR{rr("c1.example.org. IN A 192.0.2.99")}, is: ErrInvalid},
		{name: "no SOA", del: []dns.RR{rr(oldSOA)}, is: ErrInvalid},
		{name: "two SOAs", add: []dns.RR{rr(newSOA)}, is: ErrInvalid},
		{
			name: "records", lim: Limits{Records: z.Len()},
			add: []dns.RR{rr("x.example.org. IN A 192.0.2.99")}, is: ErrLimit,
		},
		{
			name: "records per type", lim: Limits{RecordsPerType: 2},
			add: []dns.RR{rr("www.example.org. IN A 192.0.2.98"), rr("www.example.org. IN A 192.0.2.99")}, is: ErrLimit,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			z := z
			if tc.lim != (Limits{}) {
				z = testZoneLimits(t, tc.lim)
			}
			if _, err := z.Apply(tc.del, tc.add); !errors.Is(err, tc.is) {
				t.Errorf("got %v, want %v", err, tc.is)
			}
		})
	}
}

// TestApplyTTL lowers an RRset's TTL through Apply: the old version must
// keep its TTLs, as the RRs are shared.
func TestApplyTTL(t *testing.T) {
	old := testZone(t)
	z, err := old.Apply(nil, []dns.RR{rr("www.example.org. 60 IN A 192.0.2.81")})
	if err != nil {
		t.Fatal(err)
	}
	for _, rr := range z.Lookup(Request{Name: "www.example.org.", Type: dns.TypeA}).Answer {
		if rr.Header().Ttl != 60 {
			t.Errorf("new: %s, want TTL 60", rr)
		}
	}
	for _, rr := range old.Lookup(Request{Name: "www.example.org.", Type: dns.TypeA}).Answer {
		if rr.Header().Ttl != 3600 {
			t.Errorf("old: %s, want TTL 3600", rr)
		}
	}
}

// TestApplyConcurrent applies diffs while other goroutines query the old
// version; run with -race.
func TestApplyConcurrent(t *testing.T) {
	z := testZone(t)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 50 {
			for _, tc := range lookupCases {
				z.Lookup(Request{Name: tc.Qname, Type: tc.Qtype, DO: tc.Do})
			}
		}
	}()
	cur := z
	for i := range 50 {
		next, err := cur.Apply(nil, []dns.RR{rr(fmt.Sprintf("www.example.org. 3600 IN A 10.0.0.%d", i))})
		if err != nil {
			t.Fatal(err)
		}
		cur = next
		// Apply to z itself too: two clones of one tree.
		if _, err := z.Apply(nil, []dns.RR{rr("new.example.org. 3600 IN A 10.0.0.1")}); err != nil {
			t.Fatal(err)
		}
	}
	<-done
}

func TestApplyNoop(t *testing.T) {
	z := testZone(t)
	n, err := z.Apply(nil, []dns.RR{rr("www.example.org. 3600 IN A 192.0.2.80")})
	if err != nil {
		t.Fatal(err)
	}
	if dump(n) != dump(z) || n.Len() != z.Len() || n.Bytes() != z.Bytes() {
		t.Error("adding an existing RR changed the zone")
	}
}

// TestApplyLeavesDel: Apply does not own the RRs it deletes; they come out as they went in
// (packing one would set its RDLENGTH, and a caller may be sending it elsewhere).
func TestApplyLeavesDel(t *testing.T) {
	del := []dns.RR{rr(oldSOA), rr("www.example.org. 3600 IN A 192.0.2.80")}
	before := fmt.Sprint(del, del[0].Header().Rdlength, del[1].Header().Rdlength)
	if _, err := testZone(t).Apply(del, []dns.RR{rr(newSOA)}); err != nil {
		t.Fatal(err)
	}
	if after := fmt.Sprint(del, del[0].Header().Rdlength, del[1].Header().Rdlength); after != before {
		t.Errorf("del changed:\n got %s\nwant %s", after, before)
	}
}
