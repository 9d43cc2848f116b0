// Package engine keeps secondary zones fresh: it decides when to check a zone's primaries and
// when to transfer it, and it is the one place that knows a zone's state. It holds each zone's
// current data as an immutable *zone.Zone behind an atomic pointer, so the query path reads it
// without waiting on a transfer.
package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/cfsecondary/cfsecondary/xfr"
	"github.com/cfsecondary/cfsecondary/zone"

	clog "github.com/coredns/coredns/plugin/pkg/log"
)

var log = clog.NewWithPlugin("cfsecondary")

// Peer is a primary a zone is transferred from.
type Peer struct {
	Addr string   // ip:port
	Key  *xfr.Key // nil: no TSIG
	IXFR bool     // ask for IXFR before AXFR
}

func (p Peer) xfrPeer() xfr.Peer { return xfr.Peer{Addr: p.Addr, Key: p.Key} }

// Settings are what a zone is configured with.
type Settings struct {
	Peers   []Peer        // tried in order
	Refresh time.Duration // 0: use the SOA REFRESH
	Limits  zone.Limits
	Xfr     xfr.Options
}

// Engine runs the zones' refresh loops.
type Engine struct {
	mu      sync.Mutex
	zones   map[string]*Zone
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	started bool
}

// New returns an engine with no zones.
func New() *Engine { return &Engine{zones: map[string]*Zone{}} }

// Add registers a zone. It must be called before Start.
func (e *Engine) Add(origin string, s Settings) *Zone {
	e.mu.Lock()
	defer e.mu.Unlock()
	z := &Zone{Origin: origin, settings: s, kick: make(chan struct{}, 1)}
	e.zones[origin] = z
	return z
}

// Zone returns the zone with this origin, or nil.
func (e *Engine) Zone(origin string) *Zone {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.zones[origin]
}

// Start begins transferring and refreshing every zone in the background.
func (e *Engine) Start() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.started {
		return
	}
	e.started = true
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	for _, z := range e.zones {
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			e.run(ctx, z)
		}()
	}
}

// Stop ends the background work and waits for it; a transfer under way is abandoned and the
// zone keeps the data it had.
func (e *Engine) Stop() {
	e.mu.Lock()
	cancel := e.cancel
	e.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	e.wg.Wait()
}

// Bootstrap backoff while a zone has never been loaded: start fast so a primary that comes up
// a moment after us is picked up at once, then back off so a dead one is not hammered.
const (
	bootstrapFirst = 1 * time.Second
	bootstrapMax   = 5 * time.Minute
	minInterval    = 1 * time.Second
)

func (e *Engine) run(ctx context.Context, z *Zone) {
	backoff := bootstrapFirst
	for {
		var err error
		if z.Data() == nil || z.force.Swap(false) {
			err = e.load(ctx, z)
		} else {
			err = e.refresh(ctx, z)
		}
		var wait time.Duration
		switch {
		case err == nil:
			wait = z.refreshInterval()
			backoff = bootstrapFirst
		case z.Data() == nil:
			wait = backoff
			backoff = min(2*backoff, bootstrapMax)
		default:
			wait = z.retryInterval()
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		case <-z.kick:
			t.Stop()
		}
	}
}

// load transfers the whole zone from the first peer that gives a good copy: at startup, and when
// a transfer is forced.
func (e *Engine) load(ctx context.Context, z *Zone) error {
	var errs []error
	for _, p := range z.settings.Peers {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		err := e.transfer(ctx, z, p)
		if err == nil {
			return nil
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// refresh asks the peers, in order, for the zone's SOA; the first that answers decides. When its
// serial is newer the zone is transferred from that same peer, so the serial checked and the
// data fetched come from one server.
func (e *Engine) refresh(ctx context.Context, z *Zone) error {
	cur := z.Data()
	var errs []error
	for _, p := range z.settings.Peers {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		soa, err := xfr.QuerySOA(ctx, p.xfrPeer(), z.Origin, z.settings.Xfr)
		z.setChecked(time.Now())
		if err != nil {
			log.Warningf("zone %s: SOA check of %s failed: %v", z.Origin, p.Addr, err)
			errs = append(errs, err)
			continue
		}
		if !SerialNewer(soa.Serial, cur.Serial()) {
			log.Debugf("zone %s: %s has serial %d, ours is %d: up to date", z.Origin, p.Addr, soa.Serial, cur.Serial())
			return nil
		}
		if err := e.transfer(ctx, z, p); err != nil {
			errs = append(errs, err)
			continue
		}
		return nil
	}
	return errors.Join(errs...)
}

// transfer pulls the whole zone from p into a new snapshot and swaps it in. Whatever goes wrong,
// the snapshot being served stays: it is replaced only by a complete, valid and newer copy.
func (e *Engine) transfer(ctx context.Context, z *Zone, p Peer) error {
	start := time.Now()
	b := zone.NewBuilder(z.Origin, z.settings.Limits)
	res, err := xfr.AXFR(ctx, p.xfrPeer(), z.Origin, z.settings.Xfr, b)
	if err == nil {
		var nz *zone.Zone
		if nz, err = b.Zone(); err == nil {
			if cur := z.Data(); cur != nil && SerialNewer(cur.Serial(), nz.Serial()) {
				err = fmt.Errorf("serial %d is older than the %d being served", nz.Serial(), cur.Serial())
			} else {
				z.data.Store(nz)
			}
		}
	}
	z.attempts.Add(1)
	if err != nil {
		msg := err.Error()
		z.lastErr.Store(&msg)
		log.Errorf("zone %s: transfer from %s failed, keeping the data served: %v", z.Origin, p.Addr, err)
		return err
	}
	z.lastErr.Store(nil)
	if res.OutOfZone > 0 {
		log.Warningf("zone %s: transfer from %s: dropped %d records outside the zone (e.g. %v)", z.Origin, p.Addr, res.OutOfZone, res.OutOfZoneNames)
	}
	log.Infof("zone %s: transferred serial %d from %s by AXFR: %d records, %d bytes in %s", z.Origin, res.Serial, p.Addr, res.Records, res.Bytes, time.Since(start).Round(time.Millisecond))
	return nil
}

// SerialNewer reports whether serial a is newer than b by RFC 1982 serial arithmetic. A
// difference of exactly 2^31 is undefined there, and is not trusted as newer.
func SerialNewer(a, b uint32) bool {
	d := a - b
	return d != 0 && d < 1<<31
}
