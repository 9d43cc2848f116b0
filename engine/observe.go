package engine

import (
	"errors"
	"time"

	"github.com/cfsecondary/cfsecondary/xfr"
	"github.com/cfsecondary/cfsecondary/zone"
)

// EventKind says what happened to a zone.
type EventKind string

const (
	EventCheck          EventKind = "check"           // an SOA check got an answer (Serial is the peer's)
	EventCheckFailed    EventKind = "check_failed"    // an SOA check failed (Err)
	EventTransfer       EventKind = "transfer"        // a transfer succeeded and its version is served
	EventTransferFailed EventKind = "transfer_failed" // a transfer failed; the served version stays
	EventWarning        EventKind = "warning"         // a problem with what a primary sent (Warning says which)
	EventExpired        EventKind = "expired"         // the zone expired: SERVFAIL from now on
	EventRefreshFailed  EventKind = "refresh_failed"  // a whole refresh failed: no peer gave an answer or a good transfer
)

// Warning kinds, the validation problems of Cloudflare's "Secondary DNS Warning" alert.
const (
	WarnOutOfZone       = "out_of_zone"      // records outside the zone dropped
	WarnSerialBackwards = "serial_backwards" // a primary has an older serial than the one served
	WarnLimit           = "limit"            // a transfer went over a configured limit
	WarnTSIG            = "tsig"             // a TSIG failure
	WarnInvalid         = "invalid"          // the zone broke a rule (CNAME and other data, no SOA…)
)

// Event is something that happened to a zone, for metrics and alerts.
type Event struct {
	Kind     EventKind
	Time     time.Time
	Zone     string
	Peer     string // ip:port, "" when it concerns no single peer
	Serial   uint32
	Type     string // "axfr" or "ixfr", for transfers
	Records  int    // served after a transfer; dropped, for an out-of-zone warning
	Bytes    int64
	Duration time.Duration
	Warning  string // for EventWarning
	Err      error
}

// Observer is told of every event, in the goroutine of the zone's work: it must not block.
// It may call z.Status().
type Observer func(z *Zone, ev Event)

// Observe sets the observer; call it before Start.
func (e *Engine) Observe(o Observer) { e.observer = o }

func (e *Engine) emit(z *Zone, ev Event) {
	if e.observer == nil {
		return
	}
	ev.Zone = z.Origin
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	e.observer(z, ev)
}

// ErrRejected is wrapped by the error of a version that Settings.Validate refused.
var ErrRejected = errors.New("rejected by validation")

// warningFor classifies a failed transfer for the warning alert, or "" when it is not a problem
// with the data (a timeout, a refused connection).
func warningFor(err error) string {
	var te *xfr.TSIGError
	switch {
	case errors.As(err, &te):
		return WarnTSIG
	case errors.Is(err, zone.ErrLimit):
		return WarnLimit
	case errors.Is(err, zone.ErrInvalid), errors.Is(err, ErrRejected):
		return WarnInvalid
	}
	return ""
}
