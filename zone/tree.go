package zone

import (
	"encoding/binary"

	"github.com/google/btree"
)

// tree is the ordered set of a zone's nodes: a copy-on-write B-tree, so a
// clone is cheap and shares all nodes it does not change.
//
// Each entry carries the first 8 bytes of its key next to the node pointer.
// A search compares those inline and only follows the pointer to the full
// key on a tie, which saves two cache misses (node, then key bytes) at most
// steps of a search in a big zone.
type tree struct {
	t *btree.BTreeG[item]
}

type item struct {
	p uint64 // the first 8 bytes of n.key, big endian, zero padded
	n *node
}

// degree of the B-tree: nodes of 31 to 63 entries, a good balance between
// depth and the cost of copying a node on write.
const degree = 32

func newTree() tree { return tree{btree.NewG(degree, lessItem)} }

func itemOf(n *node) item {
	var b [8]byte
	copy(b[:], n.key)
	return item{binary.BigEndian.Uint64(b[:]), n}
}

// lessItem orders by key. Zero padding keeps the prefix order consistent
// with the key order: a key that is a prefix of another sorts first.
func lessItem(a, b item) bool {
	if a.p != b.p {
		return a.p < b.p
	}
	return a.n.key < b.n.key
}

// get returns the node with probe's key, or nil.
func (t tree) get(probe *node) *node {
	it, _ := t.t.Get(itemOf(probe))
	return it.n
}

func (t tree) put(n *node) { t.t.ReplaceOrInsert(itemOf(n)) }

func (t tree) del(n *node) { t.t.Delete(itemOf(n)) }

func (t tree) clone() tree { return tree{t.t.Clone()} }

func (t tree) len() int { return t.t.Len() }

// ascend calls fn for each node in order, from the one with probe's key or
// the next after it (from the start if probe is nil), until fn returns false.
func (t tree) ascend(probe *node, fn func(*node) bool) {
	iter := func(it item) bool { return fn(it.n) }
	if probe == nil {
		t.t.Ascend(iter)
		return
	}
	t.t.AscendGreaterOrEqual(itemOf(probe), iter)
}

// compact returns a copy of t that takes about half the memory when t was
// filled in ascending order, as zone transfers usually are.
//
// A B-tree node that splits keeps its lower half, and with it its full
// capacity: filled in ascending order, every node ends half empty. Filled
// in descending order, each split moves the upper half into a new node with
// a right-sized array that is never touched again, so nearly every node
// ends full.
func (t tree) compact() tree {
	nodes := make([]*node, 0, t.len())
	t.ascend(nil, func(n *node) bool {
		nodes = append(nodes, n)
		return true
	})
	c := newTree()
	for i := len(nodes) - 1; i >= 0; i-- {
		c.put(nodes[i])
	}
	return c
}
