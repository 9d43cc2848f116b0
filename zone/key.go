package zone

import (
	"sync"
	"unsafe"
)

// A key is a domain name in "lookup format": the labels in reverse order
// (root side first), each lower-cased (ASCII only) and followed by a 0x00
// byte. www.Example.org. becomes "org\x00example\x00www\x00", the root is "".
//
// Plain byte comparison of keys is the DNSSEC canonical order of RFC 4034
// section 6.1, so one ordered tree answers exact matches, finds neighbours
// and walks the zone in canonical order. Two more properties are used
// throughout: the key of an ancestor is a prefix of the key of every
// descendant (ending at a label boundary), and all descendants of a name sit
// in one contiguous run right after it.
//
// Knot uses the same format, but a label octet 0x00 would then collide with
// the terminator and break the order (a\000.z sorts before b.a.z though it
// must sort after it). So the octets 0x00 and 0x01 are escaped as 0x01 0x01
// and 0x01 0x02: every octet of an escaped label stays above the terminator
// and the order of octets is kept. Real zones never hit this path.

const (
	maxWire   = 255         // RFC 1035 2.3.4
	maxLabels = 127         // 255 octets hold at most 127 one-octet labels
	maxKey    = 2 * maxWire // worst case: every octet escaped
	escapeLow = 2           // octets below this are escaped
	wildLabel = "*\x00"     // the key form of a '*' label
)

// keyBuf turns a presentation-format name into its key without allocating.
// It remembers where each ancestor's key ends, so the key of the ancestor
// with i labels is b[:ends[i]].
type keyBuf struct {
	wire   [maxWire]byte
	b      [maxKey]byte
	n      int // len(key)
	labels int // labels in the name, the root not counted
	wlen   int // wire length of the name
	ends   [maxLabels + 1]uint16
	loff   [maxLabels]uint8 // wire offset of each label, left to right
}

// set makes k the key of name. It reports false for a name that is not a
// valid, fully qualified domain name of at most 255 octets.
func (k *keyBuf) set(name string) bool {
	if !k.pack(name) {
		return false
	}
	k.build()
	return true
}

// setWire makes k the key of the uncompressed wire-format name at the start
// of b. It reports false for anything else, a compression pointer included.
func (k *keyBuf) setWire(b []byte) bool {
	labels, w := 0, 0
	for {
		if w >= len(b) || w >= maxWire {
			return false
		}
		l := int(b[w])
		if l == 0 {
			break
		}
		if l > 63 || labels == maxLabels || w+1+l >= len(b) {
			return false
		}
		k.loff[labels] = uint8(w)
		labels++
		w += 1 + l
	}
	copy(k.wire[:], b[:w+1])
	k.labels, k.wlen = labels, w+1
	k.build()
	return true
}

// build makes the key from k.wire.
func (k *keyBuf) build() {
	n := 0
	k.ends[0] = 0
	for i := k.labels - 1; i >= 0; i-- {
		off := int(k.loff[i])
		for _, c := range k.wire[off+1 : off+1+int(k.wire[off])] {
			switch {
			case c >= 'A' && c <= 'Z':
				c += 'a' - 'A'
			case c < escapeLow:
				k.b[n] = 1
				n++
				c++
			}
			k.b[n] = c
			n++
		}
		k.b[n] = 0
		n++
		k.ends[k.labels-i] = uint16(n)
	}
	k.n = n
}

// pack writes name in wire format to k.wire, undoing the escapes \X and
// \DDD, and notes where each label starts. It does what dns.PackDomainName
// does, in one pass and without its compression machinery: this runs for
// every query and every RR of a transfer.
func (k *keyBuf) pack(name string) bool {
	if name == "." {
		k.wire[0] = 0
		k.labels, k.wlen = 0, 1
		return true
	}
	labels, start, w := 0, 0, 1 // wire[start] is the length octet of the label being read
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch c {
		case '.':
			l := w - start - 1
			if l == 0 || l > 63 || labels == maxLabels {
				return false
			}
			k.wire[start] = byte(l)
			k.loff[labels] = uint8(start)
			labels++
			start = w
			w++
			if w > maxWire {
				return false
			}
			continue
		case '\\':
			i++
			if i == len(name) {
				return false
			}
			c = name[i]
			if isDigit(c) {
				if i+2 >= len(name) || !isDigit(name[i+1]) || !isDigit(name[i+2]) {
					return false
				}
				v := int(c-'0')*100 + int(name[i+1]-'0')*10 + int(name[i+2]-'0')
				if v > 255 {
					return false
				}
				c = byte(v)
				i += 2
			}
		}
		if w >= maxWire {
			return false
		}
		k.wire[w] = c
		w++
	}
	if w != start+1 || labels == 0 { // no final dot: not fully qualified
		return false
	}
	k.wire[start] = 0
	k.labels, k.wlen = labels, w
	return true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// under reports whether the name is at or below the name with key p, which
// has labels labels: a zone's origin.
func (k *keyBuf) under(p string, labels int) bool {
	return k.labels >= labels && k.rel(labels, 0) == p
}

// rel returns the key of the ancestor with i labels without its first skip
// bytes. Nodes store keys relative to the origin (skip is the length of the
// origin's key): shorter keys, and comparisons that do not first wade
// through the same origin every time.
//
// The string aliases k's buffer: it is valid until k changes and must never
// be stored. Use string(k.b[skip:k.n]) to keep a key.
func (k *keyBuf) rel(i, skip int) string {
	return unsafe.String(&k.b[skip], int(k.ends[i])-skip)
}

// wireOffset returns the number of wire octets in the leftmost i labels of
// the name: where the ancestor with labels-i labels begins.
func (k *keyBuf) wireOffset(i int) int {
	if i >= k.labels {
		return k.wlen - 1
	}
	return int(k.loff[i])
}

// scratch is per-lookup working memory. It is pooled so a query needs no
// allocation for keys or tree probes.
type scratch struct {
	k      keyBuf       // the name being looked up
	aux    keyBuf       // glue and additional targets, DNAME targets
	wild   [maxKey]byte // a wildcard's key
	probe  node         // search item for the tree; its key aliases the above
	probe2 node         // a second one, for searches during a walk from probe

	hbuf [2 + maxWire + 255]byte // NSEC3 hash input: *, a name, the salt
	hkey [hashKeyLen]byte        // the key of an NSEC3 owner, see nsec3.hash

	wire wireLookup // AppendResponse's state
}

// wildcard returns the (aliased) key of *.<parent> for the parent key p.
func (s *scratch) wildcard(p string) string {
	n := copy(s.wild[:], p)
	n += copy(s.wild[n:], wildLabel)
	return unsafe.String(&s.wild[0], n)
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

func getScratch() *scratch { return scratchPool.Get().(*scratch) }

func putScratch(s *scratch) {
	s.probe.key = ""
	scratchPool.Put(s)
}

// equalName reports whether a and b are the same name, ignoring ASCII case.
// Differently escaped spellings of one name compare unequal; that only
// matters for CNAME loop detection, which has a step limit as a backstop.
func equalName(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if lowerASCII(a[i]) != lowerASCII(b[i]) {
			return false
		}
	}
	return true
}

// lowerASCII lower-cases c if it is an ASCII letter: DNS names compare
// that way (RFC 4343), whatever other octets they hold.
func lowerASCII(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		c += 'a' - 'A'
	}
	return c
}
