package engine

import (
	"net/netip"
	"time"

	"github.com/cfsecondary/cfsecondary/xfr"
)

// Peer is a primary a zone is transferred from.
type Peer struct {
	Addr string   // ip:port
	Key  *xfr.Key // nil: no TSIG
	IXFR bool     // ask for IXFR before AXFR
}

func (p Peer) xfrPeer() xfr.Peer { return xfr.Peer{Addr: p.Addr, Key: p.Key} }

// IP is the peer's address without the port.
func (p Peer) IP() netip.Addr {
	ap, err := netip.ParseAddrPort(p.Addr)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// peerState is what a zone knows of one of its peers' health. Guarded by the zone's mu.
type peerState struct {
	Peer
	failures     int       // in a row
	backoffUntil time.Time // tried after the healthy peers until then
	lastErr      string
	lastOK       time.Time // last time it answered a check or completed a transfer
	lastFail     time.Time
	noIXFRUntil  time.Time // asked for AXFR directly until then
	lastXfrType  string    // "axfr" or "ixfr"
}

func (p *peerState) ok(now time.Time) {
	p.failures, p.backoffUntil, p.lastErr, p.lastOK = 0, time.Time{}, "", now
}

func (p *peerState) fail(now time.Time, err error) {
	p.failures++
	p.lastErr, p.lastFail = err.Error(), now
	d := peerBackoffFirst << min(p.failures-1, 10)
	p.backoffUntil = now.Add(min(d, peerBackoffMax))
}

// up reports whether the peer answered last time it was asked.
func (p *peerState) up() bool { return p.failures == 0 && !p.lastOK.IsZero() }

// order returns the peers to try, in order: the sender of a NOTIFY first (RFC 1996 §3.11),
// then the configured order, except that peers backing off after failures go last.
func order(peers []*peerState, preferred netip.Addr, now time.Time) []*peerState {
	out := make([]*peerState, 0, len(peers))
	var first *peerState
	if preferred.IsValid() {
		for _, p := range peers {
			if p.IP() == preferred {
				first = p
				out = append(out, p)
				break
			}
		}
	}
	for _, late := range []bool{false, true} {
		for _, p := range peers {
			if p != first && p.backoffUntil.After(now) == late {
				out = append(out, p)
			}
		}
	}
	return out
}
