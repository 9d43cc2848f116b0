package cfsecondary

import (
	"sync"

	"github.com/cfsecondary/cfsecondary/engine"
)

// handover carries zones from the plugin instances a Corefile reload replaces to the ones that
// replace them. Caddy runs the old instances' OnRestart, then the new instances' setup, then
// their OnStartup: the old ones put their zones here, the new ones take them in setup, and the
// first to start clears what nobody took.
var handover struct {
	sync.Mutex
	zones map[string]*engine.Zone
}

func giveHandover(s *Secondary) {
	handover.Lock()
	defer handover.Unlock()
	if handover.zones == nil {
		handover.zones = map[string]*engine.Zone{}
	}
	for origin, z := range s.zones {
		handover.zones[origin] = z.Zone
	}
}

func takeHandover() map[string]*engine.Zone {
	handover.Lock()
	defer handover.Unlock()
	out := handover.zones
	return out
}

func clearHandover() {
	handover.Lock()
	handover.zones = nil
	handover.Unlock()
}
