// Package cfsecondary is a CoreDNS plugin that makes CoreDNS a secondary DNS server: it
// transfers zones from their primaries by AXFR and IXFR with TSIG, keeps them fresh with SOA
// checks, retry and expire timers and NOTIFY, keeps them on disk across restarts, and answers
// for them authoritatively inside the plugin chain.
package cfsecondary

import (
	"fmt"
	"time"

	"github.com/cfsecondary/cfsecondary/dnssec"
	"github.com/cfsecondary/cfsecondary/engine"
	"github.com/cfsecondary/cfsecondary/store"
	"github.com/cfsecondary/cfsecondary/zone"

	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/pkg/fall"

	"github.com/miekg/dns"
)

// Secondary is the plugin: the zones of one server block and the engine that keeps them fresh.
type Secondary struct {
	Next plugin.Handler

	engine *engine.Engine
	zones  map[string]*servedZone // by origin, lower case
	ops    *ops                   // ops: metrics and alerts (observe.go)
}

// servedZone is what the query path needs of a zone, found with one map look-up per label.
type servedZone struct {
	*engine.Zone
	fall      fall.F
	notify    NotifyPolicy
	limit     *rateLimiter
	overrides overrides // nil for none
	dnssec    DNSSECConfig
	signer    *dnssec.Signer // nil unless the zone is signed online
}

// New builds the plugin for the given blocks; the zones are not loaded until Start. Zones found
// in from (the instance a reload replaces) keep their data and timers.
func New(configs []Config, from map[string]*engine.Zone) (*Secondary, error) {
	workers := 0
	for _, cfg := range configs {
		workers = max(workers, cfg.Workers)
	}
	s := &Secondary{engine: engine.New(workers), zones: map[string]*servedZone{}}
	stores := map[string]*store.Store{}
	for _, cfg := range configs {
		var st *store.Store
		if cfg.Dir != "" {
			if st = stores[cfg.Dir]; st == nil {
				var err error
				if st, err = store.Open(cfg.Dir); err != nil {
					return nil, fmt.Errorf("dir %s: %w", cfg.Dir, err)
				}
				stores[cfg.Dir] = st
			}
		}
		set := engine.Settings{Peers: cfg.Peers, Refresh: cfg.Refresh, Timers: cfg.Timers, Limits: cfg.Limits, Xfr: cfg.Xfr, Store: st}
		if cfg.DNSSEC.Mode == "presigned" {
			margin, err := parseValidate(cfg.DNSSEC.Args)
			if err != nil {
				return nil, err
			}
			if margin > 0 {
				set.Validate = func(z *zone.Zone, names []string) error {
					return dnssec.Validate(z, names, time.Now(), margin)
				}
			}
		}
		rate := cfg.Notify.Rate
		if rate == 0 {
			rate = DefaultNotifyRate
		}
		limit := newRateLimiter(rate)
		var sign *dnssec.Config
		if cfg.DNSSEC.Mode == "sign" || cfg.DNSSEC.Mode == "multi-signer" {
			c, err := dnssec.ParseArgs(cfg.DNSSEC.Mode, cfg.DNSSEC.Args)
			if err != nil {
				return nil, err
			}
			if c.KeyDir == "" {
				c.KeyDir = cfg.Dir
			}
			sign = &c
		}
		for _, origin := range cfg.Zones {
			z := s.engine.Add(origin, set, from[origin])
			sz := &servedZone{Zone: z, fall: cfg.Fall, notify: cfg.Notify, limit: limit,
				overrides: cfg.Overrides.forZone(origin), dnssec: cfg.DNSSEC}
			if sign != nil {
				keys, err := dnssec.EnsureKeys(sign.KeyDir, origin, sign.Algorithm)
				if err != nil {
					return nil, fmt.Errorf("zone %s: %w", origin, err)
				}
				if sz.signer, err = dnssec.NewSigner(origin, keys, sign.Options); err != nil {
					return nil, fmt.Errorf("zone %s: %w", origin, err)
				}
			}
			s.zones[origin] = sz
		}
	}
	s.ops = newOps(s, configs) // ops: metrics and alerts (observe.go)
	apiConfigure(s, configs)   // api: admin API and status page (api.go)
	return s, nil
}

// Start begins loading and refreshing the zones; CoreDNS calls it once the server is up.
func (s *Secondary) Start() error {
	clearHandover()
	s.ops.start() // ops: metrics and alerts (observe.go)
	s.engine.Start()
	return apiStart(s) // api: admin API and status page (api.go)
}

// Stop ends the transfers and timers.
func (s *Secondary) Stop() error { apiStop(s); s.engine.Stop(); s.ops.stop(); return nil } // ops: observe.go; api: api.go

// Name implements plugin.Handler.
func (s *Secondary) Name() string { return pluginName }

// Ready implements ready.Readiness: true once every zone has data to serve.
func (s *Secondary) Ready() bool {
	for _, z := range s.zones {
		if z.Data() == nil {
			return false
		}
	}
	return true
}

// zoneFor returns the most specific zone that qname is in, walking its labels from the left: the
// cost grows with the labels of the name, not with the number of zones.
func (s *Secondary) zoneFor(qname string) *servedZone {
	for off, end := 0, false; !end; off, end = dns.NextLabel(qname, off) {
		if z, ok := s.zones[qname[off:]]; ok {
			return z
		}
	}
	return s.zones["."]
}
