package cfsecondary

import (
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cfsecondary/cfsecondary/alert"
	"github.com/cfsecondary/cfsecondary/engine"
)

// ops turns the engine's events of one plugin instance into metrics and alerts. Every alert is
// logged, counted in coredns_cfsecondary_alerts_total and, when the zone's block has a
// webhook, queued for delivery; nothing here waits on the network.
type ops struct {
	s     *Secondary
	alert map[string]AlertConfig // by zone origin

	mu      sync.RWMutex
	started bool
	hooks   map[AlertConfig]*alert.Webhook // while started
}

// newOps wires the engine's events of s to the metrics and alerts; call it before Start.
func newOps(s *Secondary, configs []Config) *ops {
	o := &ops{s: s, alert: map[string]AlertConfig{}}
	for _, cfg := range configs {
		for _, origin := range cfg.Zones {
			o.alert[origin] = cfg.Alerts
		}
	}
	s.engine.Observe(o.observe)
	return o
}

// start makes the instance's zones visible to the metrics collector and opens its webhooks.
func (o *ops) start() {
	if o == nil {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.started {
		return
	}
	o.started = true
	o.hooks = map[AlertConfig]*alert.Webhook{}
	for _, cfg := range o.alert {
		if cfg.Webhook != "" && o.hooks[cfg] == nil {
			o.hooks[cfg] = acquireWebhook(cfg)
		}
	}
	trackLive(o.s)
}

// stop undoes start. It may be called more than once: a reload calls Stop twice.
func (o *ops) stop() {
	if o == nil {
		return
	}
	o.mu.Lock()
	if !o.started {
		o.mu.Unlock()
		return
	}
	o.started = false
	hooks := o.hooks
	o.hooks = nil
	o.mu.Unlock()
	untrackLive(o.s)
	for cfg := range hooks {
		releaseWebhook(cfg)
	}
}

// observe is the engine's Observer: it runs in the zone's work goroutine and must not block.
func (o *ops) observe(z *engine.Zone, ev engine.Event) {
	zone := z.Origin
	switch ev.Kind {
	case engine.EventCheck:
		soaChecksTotal.WithLabelValues(zone, "success").Inc()
		o.health(z.Status(), false)
	case engine.EventCheckFailed:
		soaChecksTotal.WithLabelValues(zone, "failure").Inc()
	case engine.EventTransfer:
		if sz := o.s.zones[zone]; sz != nil && sz.signer != nil {
			// The new version's DNSKEY RRset and NSEC3 chain, built here rather than by the
			// first query that needs them.
			go sz.signer.Prepare(z.Data())
		}
		countTransfer(ev, "success")
		o.health(z.Status(), false)
		o.raise(alert.Alert{
			Type: alert.ZoneUpdated, Time: ev.Time, Zone: zone, Serial: ev.Serial, Peer: ev.Peer,
			Records: ev.Records, TransferType: ev.Type,
		})
	case engine.EventTransferFailed:
		countTransfer(ev, "failure")
	case engine.EventWarning:
		warningsTotal.WithLabelValues(zone, ev.Warning).Inc()
		a := alert.Alert{Type: alert.Warning, Time: ev.Time, Zone: zone, Serial: ev.Serial, Peer: ev.Peer, Warning: ev.Warning}
		if ev.Err != nil {
			a.Error = ev.Err.Error()
		}
		if ev.Warning == engine.WarnOutOfZone {
			a.Records = ev.Records
		}
		if a.Serial == 0 {
			a.Serial = z.Status().Serial
		}
		o.raise(a)
	case engine.EventRefreshFailed:
		o.health(z.Status(), true)
	}
}

func countTransfer(ev engine.Event, result string) {
	typ := ev.Type
	if typ == "" {
		typ = "axfr"
	}
	transfersTotal.WithLabelValues(ev.Zone, typ, result).Inc()
	transferDuration.WithLabelValues(typ, result).Observe(ev.Duration.Seconds())
	if ev.Bytes > 0 {
		transferBytes.WithLabelValues(ev.Zone, typ).Add(float64(ev.Bytes))
	}
}

// openFailures holds the failures open, process-wide so that a Corefile reload, which replaces
// the plugin instances but keeps the zones, neither opens a failure again nor loses its end.
// The key is the zone and its primaries.
var openFailures struct {
	sync.Mutex
	open map[string]*failure
}

type failure struct {
	typ   alert.Type
	id    string // the correlation ID of its start and end
	since time.Time
}

// failingKind reads the peers' health after a refresh or a part of one: the failing alert
// that should be open ("" for none), the peers failing, and whether it can tell at all. A peer
// is failing when its last attempt failed; one that has not been asked yet counts for nothing.
// All failing is only known when a whole refresh failed (every peer was tried); until then
// the state stays as it is.
func failingKind(peers []engine.PeerStatus, refreshFailed bool) (alert.Type, []engine.PeerStatus, bool) {
	var bad []engine.PeerStatus
	up := 0
	for _, p := range peers {
		switch {
		case p.Failures > 0:
			bad = append(bad, p)
		case p.Up:
			up++
		}
	}
	switch {
	case len(bad) == 0:
		return "", nil, true
	case up > 0:
		return alert.PrimariesFailing, bad, true
	case refreshFailed:
		return alert.AllPrimariesFailing, bad, true
	}
	return "", nil, false
}

// health opens, closes or switches the zone's failing alert from its peers' health: a failure
// opens once (one start) and closes once (one end), however many refreshes it lasts.
func (o *ops) health(st engine.Status, refreshFailed bool) {
	want, bad, known := failingKind(st.Peers, refreshFailed)
	if !known {
		return
	}
	addrs := make([]string, len(st.Peers))
	for i, p := range st.Peers {
		addrs[i] = p.Addr
	}
	key := st.Zone + " " + strings.Join(addrs, ",")

	openFailures.Lock()
	defer openFailures.Unlock() // held while raising, so the start and end of one zone stay in order
	cur := openFailures.open[key]
	if (cur == nil && want == "") || (cur != nil && cur.typ == want) {
		return
	}
	now := time.Now()
	if cur != nil {
		delete(openFailures.open, key)
		o.raise(alert.Alert{
			Type: cur.typ, Event: alert.End, CorrelationID: cur.id, Time: now, Zone: st.Zone, Serial: st.Serial,
			Text: endText(cur.typ, st.Zone, now.Sub(cur.since)),
		})
	}
	if want == "" {
		return
	}
	f := &failure{typ: want, id: alert.NewID(), since: now}
	if openFailures.open == nil {
		openFailures.open = map[string]*failure{}
	}
	openFailures.open[key] = f
	a := alert.Alert{Type: want, Event: alert.Start, CorrelationID: f.id, Time: now, Zone: st.Zone, Serial: st.Serial}
	var errs []string
	for _, p := range bad {
		a.FailingPeers = append(a.FailingPeers, p.Addr)
		if p.LastError != "" && !slices.Contains(errs, p.LastError) {
			errs = append(errs, p.LastError)
		}
	}
	a.Peer = bad[0].Addr
	a.Error = strings.Join(errs, "; ")
	o.raise(a)
}

func endText(t alert.Type, zone string, lasted time.Duration) string {
	if t == alert.AllPrimariesFailing {
		return "Zone " + zone + ": a primary answers again, after " + lasted.Round(time.Second).String() + " with all failing"
	}
	return "Zone " + zone + ": no primary failing any more, after " + lasted.Round(time.Second).String()
}

// raise logs a, counts it, and queues it for the zone's webhook.
func (o *ops) raise(a alert.Alert) {
	event := "single"
	switch a.Event {
	case alert.Start:
		event = "start"
	case alert.End:
		event = "end"
	}
	if a.CorrelationID == "" {
		a.CorrelationID = alert.NewID() // an alert of its own
	}
	alertsTotal.WithLabelValues(a.Zone, string(a.Type), event).Inc()
	text := a.Describe()
	if a.Event == alert.End || a.Type == alert.ZoneUpdated {
		log.Infof("alert %s %s: %s", a.Type, event, text)
	} else {
		log.Warningf("alert %s %s: %s", a.Type, event, text)
	}
	o.mu.RLock()
	hook := o.hooks[o.alert[a.Zone]]
	o.mu.RUnlock()
	if hook != nil {
		hook.Send(a)
	}
}

// Webhooks are shared by every instance with the same URL and secret and outlive a Corefile
// reload: the old instance releases them before the new one takes them, so each lingers a
// while unused instead of closing, and alerts queued or being retried are not lost.
var sharedWebhooks struct {
	sync.Mutex
	m map[AlertConfig]*sharedWebhook
}

type sharedWebhook struct {
	w    *alert.Webhook
	refs int
	gen  int // bumped on every acquire, so a stale linger timer does not close it
}

const (
	webhookDrain  = time.Second      // Stop waits this long at most for the queued alerts
	webhookLinger = 10 * time.Second // an unused webhook stays open this long for a reload
)

func acquireWebhook(cfg AlertConfig) *alert.Webhook {
	sharedWebhooks.Lock()
	defer sharedWebhooks.Unlock()
	if sharedWebhooks.m == nil {
		sharedWebhooks.m = map[AlertConfig]*sharedWebhook{}
	}
	h := sharedWebhooks.m[cfg]
	if h == nil {
		h = &sharedWebhook{w: alert.NewWebhook(alert.Options{
			URL: cfg.Webhook, Secret: cfg.Secret,
			Observe: observeDelivery,
			Logf:    log.Warningf,
		})}
		sharedWebhooks.m[cfg] = h
	}
	h.refs++
	h.gen++
	return h.w
}

func releaseWebhook(cfg AlertConfig) {
	sharedWebhooks.Lock()
	h := sharedWebhooks.m[cfg]
	if h == nil {
		sharedWebhooks.Unlock()
		return
	}
	h.refs--
	if h.refs > 0 {
		sharedWebhooks.Unlock()
		return
	}
	gen := h.gen
	sharedWebhooks.Unlock()

	// Give the last alerts a moment to go out: at shutdown this is all they get.
	h.w.Flush(webhookDrain)
	time.AfterFunc(webhookLinger, func() {
		sharedWebhooks.Lock()
		if sharedWebhooks.m[cfg] != h || h.refs > 0 || h.gen != gen {
			sharedWebhooks.Unlock()
			return
		}
		delete(sharedWebhooks.m, cfg)
		sharedWebhooks.Unlock()
		h.w.Close(0)
	})
}

func webhookQueueLen() int {
	sharedWebhooks.Lock()
	defer sharedWebhooks.Unlock()
	n := 0
	for _, h := range sharedWebhooks.m {
		n += h.w.Len()
	}
	return n
}

func observeDelivery(o alert.Outcome, _ alert.Alert) {
	if o == alert.Retried {
		webhookRetries.Inc()
		return
	}
	webhookDeliveries.WithLabelValues(string(o)).Inc()
}
