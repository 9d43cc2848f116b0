package zone

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/miekg/dns"
)

// checkIndex asserts that z's index finds exactly the nodes of its tree, and nothing for keys
// the tree does not have.
func checkIndex(t *testing.T, z *Zone, absent []string) {
	t.Helper()
	n := 0
	z.tree.ascend(nil, func(x *node) bool {
		n++
		if got := z.idx.get(x.key); got != x {
			t.Fatalf("serial %d: index has %p for %q, the tree %p", z.Serial(), got, x.key, x)
		}
		return true
	})
	if z.idx.n != n {
		t.Errorf("serial %d: index counts %d names, the tree has %d", z.Serial(), z.idx.n, n)
	}
	var probe node
	for _, key := range absent {
		probe.key = key
		if z.tree.get(&probe) == nil && z.idx.get(key) != nil {
			t.Fatalf("serial %d: index has %q, the tree does not", z.Serial(), key)
		}
	}
}

// TestIndexFollowsApply: through a run of random IXFR-like diffs (names added, deleted, with
// their empty non-terminals coming and going, the zone growing well past the shards it was
// built with), every version's index agrees with its tree, and older versions keep theirs.
func TestIndexFollowsApply(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	name := func(i int) string { return fmt.Sprintf("h%d.g%d.example.org.", i, i%7) }
	a := func(i int) dns.RR { return rr(fmt.Sprintf("%s 3600 IN A 192.0.2.%d", name(i), i%250+1)) }
	soa := func(serial int) dns.RR {
		return rr(fmt.Sprintf("example.org. 3600 IN SOA ns1.example.org. hostmaster.example.org. %d 7200 3600 1209600 300", serial))
	}

	b := NewBuilder(testOrigin, DefaultLimits())
	b.Add(soa(1))
	have := map[int]bool{}
	for i := range 200 {
		b.Add(a(i))
		have[i] = true
	}
	z, err := b.Zone()
	if err != nil {
		t.Fatal(err)
	}
	absent := []string{"", "org\x00", "zzz\x00", keyOf("h999999.g0.example.org.")}
	versions := []*Zone{z}
	for serial := 2; serial < 80; serial++ {
		del, add := []dns.RR{soa(serial - 1)}, []dns.RR{soa(serial)}
		touched := map[int]bool{}
		for range r.IntN(80) {
			i := r.IntN(2000)
			if touched[i] {
				continue // one diff deletes first, then adds: a name once per diff
			}
			touched[i] = true
			switch {
			case have[i] && r.IntN(2) == 0:
				del = append(del, a(i))
				delete(have, i)
			case !have[i]:
				add = append(add, a(i))
				have[i] = true
			}
		}
		if z, err = z.Apply(del, add); err != nil {
			t.Fatalf("serial %d: %v", serial, err)
		}
		versions = append(versions, z)
		checkIndex(t, z, absent)
	}
	for _, v := range versions {
		checkIndex(t, v, absent)
	}
	if first, last := len(versions[0].idx.shards), len(z.idx.shards); last <= first {
		t.Errorf("%d names in %d shards, as many as the first version's: the index was never rebuilt", len(have), last)
	}
}

// keyOf returns the key of name relative to example.org.
func keyOf(name string) string {
	var k keyBuf
	k.set(name)
	var o keyBuf
	o.set(testOrigin)
	return k.rel(k.labels, o.n)
}
