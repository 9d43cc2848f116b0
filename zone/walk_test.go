package zone

import (
	"slices"
	"testing"

	"github.com/miekg/dns"
)

func TestWalk(t *testing.T) {
	z := testZone(t)
	var names []string
	total := 0
	z.Walk(func(rrs []dns.RR) bool {
		if len(rrs) == 0 {
			t.Fatal("Walk gave an empty group")
		}
		owner := rrs[0].Header().Name
		for _, rr := range rrs {
			if rr.Header().Name != owner {
				t.Errorf("group of %s holds %s", owner, rr)
			}
		}
		if len(names) == 0 {
			if _, ok := rrs[0].(*dns.SOA); !ok || !equalName(owner, testOrigin) {
				t.Errorf("first RR is %s, want the SOA", rrs[0])
			}
		}
		// Each RRSIG directly follows the RRset it covers, if there is one.
		for i, rr := range rrs {
			if s, ok := rr.(*dns.RRSIG); ok && i > 0 {
				prev := rrs[i-1]
				if p, ok := prev.(*dns.RRSIG); ok {
					if p.TypeCovered != s.TypeCovered {
						t.Errorf("%s follows %s", s, p)
					}
				} else if prev.Header().Rrtype != s.TypeCovered {
					t.Errorf("%s follows %s", s, prev)
				}
			}
		}
		names = append(names, owner)
		total += len(rrs)
		return true
	})
	if total != z.Len() {
		t.Errorf("Walk saw %d RRs, Len is %d", total, z.Len())
	}
	if !slices.IsSortedFunc(names, canonical) {
		t.Errorf("names not in canonical order: %v", names)
	}
	if len(slices.Compact(slices.Clone(names))) != len(names) {
		t.Errorf("a name came twice: %v", names)
	}
	// The ENTs are not walked: their names are not there.
	for _, ent := range []string{"ent.example.org.", "b.wild.example.org.", "dtarget.example.org."} {
		if slices.ContainsFunc(names, func(n string) bool { return equalName(n, ent) }) {
			t.Errorf("empty non-terminal %s walked", ent)
		}
	}

	n := 0
	z.Walk(func([]dns.RR) bool { n++; return n < 3 })
	if n != 3 {
		t.Errorf("Walk went on after false: %d calls", n)
	}
}
