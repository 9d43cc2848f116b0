package zone

import (
	"hash/maphash"
)

// index finds a node by its exact key. A query looks names up exactly, one
// or a few per answer, and in a big zone the B-tree's binary searches cost
// a dozen cache misses each; the index costs about four: the shard, its
// slot, the node, the key.
//
// It is a hash table cut into shards of about shardSize names, each an
// open-addressed table with linear probing that is never changed once
// published: an IXFR copies the list of shards and rebuilds only the
// shards of the names it touched, so it stays cheap in a big zone, and a
// query reading the old version is never disturbed. The B-tree stays for
// everything that needs order (NSEC, walks, neighbours).
type index struct {
	shards []*shard // a power of two of them
	n      int
}

type shard struct {
	slots []slot // at most 3/4 full
}

// A slot holds a node and the hash of its key; h is 0 for an empty slot
// (hashKey never returns 0).
type slot struct {
	h uint64
	n *node
}

// shardSize is the number of names a shard is built for.
const shardSize = 32

// seed is per process: an index is never stored.
var seed = maphash.MakeSeed()

func hashKey(key string) uint64 { return maphash.String(seed, key) | 1 }

// get returns the node with the key key, or nil.
func (x *index) get(key string) *node {
	if len(x.shards) == 0 {
		return nil
	}
	h := hashKey(key)
	slots := x.shards[h&uint64(len(x.shards)-1)].slots
	for i := home(h, len(slots)); ; i = next(i, len(slots)) {
		s := &slots[i]
		if s.h == 0 {
			return nil
		}
		if s.h == h && s.n.key == key {
			return s.n
		}
	}
}

// home is the first slot to probe for h in a table of size slots: the
// high half of the hash scaled to the size (the low bits chose the shard).
func home(h uint64, size int) int { return int((h >> 32) * uint64(size) >> 32) }

func next(i, size int) int {
	if i++; i == size {
		return 0
	}
	return i
}

// buildIndex indexes the nodes of t.
func buildIndex(t tree) *index {
	x := &index{n: t.len()}
	shards := 1
	for shards*shardSize < x.n {
		shards <<= 1
	}
	x.shards = make([]*shard, shards)
	// Count first, so each shard's table is made once at its size.
	counts := make([]int32, shards)
	hashes := make([]uint64, 0, x.n)
	t.ascend(nil, func(n *node) bool {
		h := hashKey(n.key)
		hashes = append(hashes, h)
		counts[h&uint64(shards-1)]++
		return true
	})
	for i := range x.shards {
		x.shards[i] = &shard{slots: make([]slot, tableSize(int(counts[i])))}
	}
	i := 0
	t.ascend(nil, func(n *node) bool {
		h := hashes[i]
		i++
		x.shards[h&uint64(shards-1)].insert(h, n)
		return true
	})
	return x
}

// tableSize is the number of slots for n names: 3/4 full, so a probe ends
// soon at an empty slot, and at least one slot empty.
func tableSize(n int) int { return n*4/3 + 1 }

// insert puts n into a shard being built, which has room.
func (s *shard) insert(h uint64, n *node) {
	i := home(h, len(s.slots))
	for s.slots[i].h != 0 {
		i = next(i, len(s.slots))
	}
	s.slots[i] = slot{h, n}
}

// update returns a copy of x in which the keys of the nodes in fresh (an
// editor's: created or copied by it) and the keys in gone (removed by it)
// map to what t, the edited tree, holds for them now. x itself does not
// change.
func (x *index) update(t tree, fresh map[*node]struct{}, gone []string) *index {
	c := &index{shards: make([]*shard, len(x.shards)), n: x.n}
	copy(c.shards, x.shards)
	mask := uint64(len(c.shards) - 1)
	own := make(map[int]bool) // the shards copied already
	var probe node
	set := func(key string) {
		h := hashKey(key)
		si := int(h & mask)
		if !own[si] {
			c.shards[si] = c.shards[si].clone()
			own[si] = true
		}
		probe.key = key
		c.n += c.shards[si].set(h, key, t.get(&probe))
	}
	for n := range fresh {
		set(n.key)
	}
	for _, key := range gone {
		set(key)
	}
	if c.n > 4*shardSize*len(c.shards) {
		return buildIndex(t) // the zone grew fourfold: spread it over more shards
	}
	return c
}

// clone returns a copy of s that can be changed.
func (s *shard) clone() *shard {
	c := &shard{slots: make([]slot, len(s.slots))}
	copy(c.slots, s.slots)
	return c
}

// set makes key map to n (nil: to nothing) in s, which is the caller's own,
// and returns the change in the number of names.
func (s *shard) set(h uint64, key string, n *node) int {
	i := home(h, len(s.slots))
	for ; s.slots[i].h != 0; i = next(i, len(s.slots)) {
		if s.slots[i].h != h || s.slots[i].n.key != key {
			continue
		}
		if n != nil {
			s.slots[i].n = n
			return 0
		}
		s.remove(i)
		return -1
	}
	if n == nil {
		return 0
	}
	used := 1
	for _, x := range s.slots {
		if x.h != 0 {
			used++
		}
	}
	if used >= len(s.slots) || used*4 > len(s.slots)*3 {
		s.grow(used)
	}
	s.insert(h, n)
	return 1
}

// remove empties slot i and moves later entries of its probe run back, so
// that every entry stays reachable from its home slot (no tombstones).
func (s *shard) remove(i int) {
	s.slots[i] = slot{}
	for j := next(i, len(s.slots)); s.slots[j].h != 0; j = next(j, len(s.slots)) {
		e := s.slots[j]
		s.slots[j] = slot{}
		s.insert(e.h, e.n)
	}
}

// grow makes the table room for twice used names.
func (s *shard) grow(used int) {
	old := s.slots
	s.slots = make([]slot, tableSize(2*used))
	for _, e := range old {
		if e.h != 0 {
			s.insert(e.h, e.n)
		}
	}
}
