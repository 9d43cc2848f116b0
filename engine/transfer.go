package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cfsecondary/cfsecondary/xfr"
	"github.com/cfsecondary/cfsecondary/zone"

	"github.com/miekg/dns"
)

// transfer fetches a new version of the zone from p and swaps it in. With incremental, and
// when p has IXFR on, the changes are asked for by IXFR and applied to a copy of the zone in
// time proportional to the change; if p cannot give them, AXFR follows from the same peer.
// Whatever goes wrong, the version being served stays: it is replaced only by a complete,
// valid and not older one.
func (e *Engine) transfer(ctx context.Context, z *Zone, p *peerState, incremental bool) error {
	start := time.Now()
	z.mu.Lock()
	useIXFR := incremental && p.IXFR && !p.noIXFRUntil.After(start)
	z.mu.Unlock()

	cur := z.Data()
	var (
		nz      *zone.Zone
		res     xfr.Result
		kind    = "axfr"
		touched []string // the names an IXFR changed; nil: all
		err     error
	)
	if useIXFR && cur != nil {
		kind = "ixfr"
		nz, res, touched, err = e.ixfr(ctx, z, p, cur)
		if errors.Is(err, xfr.ErrFallback) || errors.Is(err, zone.ErrNotFound) {
			log.Infof("zone %s: IXFR from %s not usable, falling back to AXFR: %v", z.Origin, p.Addr, err)
			if errors.Is(err, xfr.ErrFallback) && lacksIXFR(err) {
				z.mu.Lock()
				p.noIXFRUntil = start.Add(noIXFRFor)
				z.mu.Unlock()
			}
			kind, err = "axfr", nil
		}
	}
	if kind == "axfr" && err == nil {
		nz, res, err = e.axfr(ctx, z, p)
	}
	if err == nil && nz == nil {
		// An IXFR answered "up to date" after an SOA check said otherwise: the primary moved
		// back, or is a different server behind one address. Nothing to swap.
		z.mu.Lock()
		z.attempts++
		z.mu.Unlock()
		e.upToDate(z, cur, res.Expire)
		return nil
	}
	if err == nil && cur != nil && SerialNewer(cur.Serial(), nz.Serial()) {
		err = fmt.Errorf("serial %d is older than the %d being served", nz.Serial(), cur.Serial())
	}
	if err == nil && z.settings.Validate != nil {
		if verr := z.settings.Validate(nz, touched); verr != nil {
			err = fmt.Errorf("%w: %w", ErrRejected, verr)
		}
	}
	if err != nil {
		z.mu.Lock()
		z.attempts++
		z.lastErr = err.Error()
		z.mu.Unlock()
		log.Errorf("zone %s: %s from %s failed, keeping the data served: %v", z.Origin, kind, p.Addr, err)
		e.emit(z, Event{Kind: EventTransferFailed, Peer: p.Addr, Type: kind, Bytes: res.Bytes, Duration: time.Since(start), Err: err})
		if w := warningFor(err); w != "" {
			e.emit(z, Event{Kind: EventWarning, Peer: p.Addr, Warning: w, Err: err})
		} else if cur != nil && nz != nil && SerialNewer(cur.Serial(), nz.Serial()) {
			e.emit(z, Event{Kind: EventWarning, Peer: p.Addr, Serial: nz.Serial(), Warning: WarnSerialBackwards, Err: err})
		}
		return err
	}

	z.data.Store(nz)
	z.expired.Store(false)
	now := time.Now()
	iv := intervalsFor(nz.SOA(), z.settings.Refresh, z.settings.Timers)
	expire := iv.expire
	if res.Expire >= 0 {
		// RFC 7314 §4: after a transfer the option replaces the SOA EXPIRE, which stays the cap.
		expire = min(time.Duration(res.Expire)*time.Second, iv.expire)
	}
	info := TransferInfo{At: now, Peer: p.Addr, Type: kind, Serial: nz.Serial(), Records: nz.Len(), Bytes: res.Bytes, Duration: now.Sub(start)}
	z.mu.Lock()
	z.attempts++
	p.ok(now)
	p.lastXfrType = kind
	z.lastXfr = info
	z.lastSuccess, z.lastErr, z.retrying, z.bootBackoff = now, "", false, bootstrapFirst
	z.expireAt = now.Add(expire)
	z.refreshAt = now.Add(jitter(iv.refresh))
	refreshAt, expireAt := z.refreshAt, z.expireAt
	z.mu.Unlock()

	if res.OutOfZone > 0 {
		log.Warningf("zone %s: transfer from %s: dropped %d records outside the zone (e.g. %v)", z.Origin, p.Addr, res.OutOfZone, res.OutOfZoneNames)
		e.emit(z, Event{Kind: EventWarning, Peer: p.Addr, Serial: nz.Serial(), Warning: WarnOutOfZone, Records: res.OutOfZone,
			Err: fmt.Errorf("dropped %d records outside the zone, e.g. %v", res.OutOfZone, res.OutOfZoneNames)})
	}
	e.emit(z, Event{Kind: EventTransfer, Peer: p.Addr, Serial: nz.Serial(), Type: kind, Records: nz.Len(), Bytes: res.Bytes, Duration: info.Duration})
	log.Infof("zone %s: transferred serial %d from %s by %s: %d records now, %d bytes in %s", z.Origin, nz.Serial(), p.Addr, kind, nz.Len(), res.Bytes, info.Duration.Round(time.Millisecond))
	e.schedule(z, evRefresh, refreshAt)
	e.unschedule(z, evExpire)
	e.schedule(z, evExpire, expireAt)
	e.flush(z)
	return nil
}

func (e *Engine) axfr(ctx context.Context, z *Zone, p *peerState) (*zone.Zone, xfr.Result, error) {
	b := zone.NewBuilder(z.Origin, z.settings.Limits)
	res, err := xfr.AXFR(ctx, p.xfrPeer(), z.Origin, z.settings.Xfr, b)
	if err != nil {
		return nil, res, err
	}
	nz, err := b.Zone()
	return nz, res, err
}

// ixfr asks for the changes since cur and applies them to copies of it, delta after delta, and
// returns the names it touched. It returns a nil zone when the primary says cur is up to date.
func (e *Engine) ixfr(ctx context.Context, z *Zone, p *peerState, cur *zone.Zone) (*zone.Zone, xfr.Result, []string, error) {
	var b *zone.Builder
	sink := sinkFunc(func(rr dns.RR) error {
		if b == nil {
			b = zone.NewBuilder(z.Origin, z.settings.Limits)
		}
		return b.Add(rr)
	})
	res, err := xfr.IXFR(ctx, p.xfrPeer(), z.Origin, cur.SOA(), z.settings.Xfr, sink)
	if err != nil {
		return nil, res.Result, nil, err
	}
	switch {
	case res.UpToDate:
		return nil, res.Result, nil, nil
	case res.Full:
		nz, err := b.Zone()
		return nz, res.Result, nil, err
	}
	nz := cur
	var touched []string
	for i, d := range res.Deltas {
		for _, rrs := range [][]dns.RR{d.Del, d.Add} {
			for _, rr := range rrs {
				touched = append(touched, rr.Header().Name)
			}
		}
		next, err := nz.Apply(append(d.Del, d.From), append(d.Add, d.To))
		if err != nil {
			return nil, res.Result, nil, fmt.Errorf("applying IXFR delta %d (serial %d to %d): %w", i+1, d.From.Serial, d.To.Serial, err)
		}
		nz = next
	}
	return nz, res.Result, append(touched, z.Origin), nil
}

// lacksIXFR tells a peer without IXFR (NOTIMP, FORMERR, REFUSED, an empty answer) from one that
// sent a broken IXFR once: only the first is asked for AXFR directly for a while.
func lacksIXFR(err error) bool {
	var rc *xfr.RcodeError
	if errors.As(err, &rc) {
		return true
	}
	return errors.Is(err, xfr.ErrEmptyIXFR)
}

type sinkFunc func(dns.RR) error

func (f sinkFunc) Add(rr dns.RR) error { return f(rr) }
