// Package engine keeps secondary zones fresh. It is modelled on Knot DNS's per-zone events:
// each zone has a few kinds of event (load, refresh, expire, force), each with its own handler,
// scheduled on one timer heap and run by a bounded pool of workers. A zone runs at most one
// event at a time; events asked for while it runs coalesce into the next run, so ten NOTIFYs
// during a transfer make one more check, not ten.
//
// The engine is the one place that knows a zone's state (loading, fresh, retrying, expired). It
// holds the data being served as an immutable *zone.Zone behind an atomic pointer, so the query
// path never waits on a transfer.
package engine

import (
	"container/heap"
	"context"
	"net/netip"
	"sync"
	"time"

	clog "github.com/coredns/coredns/plugin/pkg/log"
)

var log = clog.NewWithPlugin("cfsecondary")

// event is a kind of work on a zone.
type event int

const (
	evLoad    event = iota // read the zone from disk at startup
	evExpire               // the EXPIRE timer ran out
	evForce                // transfer the whole zone now, whatever the serials
	evRefresh              // check the SOA serial and transfer if newer (also retry and NOTIFY)
	numEvents
)

// DefaultWorkers bounds the zones being refreshed or transferred at once (BIND's transfers-in).
const DefaultWorkers = 10

// Engine schedules the zones' events and runs them.
type Engine struct {
	workers  int
	observer Observer

	mu      sync.Mutex // guards the schedule: the heap and every zone's due/running/queued
	zones   map[string]*Zone
	timers  timerHeap
	ready   []*Zone // due, waiting for a worker
	wake    chan struct{}
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	started bool
}

// New returns an engine with no zones; workers ≤ 0 means DefaultWorkers.
func New(workers int) *Engine {
	if workers <= 0 {
		workers = DefaultWorkers
	}
	return &Engine{workers: workers, zones: map[string]*Zone{}, wake: make(chan struct{}, 1)}
}

// Add registers a zone before Start. When from is not nil (the same zone in the instance a
// Corefile reload replaces) its data, timers and peer health carry over.
func (e *Engine) Add(origin string, s Settings, from *Zone) *Zone {
	z := newZone(origin, s)
	if from != nil {
		z.adopt(from)
	}
	e.mu.Lock()
	e.zones[origin] = z
	e.mu.Unlock()
	return z
}

// Zones returns the zones, in no particular order.
func (e *Engine) Zones() []*Zone {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]*Zone, 0, len(e.zones))
	for _, z := range e.zones {
		out = append(out, z)
	}
	return out
}

// Start begins the work: zones not yet loaded are read from disk or transferred, adopted ones
// resume their timers. Start after Stop resumes.
func (e *Engine) Start() {
	e.mu.Lock()
	if e.started {
		e.mu.Unlock()
		return
	}
	e.started = true
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	e.mu.Unlock()

	now := time.Now()
	for _, z := range e.Zones() {
		z.mu.Lock()
		loaded, refreshAt, expireAt := z.loaded, z.refreshAt, z.expireAt
		z.mu.Unlock()
		if !loaded {
			e.schedule(z, evLoad, now)
			continue
		}
		e.schedule(z, evRefresh, refreshAt)
		if !expireAt.IsZero() && !z.Expired() {
			e.schedule(z, evExpire, expireAt)
		}
	}

	work := make(chan *Zone)
	e.wg.Add(1 + e.workers)
	go func() {
		defer e.wg.Done()
		e.dispatch(ctx, work)
	}()
	for range e.workers {
		go func() {
			defer e.wg.Done()
			for z := range work {
				e.run(ctx, z)
			}
		}()
	}
}

// Stop ends the background work and waits for it. A transfer under way is abandoned and the
// zone keeps the data it had; the events still due stay recorded for a later Start.
func (e *Engine) Stop() {
	e.mu.Lock()
	cancel := e.cancel
	e.started = false
	e.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	e.wg.Wait()
	e.mu.Lock()
	e.timers, e.ready = nil, nil
	for _, z := range e.zones {
		z.running, z.queued = false, false
	}
	e.mu.Unlock()
}

// schedule asks for ev on z at time at (or earlier if it is already due earlier).
func (e *Engine) schedule(z *Zone, ev event, at time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if d := z.due[ev]; d.IsZero() || at.Before(d) {
		z.due[ev] = at
	}
	e.push(z)
}

// unschedule cancels ev on z.
func (e *Engine) unschedule(z *Zone, ev event) {
	e.mu.Lock()
	z.due[ev] = time.Time{}
	e.mu.Unlock()
}

// push puts z on the timer heap at its next due time, unless it is running or waiting for a
// worker (it is pushed again when that run ends). Stale heap entries are skipped when popped.
func (e *Engine) push(z *Zone) {
	if z.running || z.queued {
		return
	}
	next, ok := z.nextDue()
	if !ok {
		return
	}
	heap.Push(&e.timers, timerEntry{at: next, zone: z})
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

func (z *Zone) nextDue() (time.Time, bool) {
	var next time.Time
	for _, d := range z.due {
		if !d.IsZero() && (next.IsZero() || d.Before(next)) {
			next = d
		}
	}
	return next, !next.IsZero()
}

// dispatch pops due zones off the heap and hands them to the workers.
func (e *Engine) dispatch(ctx context.Context, work chan<- *Zone) {
	defer close(work)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		e.mu.Lock()
		now := time.Now()
		for len(e.timers) > 0 && !e.timers[0].at.After(now) {
			ent := heap.Pop(&e.timers).(timerEntry)
			z := ent.zone
			if next, ok := z.nextDue(); !ok || !next.Equal(ent.at) || z.running || z.queued {
				continue // stale: the zone was rescheduled, or is busy and re-pushed later
			}
			z.queued = true
			e.ready = append(e.ready, z)
		}
		var next *Zone
		if len(e.ready) > 0 {
			next, e.ready = e.ready[0], e.ready[1:]
		}
		wait := time.Hour
		if len(e.timers) > 0 {
			wait = e.timers[0].at.Sub(now)
		}
		e.mu.Unlock()

		if next != nil {
			select {
			case work <- next:
			case <-ctx.Done():
				return
			}
			continue
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-e.wake:
		case <-timer.C:
		}
	}
}

// run takes the events due on z and runs their handlers, then puts z back on the heap for its
// next event.
func (e *Engine) run(ctx context.Context, z *Zone) {
	e.mu.Lock()
	z.queued, z.running = false, true
	now := time.Now()
	var due [numEvents]bool
	for ev, at := range z.due {
		if !at.IsZero() && !at.After(now) {
			due[ev] = true
			z.due[ev] = time.Time{}
		}
	}
	e.mu.Unlock()

	if due[evLoad] {
		e.load(z)
	}
	if due[evExpire] {
		e.expire(z)
	}
	switch {
	case due[evForce]:
		e.refresh(ctx, z, true)
	case due[evRefresh]:
		e.refresh(ctx, z, false)
	}

	e.mu.Lock()
	z.running = false
	if ctx.Err() == nil {
		e.push(z)
	}
	e.mu.Unlock()
}

// Check asks for an SOA check of z as soon as possible.
func (e *Engine) Check(z *Zone) { e.schedule(z, evRefresh, time.Now()) }

// Force asks for a full transfer of z as soon as possible, whatever the serials say: the
// on-demand transfer an operator uses after fixing a primary by hand.
func (e *Engine) Force(z *Zone) { e.schedule(z, evForce, time.Now()) }

// Notify handles a NOTIFY for z that the caller has authorised: the sender, when it is a peer,
// is asked first (RFC 1996 §3.11), and the check runs at once on a worker, never in the
// caller's goroutine. A NOTIFY whose SOA serial hint is not newer than the data served is
// ignored, as Knot and BIND do: floods of repeats cost nothing. It reports whether a check was
// scheduled.
func (e *Engine) Notify(z *Zone, from netip.Addr, serial uint32, hasSerial bool) bool {
	if d := z.Data(); hasSerial && d != nil && !z.Expired() && !SerialNewer(serial, d.Serial()) {
		return false
	}
	if z.IsPeer(from) {
		z.mu.Lock()
		z.preferred = from
		z.mu.Unlock()
	}
	e.Check(z)
	return true
}

// timerHeap orders zones by the time of their next event.
type timerHeap []timerEntry

type timerEntry struct {
	at   time.Time
	zone *Zone
}

func (h timerHeap) Len() int           { return len(h) }
func (h timerHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h timerHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *timerHeap) Push(x any)        { *h = append(*h, x.(timerEntry)) }
func (h *timerHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
