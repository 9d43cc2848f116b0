package store

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/miekg/dns"
)

// State is what a secondary must remember about a zone besides its data,
// so its timers survive a restart (Knot's timer DB, NSD's xfrd.state):
// Serial is the serial of the data the timers belong to.
type State struct {
	Zone        string    `json:"zone"`
	Serial      uint32    `json:"serial"`
	Peer        string    `json:"peer"`         // ip:port the data came from
	LastCheck   time.Time `json:"last_check"`   // last SOA check that got an answer (zero: none)
	LastSuccess time.Time `json:"last_success"` // last transfer or up-to-date check
	ExpireAt    time.Time `json:"expire_at"`    // when the data expires unless refreshed
	NextRefresh time.Time `json:"next_refresh"`
}

// maxState bounds what readState reads: a state file is a few hundred
// bytes, anything much bigger is not one.
const maxState = 64 << 10

// encodeState writes st as indented JSON, small enough for a human to read.
func encodeState(w *bufio.Writer, st State) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("store: encoding state of %s: %v", st.Zone, err)
	}
	b = append(b, '\n')
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("store: writing state of %s: %v", st.Zone, err)
	}
	return nil
}

// readState returns the timers saved for the zone origin whose data has
// the given serial.
//
// A state file that is missing, unreadable, not JSON or about another zone
// counts as absent, and one about other data (another serial) keeps only
// its Peer: the timers start fresh, with LastSuccess and ExpireAt zero,
// which is safe because the caller then checks the primary at once, and
// at worst transfers a zone it already had.
func readState(path, origin string, serial uint32) State {
	fresh := State{Zone: origin, Serial: serial}
	f, err := os.Open(path)
	if err != nil {
		return fresh
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxState+1))
	if err != nil || len(b) > maxState {
		return fresh
	}
	var st State
	if err := json.Unmarshal(b, &st); err != nil {
		return fresh
	}
	if !sameName(st.Zone, origin) {
		return fresh
	}
	if st.Serial != serial {
		fresh.Peer = st.Peer
		return fresh
	}
	st.Zone = origin
	return st
}

// sameName reports whether a and b are the same zone name.
func sameName(a, b string) bool {
	if a == "" || b == "" {
		return false
	}
	x, err1 := escapeName(a)
	y, err2 := escapeName(b)
	return err1 == nil && err2 == nil && x == y
}

// canonical returns the name as package zone spells a zone's origin.
func canonical(name string) string {
	return dns.CanonicalName(name)
}
