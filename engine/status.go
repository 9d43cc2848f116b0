package engine

import "time"

// State is where a zone stands.
type State string

const (
	StateLoading  State = "loading"  // no data yet: never loaded from disk or by a transfer
	StateFresh    State = "fresh"    // the last refresh succeeded
	StateRetrying State = "retrying" // the last refresh failed; the data is served until it expires
	StateExpired  State = "expired"  // no primary answered for EXPIRE: the zone answers SERVFAIL
)

// Status is a consistent copy of what the engine knows of a zone, for the status API, the
// metrics and the alerts.
type Status struct {
	Zone         string
	State        State
	Serial       uint32 // of the data served; 0 while loading
	Records      int
	Refresh      time.Duration // the interval in force
	LastCheck    time.Time     // last SOA check that got an answer (Cloudflare's checked_time)
	LastSuccess  time.Time     // last transfer or up-to-date check
	NextRefresh  time.Time
	ExpiresAt    time.Time // zero while loading
	LastError    string
	LastTransfer TransferInfo // zero before the first transfer (modified_time is its At)
	Attempts     int64
	Peers        []PeerStatus
}

// PeerStatus is the health of one primary as this zone sees it.
type PeerStatus struct {
	Addr        string
	Key         string // TSIG key name, "" for none
	IXFR        bool   // configured to ask for IXFR
	Up          bool   // answered the last time it was asked
	Failures    int    // in a row
	LastOK      time.Time
	LastFail    time.Time
	LastError   string
	NoIXFRUntil time.Time // asked for AXFR directly until then
	LastXfrType string    // "axfr" or "ixfr" of the last transfer from it
}

// Status returns the zone's status now.
func (z *Zone) Status() Status {
	data := z.Data()
	z.mu.Lock()
	defer z.mu.Unlock()
	st := Status{
		Zone:         z.Origin,
		LastCheck:    z.lastCheck,
		LastSuccess:  z.lastSuccess,
		NextRefresh:  z.refreshAt,
		ExpiresAt:    z.expireAt,
		LastError:    z.lastErr,
		LastTransfer: z.lastXfr,
		Attempts:     z.attempts,
		Refresh:      z.settings.Refresh,
	}
	switch {
	case data == nil:
		st.State = StateLoading
	case z.expired.Load():
		st.State = StateExpired
	case z.retrying:
		st.State = StateRetrying
	default:
		st.State = StateFresh
	}
	if data != nil {
		st.Serial, st.Records = data.Serial(), data.Len()
		st.Refresh = intervalsFor(data.SOA(), z.settings.Refresh, z.settings.Timers).refresh
	}
	for _, p := range z.peers {
		ps := PeerStatus{
			Addr: p.Addr, IXFR: p.IXFR, Up: p.up(), Failures: p.failures,
			LastOK: p.lastOK, LastFail: p.lastFail, LastError: p.lastErr,
			NoIXFRUntil: p.noIXFRUntil, LastXfrType: p.lastXfrType,
		}
		if p.Key != nil {
			ps.Key = p.Key.Name
		}
		st.Peers = append(st.Peers, ps)
	}
	return st
}
