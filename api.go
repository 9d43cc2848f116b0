package cfsecondary

import (
	"fmt"
	"sync"
	"weak"

	"github.com/cfsecondary/cfsecondary/api"
	"github.com/cfsecondary/cfsecondary/engine"

	"github.com/coredns/coredns/plugin"
)

// The admin API and status page (package api) of the blocks that have an `api` line. Each
// plugin instance registers its zones on the listener of each address its blocks name, when it
// starts, and takes them off when it stops; package api shares one listener per address across
// the instances of the process (several server blocks, and the old and new instances of a
// Corefile reload).
//
// New, Start and Stop call apiConfigure, apiStart and apiStop. What they keep is indexed by a
// weak pointer to the instance, so an instance a reload discarded is not kept alive by it.

// apiPlan is one listener an instance asks for: an address, its token and the zones shown.
type apiPlan struct {
	addr, token string
	zones       []string // origins
	err         error    // two blocks of the instance name the address with different tokens
}

var apiState struct {
	sync.Mutex
	plans map[weak.Pointer[Secondary]][]apiPlan
	regs  map[weak.Pointer[Secondary]][]*api.Registration // while started
}

// apiConfigure records which zones of s go to which API address; New calls it.
func apiConfigure(s *Secondary, configs []Config) {
	var plans []apiPlan
	index := map[string]int{}
	for _, cfg := range configs {
		if cfg.API.Addr == "" {
			continue
		}
		i, ok := index[cfg.API.Addr]
		if !ok {
			i = len(plans)
			index[cfg.API.Addr] = i
			plans = append(plans, apiPlan{addr: cfg.API.Addr, token: cfg.API.Token})
		} else if plans[i].token != cfg.API.Token {
			plans[i].err = fmt.Errorf("api %s: named by two blocks with different tokens", cfg.API.Addr)
		}
		plans[i].zones = append(plans[i].zones, cfg.Zones...)
	}
	apiState.Lock()
	defer apiState.Unlock()
	if apiState.plans == nil {
		apiState.plans = map[weak.Pointer[Secondary]][]apiPlan{}
		apiState.regs = map[weak.Pointer[Secondary]][]*api.Registration{}
	}
	for k := range apiState.plans {
		if k.Value() == nil {
			delete(apiState.plans, k)
		}
	}
	if len(plans) > 0 {
		apiState.plans[weak.Make(s)] = plans
	}
}

// apiStart puts the zones of s on their API listeners, opening those not open yet; Start
// calls it. An address that cannot be listened on is an error, and the instance does not start.
func apiStart(s *Secondary) error {
	key := weak.Make(s)
	apiState.Lock()
	defer apiState.Unlock()
	plans := apiState.plans[key]
	if len(plans) == 0 || apiState.regs[key] != nil {
		return nil
	}
	var regs []*api.Registration
	for _, p := range plans {
		reg, err := apiListen(s, p)
		if err != nil {
			for _, r := range regs {
				r.Close()
			}
			return plugin.Error(pluginName, err)
		}
		regs = append(regs, reg)
	}
	apiState.regs[key] = regs
	return nil
}

func apiListen(s *Secondary, p apiPlan) (*api.Registration, error) {
	if p.err != nil {
		return nil, p.err
	}
	zones := make(api.Zones, 0, len(p.zones))
	for _, origin := range p.zones {
		if z := s.zones[origin]; z != nil {
			zones = append(zones, apiZone{e: s.engine, z: z.Zone})
		}
	}
	return api.Listen(p.addr, p.token, zones)
}

// apiStop takes the zones of s off their listeners, closing those nobody else uses; Stop
// calls it (a reload calls it twice on the old instance).
func apiStop(s *Secondary) {
	key := weak.Make(s)
	apiState.Lock()
	regs := apiState.regs[key]
	delete(apiState.regs, key)
	apiState.Unlock()
	for _, r := range regs {
		r.Close()
	}
}

// apiZone adapts an engine zone to api.Zone: force and refresh go through the scheduler.
type apiZone struct {
	e *engine.Engine
	z *engine.Zone
}

func (a apiZone) Name() string          { return a.z.Origin }
func (a apiZone) Status() engine.Status { return a.z.Status() }
func (a apiZone) Force()                { a.e.Force(a.z) }
func (a apiZone) Refresh()              { a.e.Check(a.z) }
