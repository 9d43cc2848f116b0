package engine

import (
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cfsecondary/cfsecondary/store"
	"github.com/cfsecondary/cfsecondary/xfr"
	"github.com/cfsecondary/cfsecondary/zone"
)

// Settings are what a zone is configured with.
type Settings struct {
	Peers   []Peer        // tried in order
	Refresh time.Duration // 0: use the SOA REFRESH
	Timers  Timers        // clamps on the SOA's timers
	Limits  zone.Limits
	Xfr     xfr.Options
	Store   *store.Store // nil: nothing kept on disk
	// Validate, when set, checks a new version before it is served (names: what an IXFR
	// touched, nil for all); an error rejects it and the served version stays.
	Validate func(z *zone.Zone, names []string) error
}

// Zone is one secondary zone: its settings, the data being served and its timers. The query
// path reads only data and expired, both atomics; everything else is the engine's.
type Zone struct {
	Origin   string
	settings Settings

	data    atomic.Pointer[zone.Zone] // nil until loaded from disk or transferred
	expired atomic.Bool               // EXPIRE passed without a successful check: answer SERVFAIL

	mu          sync.Mutex // guards what follows
	peers       []*peerState
	preferred   netip.Addr // the sender of the last NOTIFY, tried first by the next refresh
	retrying    bool       // the last refresh failed
	loaded      bool       // the load event ran (from disk or found nothing)
	bootBackoff time.Duration
	refreshAt   time.Time
	expireAt    time.Time // zero while there is no data
	lastCheck   time.Time // last SOA check that got an answer
	lastSuccess time.Time // last transfer or up-to-date check
	lastErr     string
	lastXfr     TransferInfo
	attempts    int64
	flushing    bool // a goroutine is writing the zone to disk
	flushAgain  bool // and the data changed meanwhile

	// Scheduling, guarded by the engine's mu.
	due     [numEvents]time.Time
	running bool
	queued  bool
}

// TransferInfo describes the last successful transfer.
type TransferInfo struct {
	At       time.Time
	Peer     string
	Type     string // "axfr" or "ixfr"
	Serial   uint32
	Records  int
	Bytes    int64
	Duration time.Duration
}

func newZone(origin string, s Settings) *Zone {
	z := &Zone{Origin: origin, settings: s, bootBackoff: bootstrapFirst}
	for _, p := range s.Peers {
		z.peers = append(z.peers, &peerState{Peer: p})
	}
	return z
}

// Data returns the snapshot being served, or nil before the first load. It never blocks.
func (z *Zone) Data() *zone.Zone { return z.data.Load() }

// Expired reports whether the zone's EXPIRE timer ran out: it must answer SERVFAIL.
func (z *Zone) Expired() bool { return z.expired.Load() }

// Settings returns what the zone was configured with.
func (z *Zone) Settings() Settings { return z.settings }

// SetData serves d at once. Tests use it to serve a zone without a primary.
func (z *Zone) SetData(d *zone.Zone) { z.data.Store(d) }

// IsPeer reports whether addr is one of the zone's primaries.
func (z *Zone) IsPeer(addr netip.Addr) bool {
	for _, p := range z.settings.Peers {
		if p.IP() == addr {
			return true
		}
	}
	return false
}

// PeerKey returns the TSIG key name configured for the peer at addr ("" for none), and whether
// addr is a peer at all.
func (z *Zone) PeerKey(addr netip.Addr) (string, bool) {
	for _, p := range z.settings.Peers {
		if p.IP() == addr {
			if p.Key == nil {
				return "", true
			}
			return p.Key.Name, true
		}
	}
	return "", false
}

// ExpiresIn is the time left before the zone expires, for EDNS EXPIRE answers (RFC 7314 §3);
// false when there is no data or the zone has expired.
func (z *Zone) ExpiresIn(now time.Time) (time.Duration, bool) {
	z.mu.Lock()
	defer z.mu.Unlock()
	if z.expireAt.IsZero() || z.expired.Load() {
		return 0, false
	}
	return max(z.expireAt.Sub(now), 0), true
}

// Attempts is the number of transfers tried so far, successful or not.
func (z *Zone) Attempts() int64 {
	z.mu.Lock()
	defer z.mu.Unlock()
	return z.attempts
}

// LastError is why the last refresh or transfer failed, or "" when it succeeded.
func (z *Zone) LastError() string {
	z.mu.Lock()
	defer z.mu.Unlock()
	return z.lastErr
}

// adopt carries data, timers and peer health over from the zone of a previous instance (a
// Corefile reload), so nothing is transferred again that is still fresh.
func (z *Zone) adopt(old *Zone) {
	old.mu.Lock()
	defer old.mu.Unlock()
	z.data.Store(old.data.Load())
	z.expired.Store(old.expired.Load())
	z.retrying, z.loaded = old.retrying, old.loaded
	z.refreshAt, z.expireAt = old.refreshAt, old.expireAt
	z.lastCheck, z.lastSuccess, z.lastErr, z.lastXfr = old.lastCheck, old.lastSuccess, old.lastErr, old.lastXfr
	z.attempts = old.attempts
	for _, p := range z.peers {
		for _, q := range old.peers {
			if q.Addr == p.Addr {
				key := p.Key
				*p = *q
				p.Peer = Peer{Addr: q.Addr, Key: key, IXFR: p.IXFR}
			}
		}
	}
}
