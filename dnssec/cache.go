package dnssec

import (
	"hash/maphash"
	"sync"
	"sync/atomic"

	"github.com/miekg/dns"
)

// sigKey identifies one signature: the RRset it covers, by a 128-bit hash of
// its owner (lower case), type, class, TTL and RDATA, and which of our keys
// made it. The hash covers exactly what the signature covers (RFC 4034 6.2,
// the TTL being the RRSIG's original TTL), so equal keys mean an equal
// signature is valid, whichever version of the zone the RRset comes from:
// after an IXFR only the RRsets that changed miss.
type sigKey struct {
	h0, h1 uint64
	key    uint16 // index of the signing key in Signer.keys
}

// entry is a cached signature. sig is shared by every answer that uses it
// and never modified; a refresh replaces the entry.
type entry struct {
	sig     *dns.RRSIG
	refresh int64 // unix time from which the signature is made again
	hard    int64 // unix time from which it is no longer handed out at all

	used atomic.Bool // for eviction: a second chance for entries in use
	busy atomic.Bool // one query refreshes, the others keep the old one
}

const shardCount = 64

// sigCache is a bounded map of signatures split into shards, each behind its
// own RWMutex, so that concurrent queries on different RRsets rarely meet.
// Hits take a read lock only.
type sigCache struct {
	shards [shardCount]shard
	per    int // entries per shard
}

type shard struct {
	mu      sync.RWMutex
	m       map[sigKey]*entry
	pending map[sigKey]*call // signatures being made
	hits    atomic.Uint64
	misses  atomic.Uint64
	_       [64]byte // keep shards on separate cache lines
}

func newSigCache(size int) *sigCache {
	c := &sigCache{per: max(size/shardCount, 4)}
	for i := range c.shards {
		c.shards[i].m = make(map[sigKey]*entry)
		c.shards[i].pending = make(map[sigKey]*call)
	}
	return c
}

func (c *sigCache) shard(k sigKey) *shard { return &c.shards[k.h0%shardCount] }

// get returns the entry for k, or nil.
func (c *sigCache) get(k sigKey) *entry {
	s := c.shard(k)
	s.mu.RLock()
	e := s.m[k]
	s.mu.RUnlock()
	if e == nil {
		s.misses.Add(1)
		return nil
	}
	s.hits.Add(1)
	if !e.used.Load() {
		e.used.Store(true)
	}
	return e
}

// call is a signature being made, which other queries for it wait for.
type call struct {
	done chan struct{}
	e    *entry
}

// fill returns the entry for k, valid at now, making it with mk when there
// is none. Queries that miss on the same key at once wait for the first one
// to sign instead of all signing: after a transfer changes a popular RRset,
// it is signed once.
func (c *sigCache) fill(k sigKey, now int64, mk func() *entry) *entry {
	s := c.shard(k)
	s.mu.Lock()
	if e := s.m[k]; e != nil && now < e.hard {
		s.mu.Unlock()
		return e
	}
	if p := s.pending[k]; p != nil {
		s.mu.Unlock()
		<-p.done
		return p.e
	}
	p := &call{done: make(chan struct{})}
	s.pending[k] = p
	s.mu.Unlock()

	defer func() {
		s.mu.Lock()
		delete(s.pending, k)
		s.mu.Unlock()
		close(p.done)
	}()
	p.e = mk()
	if p.e != nil {
		c.put(k, p.e)
	}
	return p.e
}

// put stores e under k, evicting another entry when the shard is full. The
// victim is found CLOCK-style: Go's map iteration starts at a random place,
// entries used since the last pass get their bit cleared and are skipped.
func (c *sigCache) put(k sigKey, e *entry) {
	s := c.shard(k)
	s.mu.Lock()
	if _, ok := s.m[k]; !ok && len(s.m) >= c.per {
		scanned := 0
		for vk, ve := range s.m {
			scanned++
			if ve.used.Load() && scanned < 32 {
				ve.used.Store(false)
				continue
			}
			delete(s.m, vk)
			break
		}
	}
	s.m[k] = e
	s.mu.Unlock()
}

// CacheStats counts the signature cache's work since the Signer was made.
type CacheStats struct {
	Entries int    // signatures cached now
	Hits    uint64 // signatures found in the cache
	Misses  uint64 // signatures not found (then made)
	Signed  uint64 // signatures made: misses and refreshes
}

func (c *sigCache) stats() (st CacheStats) {
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.RLock()
		st.Entries += len(s.m)
		s.mu.RUnlock()
		st.Hits += s.hits.Load()
		st.Misses += s.misses.Load()
	}
	return st
}

var seed0, seed1 = maphash.MakeSeed(), maphash.MakeSeed()

// bufPool holds buffers for packing RRsets to hash them.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// hashRRset hashes rrs as the RRset owned by owner (which may differ from
// the RRs' own names, for wildcards): the owner in lower case, then the sum
// of the hashes of each RR's wire form after the owner name, that is type,
// class, TTL, RDLENGTH and RDATA. The sum makes the hash independent of the
// order of the RRs, as the signature is. Names inside RDATA keep their case:
// an RRset that differs only there hashes differently, which only costs a
// signature.
//
// The RRs are packed with a dns.Msg, which only reads them (dns.PackRR
// would write their Rdlength, a data race on records shared by all queries).
func hashRRset(owner string, rrs []dns.RR) (h0, h1 uint64, ok bool) {
	var lower [256]byte
	n := 0
	for i := 0; i < len(owner) && n < len(lower); i++ {
		c := owner[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		lower[n] = c
		n++
	}
	h0 = maphash.Bytes(seed0, lower[:n])
	h1 = maphash.Bytes(seed1, lower[:n])

	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	m := dns.Msg{Answer: rrs}
	wire, err := m.PackBuffer((*bp)[:cap(*bp)])
	if err != nil {
		return 0, 0, false
	}
	if cap(wire) > cap(*bp) && cap(wire) <= 1<<16 {
		*bp = wire[:0]
	}
	off := 12 // the message header; there is no question
	for range rrs {
		// Skip the owner name: uncompressed labels up to the root.
		for off < len(wire) && wire[off] != 0 {
			off += int(wire[off]) + 1
		}
		off++
		if off+10 > len(wire) {
			return 0, 0, false
		}
		end := off + 10 + (int(wire[off+8])<<8 | int(wire[off+9]))
		if end > len(wire) {
			return 0, 0, false
		}
		h0 += maphash.Bytes(seed0, wire[off:end])
		h1 += maphash.Bytes(seed1, wire[off:end])
		off = end
	}
	return h0, h1, true
}
