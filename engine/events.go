package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cfsecondary/cfsecondary/store"
	"github.com/cfsecondary/cfsecondary/xfr"
	"github.com/cfsecondary/cfsecondary/zone"
)

// load serves the copy saved on disk, if any, and resumes its timers: a fresh zone is served
// before any transfer, an expired one stays expired. Then the zone is refreshed: at once when
// there is nothing on disk or its refresh time has passed.
func (e *Engine) load(z *Zone) {
	now := time.Now()
	z.mu.Lock()
	z.loaded = true
	z.mu.Unlock()
	st := z.settings.Store
	if st == nil || z.Data() != nil {
		e.schedule(z, evRefresh, now)
		return
	}
	data, state, err := st.Load(z.Origin, z.settings.Limits)
	switch {
	case errors.Is(err, store.ErrNotFound):
		e.schedule(z, evRefresh, now)
		return
	case err != nil:
		log.Errorf("zone %s: saved copy not usable, transferring it again: %v", z.Origin, err)
		e.schedule(z, evRefresh, now)
		return
	}
	z.data.Store(data)
	go releaseMemory(data.Len(), data.Bytes()) // what reading the file took
	iv := intervalsFor(data.SOA(), z.settings.Refresh, z.settings.Timers)
	z.mu.Lock()
	z.lastCheck, z.lastSuccess = state.LastCheck, state.LastSuccess
	z.expireAt = state.ExpireAt
	if z.expireAt.IsZero() {
		// No timers saved: count the expire from the file's data as if just checked; the
		// refresh below runs at once and settles it.
		z.expireAt = now.Add(iv.expire)
	}
	refreshAt := state.NextRefresh
	if refreshAt.IsZero() || refreshAt.Before(now) {
		refreshAt = now
	}
	z.refreshAt = refreshAt
	expired := !z.expireAt.After(now)
	expireAt := z.expireAt
	z.mu.Unlock()
	if expired {
		z.expired.Store(true)
		log.Warningf("zone %s: saved copy (serial %d) expired at %s; serving SERVFAIL until a transfer succeeds", z.Origin, data.Serial(), expireAt.Format(time.RFC3339))
		e.schedule(z, evRefresh, now)
		return
	}
	log.Infof("zone %s: serving serial %d from %s, refresh at %s, expires at %s", z.Origin, data.Serial(), st.ZonePath(z.Origin), refreshAt.Format(time.RFC3339), expireAt.Format(time.RFC3339))
	e.schedule(z, evRefresh, refreshAt)
	e.schedule(z, evExpire, expireAt)
}

// expire stops serving a zone whose primaries could not be reached for EXPIRE (RFC 1034
// §4.3.5): it answers SERVFAIL with Extended DNS Error 24 until a transfer succeeds. The data is
// kept in memory and on disk, and a refresh runs at once.
func (e *Engine) expire(z *Zone) {
	now := time.Now()
	z.mu.Lock()
	at := z.expireAt
	z.mu.Unlock()
	if at.IsZero() || at.After(now) || z.Expired() {
		return // rescheduled meanwhile by a successful check
	}
	z.expired.Store(true)
	log.Errorf("zone %s: expired: no primary answered since %s; answering SERVFAIL until a transfer succeeds", z.Origin, at.Format(time.RFC3339))
	e.emit(z, Event{Kind: EventExpired})
	e.schedule(z, evRefresh, now)
}

// refresh checks the peers in order and transfers from the first with a newer serial: the SOA
// check and the transfer use the same peer, so the serial checked and the data fetched come
// from one server. With force, or while the zone has no data or has expired, the SOA check is
// skipped and the whole zone transferred.
func (e *Engine) refresh(ctx context.Context, z *Zone, force bool) {
	now := time.Now()
	z.mu.Lock()
	peers := order(z.peers, z.preferred, now)
	z.preferred = netipZero
	z.mu.Unlock()

	data := z.Data()
	full := force || data == nil || z.Expired()
	var errs []error
	for _, p := range peers {
		if ctx.Err() != nil {
			return
		}
		var ans xfr.SOAAnswer
		if !full {
			var err error
			ans, err = xfr.QuerySOA(ctx, p.xfrPeer(), z.Origin, z.settings.Xfr)
			if err != nil {
				err = fmt.Errorf("SOA check of %s: %w", p.Addr, err)
				e.peerFailed(z, p, err)
				e.emit(z, Event{Kind: EventCheckFailed, Peer: p.Addr, Err: err})
				if w := warningFor(err); w != "" {
					e.emit(z, Event{Kind: EventWarning, Peer: p.Addr, Warning: w, Err: err})
				}
				errs = append(errs, err)
				continue
			}
			e.peerAnswered(z, p)
			e.emit(z, Event{Kind: EventCheck, Peer: p.Addr, Serial: ans.SOA.Serial})
			if !SerialNewer(ans.SOA.Serial, data.Serial()) {
				if SerialNewer(data.Serial(), ans.SOA.Serial) {
					log.Warningf("zone %s: %s has serial %d, older than the %d served", z.Origin, p.Addr, ans.SOA.Serial, data.Serial())
					e.emit(z, Event{Kind: EventWarning, Peer: p.Addr, Serial: ans.SOA.Serial, Warning: WarnSerialBackwards,
						Err: fmt.Errorf("serial %d is older than the %d served", ans.SOA.Serial, data.Serial())})
				}
				e.upToDate(z, data, ans.Expire)
				return
			}
		}
		if err := e.transfer(ctx, z, p, !full); err != nil {
			if ctx.Err() != nil {
				return
			}
			err = fmt.Errorf("transfer from %s: %w", p.Addr, err)
			e.peerFailed(z, p, err)
			errs = append(errs, err)
			continue
		}
		return
	}
	if ctx.Err() != nil {
		return
	}
	err := errors.Join(errs...)
	e.failed(z, err)
	e.emit(z, Event{Kind: EventRefreshFailed, Err: err})
}

// upToDate records a check that found the data current: the refresh timer restarts and the
// expire timer is pushed back, by the EDNS EXPIRE rules of RFC 7314 §4 when the primary sent
// the option: max(option, time left), never beyond the SOA EXPIRE.
func (e *Engine) upToDate(z *Zone, data *zone.Zone, option int64) {
	now := time.Now()
	iv := intervalsFor(data.SOA(), z.settings.Refresh, z.settings.Timers)
	z.mu.Lock()
	expireAt := now.Add(iv.expire)
	if option >= 0 {
		expireAt = now.Add(min(max(time.Duration(option)*time.Second, z.expireAt.Sub(now)), iv.expire))
	}
	z.expireAt = expireAt
	z.lastCheck, z.lastSuccess, z.lastErr, z.retrying = now, now, "", false
	z.refreshAt = now.Add(jitter(iv.refresh))
	refreshAt := z.refreshAt
	z.mu.Unlock()
	log.Debugf("zone %s: serial %d is current", z.Origin, data.Serial())
	e.schedule(z, evRefresh, refreshAt)
	e.unschedule(z, evExpire)
	e.schedule(z, evExpire, expireAt)
	e.saveState(z)
}

// failed records a refresh in which no peer gave an answer or a good transfer: retry after
// the SOA RETRY, or, for a zone never loaded, after a growing backoff.
func (e *Engine) failed(z *Zone, err error) {
	now := time.Now()
	data := z.Data()
	z.mu.Lock()
	z.lastErr = err.Error()
	var wait time.Duration
	if data == nil {
		wait = z.bootBackoff
		z.bootBackoff = min(2*z.bootBackoff, bootstrapMax)
	} else {
		z.retrying = true
		wait = jitter(intervalsFor(data.SOA(), z.settings.Refresh, z.settings.Timers).retry)
	}
	z.refreshAt = now.Add(wait)
	z.mu.Unlock()
	log.Warningf("zone %s: refresh failed, next try in %s: %v", z.Origin, wait.Round(time.Millisecond), err)
	e.schedule(z, evRefresh, now.Add(wait))
}

func (e *Engine) peerFailed(z *Zone, p *peerState, err error) {
	z.mu.Lock()
	p.fail(time.Now(), err)
	z.mu.Unlock()
}

func (e *Engine) peerAnswered(z *Zone, p *peerState) {
	z.mu.Lock()
	now := time.Now()
	p.ok(now)
	z.lastCheck = now
	z.mu.Unlock()
}
