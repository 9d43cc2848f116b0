package engine

import (
	"math/rand/v2"
	"time"

	"github.com/miekg/dns"
)

// Timers bound the intervals a primary's SOA asks for, as BIND's min/max-refresh-time,
// min/max-retry-time and its expire range do: a typo in a primary's SOA must not make the
// secondary hammer it every second, nor stop checking for months.
type Timers struct {
	MinRefresh, MaxRefresh time.Duration
	MinRetry, MaxRetry     time.Duration
	MinExpire, MaxExpire   time.Duration // the expire is also never below refresh + retry
}

// DefaultTimers are BIND's defaults.
func DefaultTimers() Timers {
	const week = 7 * 24 * time.Hour
	return Timers{
		MinRefresh: 300 * time.Second, MaxRefresh: 4 * week,
		MinRetry: 500 * time.Second, MaxRetry: 2 * week,
		MinExpire: 0, MaxExpire: 24 * week,
	}
}

// floor keeps every timer at least this long, whatever the configuration: a loop that checks a
// primary without pause helps nobody.
const floor = time.Second

func clamp(d, lo, hi time.Duration) time.Duration {
	if hi > 0 && d > hi {
		d = hi
	}
	return max(d, lo, floor)
}

// intervals are the effective timers for a version of the zone.
type intervals struct {
	refresh, retry, expire time.Duration
}

// intervalsFor derives the timers from the SOA: the configured refresh (Cloudflare's "zone
// refresh") replaces the SOA REFRESH and is not clamped; everything else is.
func intervalsFor(soa *dns.SOA, refresh time.Duration, t Timers) intervals {
	var iv intervals
	if refresh > 0 {
		iv.refresh = max(refresh, floor)
	} else {
		iv.refresh = clamp(seconds(soa.Refresh), t.MinRefresh, t.MaxRefresh)
	}
	iv.retry = clamp(seconds(soa.Retry), t.MinRetry, t.MaxRetry)
	iv.expire = clamp(seconds(soa.Expire), max(t.MinExpire, iv.refresh+iv.retry), t.MaxExpire)
	return iv
}

func seconds(s uint32) time.Duration { return time.Duration(s) * time.Second }

// jitter shortens d by up to a tenth, so that thousands of zones loaded together do not all
// check their primaries in the same second, and a timer never fires late (NSD draws every timer
// from 90-100% of its value).
func jitter(d time.Duration) time.Duration {
	if d <= 10*floor {
		return d
	}
	return d - rand.N(d/10)
}

// Backoff for a zone that has never been loaded: start fast so a primary that comes up a moment
// after us is picked up at once, then slow down so a dead one is not hammered.
const (
	bootstrapFirst = 1 * time.Second
	bootstrapMax   = 5 * time.Minute
)

// Backoff for one peer that fails while others may work: it is tried after the healthy ones
// until the backoff runs out (BIND caches an unreachable primary for 10 minutes).
const (
	peerBackoffFirst = 10 * time.Second
	peerBackoffMax   = 10 * time.Minute
	// noIXFRFor is how long a peer that answered an IXFR with NOTIMP, FORMERR, REFUSED or
	// nothing is asked for AXFR directly (NSD remembers this for 48 hours).
	noIXFRFor = time.Hour
)

// SerialNewer reports whether serial a is newer than b by RFC 1982 serial arithmetic. A
// difference of exactly 2^31 is undefined there, and is not trusted as newer.
func SerialNewer(a, b uint32) bool {
	d := a - b
	return d != 0 && d < 1<<31
}
