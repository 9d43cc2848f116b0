// Package cfsecondary is a CoreDNS plugin that makes CoreDNS a secondary DNS server: it
// transfers zones from their primaries by AXFR with TSIG, keeps them fresh, and answers for
// them authoritatively inside the plugin chain.
package cfsecondary

import (
	"github.com/cfsecondary/cfsecondary/engine"

	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/pkg/fall"

	"github.com/miekg/dns"
)

// Secondary is the plugin: the zones of one server block and the engine that keeps them fresh.
type Secondary struct {
	Next plugin.Handler

	engine *engine.Engine
	zones  map[string]*servedZone // by origin, lower case
}

// servedZone is what the query path needs of a zone, found with one map look-up per label.
type servedZone struct {
	*engine.Zone
	fall fall.F
}

// New builds the plugin for the given blocks; the zones are not transferred until Start.
func New(configs []Config) (*Secondary, error) {
	s := &Secondary{engine: engine.New(), zones: map[string]*servedZone{}}
	for _, cfg := range configs {
		set := engine.Settings{Peers: cfg.Peers, Refresh: cfg.Refresh, Limits: cfg.Limits, Xfr: cfg.Xfr}
		for _, origin := range cfg.Zones {
			s.zones[origin] = &servedZone{Zone: s.engine.Add(origin, set), fall: cfg.Fall}
		}
	}
	return s, nil
}

// Start begins transferring the zones; CoreDNS calls it once the server is up.
func (s *Secondary) Start() error { s.engine.Start(); return nil }

// Stop ends the transfers and timers.
func (s *Secondary) Stop() error { s.engine.Stop(); return nil }

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
