package engine

import (
	"net/netip"
	"runtime/debug"
	"sync/atomic"

	"github.com/cfsecondary/cfsecondary/store"
)

var netipZero netip.Addr

// flush writes the zone and its timers to disk after a change, in a goroutine of its own: a
// large zone takes a second or two to write, and a NOTIFY for the next change must not wait for
// that. Changes made while a write runs coalesce into one more write.
func (e *Engine) flush(z *Zone) {
	if z.settings.Store == nil {
		return
	}
	z.mu.Lock()
	if z.flushing {
		z.flushAgain = true
		z.mu.Unlock()
		return
	}
	z.flushing = true
	z.mu.Unlock()
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		for {
			data := z.Data()
			if err := z.settings.Store.SaveZone(data); err != nil {
				log.Errorf("zone %s: saving serial %d to disk failed: %v", z.Origin, data.Serial(), err)
			}
			e.saveState(z)
			z.mu.Lock()
			if !z.flushAgain {
				z.flushing = false
				z.mu.Unlock()
				releaseMemory(data.Len(), data.Bytes())
				return
			}
			z.flushAgain = false
			z.mu.Unlock()
		}
	}()
}

// saveState writes the zone's timers, so a restart resumes them instead of starting afresh.
func (e *Engine) saveState(z *Zone) {
	st := z.settings.Store
	data := z.Data()
	if st == nil || data == nil {
		return
	}
	z.mu.Lock()
	s := store.State{
		Zone:        z.Origin,
		Serial:      data.Serial(),
		Peer:        z.lastXfr.Peer,
		LastCheck:   z.lastCheck,
		LastSuccess: z.lastSuccess,
		ExpireAt:    z.expireAt,
		NextRefresh: z.refreshAt,
	}
	z.mu.Unlock()
	if err := st.SaveState(s); err != nil {
		log.Errorf("zone %s: saving its timers failed: %v", z.Origin, err)
	}
}

// bigZone is the size from which a full new version is worth handing memory back for.
const bigZone = 100_000

// Small zones add up: ten thousand of them transferred at startup leave a heap of garbage (the
// message buffers of each transfer, the versions they replace) that the runtime would give back
// over minutes. garbage estimates what the versions since the last release left behind, and
// past releaseAfter it is handed back at once.
var garbage atomic.Int64

const (
	releaseAfter = 64 << 20
	perVersion   = 64 << 10 // a transfer's or a load's own buffers, beside its records
)

// releaseMemory returns the memory of a replaced version of a big zone, or of enough small ones,
// and of writing it out, to the system at once rather than over the next minutes: an operator
// reads the resident size, and a secondary that holds twice its zones after every transfer is
// one that gets killed.
func releaseMemory(records int, bytes int64) {
	if records >= bigZone || garbage.Add(bytes+perVersion) >= releaseAfter {
		garbage.Store(0)
		debug.FreeOSMemory()
	}
}
