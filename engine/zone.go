package engine

import (
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/cfsecondary/cfsecondary/zone"
)

// Zone is one secondary zone: its settings, the data being served and when it was last checked.
type Zone struct {
	Origin   string
	settings Settings

	data     atomic.Pointer[zone.Zone] // nil until the first transfer succeeds
	checked  atomic.Int64              // unix nanoseconds of the last SOA check
	attempts atomic.Int64              // transfers tried, good or bad
	lastErr  atomic.Pointer[string]    // why the last transfer failed; nil after a success

	kick  chan struct{} // a buffered slot: many requests for a check while one runs make one more
	force atomic.Bool   // the next run transfers without comparing serials
}

// Data returns the snapshot being served, or nil before the first transfer. It never blocks.
func (z *Zone) Data() *zone.Zone { return z.data.Load() }

// Settings returns what the zone was configured with.
func (z *Zone) Settings() Settings { return z.settings }

// Check asks for an SOA check as soon as possible. Requests made while one is pending or
// running coalesce into one.
func (z *Zone) Check() {
	select {
	case z.kick <- struct{}{}:
	default:
	}
}

// Force asks for a full transfer as soon as possible, whatever the serials say: the on-demand
// transfer an operator uses after fixing a primary by hand.
func (z *Zone) Force() {
	z.force.Store(true)
	z.Check()
}

// Attempts is the number of transfers tried so far, successful or not.
func (z *Zone) Attempts() int64 { return z.attempts.Load() }

// LastError is why the last transfer failed, or "" when it succeeded or none was tried.
func (z *Zone) LastError() string {
	if p := z.lastErr.Load(); p != nil {
		return *p
	}
	return ""
}

func (z *Zone) setChecked(t time.Time) { z.checked.Store(t.UnixNano()) }

// refreshInterval is the configured refresh, or else the SOA REFRESH.
func (z *Zone) refreshInterval() time.Duration {
	if z.settings.Refresh > 0 {
		return z.settings.Refresh
	}
	if d := z.Data(); d != nil {
		return max(time.Duration(d.SOA().Refresh)*time.Second, minInterval)
	}
	return minInterval
}

// retryInterval is the SOA RETRY, never longer than the refresh interval.
func (z *Zone) retryInterval() time.Duration {
	r := z.refreshInterval()
	if d := z.Data(); d != nil {
		r = min(r, time.Duration(d.SOA().Retry)*time.Second)
	}
	return max(r, minInterval)
}

// IsPeer reports whether addr is one of the zone's primaries.
func (z *Zone) IsPeer(addr netip.Addr) bool {
	for _, p := range z.settings.Peers {
		if ap, err := netip.ParseAddrPort(p.Addr); err == nil && ap.Addr().Unmap() == addr {
			return true
		}
	}
	return false
}

// SetData serves d at once, as a successful transfer would. Startup uses it for the copy saved on
// disk; tests use it to serve a zone without a primary.
func (z *Zone) SetData(d *zone.Zone) { z.data.Store(d) }
