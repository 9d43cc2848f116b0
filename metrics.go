package cfsecondary

import (
	"sync"
	"time"

	"github.com/cfsecondary/cfsecondary/engine"

	"github.com/coredns/coredns/plugin"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// The metrics, as CoreDNS's plugins make theirs: registered with the default registry, which
// the prometheus plugin exports, under coredns_cfsecondary_*. The counters and histograms are
// fed by the engine's events (observe.go) and the NOTIFY handler; the per-zone and per-peer
// gauges are read from the live zones at scrape time by zoneCollector.

const metricsSubsystem = pluginName

var (
	transfersTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: metricsSubsystem,
		Name:      "transfers_total",
		Help:      "Counter of zone transfers from the primaries, by zone, type (axfr, ixfr) and result (success, failure).",
	}, []string{"zone", "type", "result"})

	transferDuration = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: plugin.Namespace,
		Subsystem: metricsSubsystem,
		Name:      "transfer_duration_seconds",
		Help:      "Histogram of the time zone transfers took, by type (axfr, ixfr) and result (success, failure).",
		Buckets:   []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600},
	}, []string{"type", "result"})

	transferBytes = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: metricsSubsystem,
		Name:      "transfer_bytes_total",
		Help:      "Counter of the bytes received in zone transfers (successful or not), by zone and type (axfr, ixfr).",
	}, []string{"zone", "type"})

	soaChecksTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: metricsSubsystem,
		Name:      "soa_checks_total",
		Help:      "Counter of SOA serial checks of the primaries, by zone and result (success, failure).",
	}, []string{"zone", "result"})

	notifiesReceived = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: metricsSubsystem,
		Name:      "notifies_received_total",
		Help:      "Counter of the NOTIFYs received for the zones, accepted or not, by zone.",
	}, []string{"zone"})

	notifiesAccepted = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: metricsSubsystem,
		Name:      "notifies_accepted_total",
		Help:      "Counter of the NOTIFYs accepted (answered and acted on), by zone.",
	}, []string{"zone"})

	notifiesRefused = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: metricsSubsystem,
		Name:      "notifies_refused_total",
		Help:      "Counter of the NOTIFYs refused or dropped, by zone and reason (tsig, policy, rate).",
	}, []string{"zone", "reason"})

	warningsTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: metricsSubsystem,
		Name:      "warnings_total",
		Help:      "Counter of problems with what a primary sent, by zone and warning (out_of_zone, serial_backwards, limit, tsig, invalid).",
	}, []string{"zone", "warning"})

	alertsTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: metricsSubsystem,
		Name:      "alerts_total",
		Help:      "Counter of the alerts raised, by zone, type (secondary_dns_*) and event (start, end, single).",
	}, []string{"zone", "type", "event"})

	webhookDeliveries = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: metricsSubsystem,
		Name:      "webhook_deliveries_total",
		Help:      "Counter of the alerts handed to webhooks, by result (delivered, failed, dropped).",
	}, []string{"result"})

	webhookRetries = promauto.NewCounter(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: metricsSubsystem,
		Name:      "webhook_retries_total",
		Help:      "Counter of webhook deliveries tried again after a timeout, a network error, a 429 or a 5xx answer.",
	})
)

// Reasons a NOTIFY is refused, the reason label of notifies_refused_total.
const (
	notifyTSIG   = "tsig"   // its TSIG did not verify
	notifyPolicy = "policy" // not from a primary or notify-from, not the SOA, or not signed as required
	notifyRate   = "rate"   // over notify-rate: dropped unanswered
)

// notifyAccepted counts a NOTIFY that is answered and acted on.
func notifyAccepted(zone string) {
	notifiesReceived.WithLabelValues(zone).Inc()
	notifiesAccepted.WithLabelValues(zone).Inc()
}

// notifyRefused counts a NOTIFY refused or dropped for reason.
func notifyRefused(zone, reason string) {
	notifiesReceived.WithLabelValues(zone).Inc()
	notifiesRefused.WithLabelValues(zone, reason).Inc()
}

func init() { prometheus.MustRegister(zoneCollector{}) }

// liveSet is the set of started plugin instances, whose zones the collector reports. A Corefile
// reload starts new instances and stops the old ones, so zones a reload removes disappear from
// the metrics, and one registration serves the whole process.
var liveSet struct {
	sync.Mutex
	instances map[*Secondary]struct{}
}

func trackLive(s *Secondary) {
	liveSet.Lock()
	if liveSet.instances == nil {
		liveSet.instances = map[*Secondary]struct{}{}
	}
	liveSet.instances[s] = struct{}{}
	liveSet.Unlock()
}

func untrackLive(s *Secondary) {
	liveSet.Lock()
	delete(liveSet.instances, s)
	liveSet.Unlock()
}

func liveInstances() []*Secondary {
	liveSet.Lock()
	defer liveSet.Unlock()
	out := make([]*Secondary, 0, len(liveSet.instances))
	for s := range liveSet.instances {
		out = append(out, s)
	}
	return out
}

func metricDesc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(prometheus.BuildFQName(plugin.Namespace, metricsSubsystem, name), help, labels, nil)
}

var (
	zoneSerialDesc      = metricDesc("zone_serial", "SOA serial of the zone data served; absent while the zone has none.", "zone")
	zoneRecordsDesc     = metricDesc("zone_records", "Records in the zone data served; absent while the zone has none.", "zone")
	zoneSuccessAgeDesc  = metricDesc("zone_last_success_age_seconds", "Seconds since the zone was last found current: a successful transfer, or an SOA check that found the serial served; absent before the first.", "zone")
	zoneExpiresDesc     = metricDesc("zone_expires_in_seconds", "Seconds until the zone expires unless a primary answers, 0 once expired; absent while the zone has no data.", "zone")
	zoneExpiredDesc     = metricDesc("zone_expired", "1 when the zone has expired and answers SERVFAIL, else 0.", "zone")
	zoneStateDesc       = metricDesc("zone_state", "1 for the zone's current state (loading, fresh, retrying, expired), 0 for the others.", "zone", "state")
	peerUpDesc          = metricDesc("peer_up", "1 when the primary answered the last time the zone asked it, 0 when it failed; absent until asked.", "zone", "peer")
	peerFailuresDesc    = metricDesc("peer_failures", "Failures in a row of the primary for the zone.", "zone", "peer")
	webhookQueueLenDesc = metricDesc("webhook_queue_length", "Alerts waiting for delivery to the webhooks, the one being delivered included.")
)

var zoneStates = []engine.State{engine.StateLoading, engine.StateFresh, engine.StateRetrying, engine.StateExpired}

// zoneCollector reports the zones of the live instances as they are at scrape time.
type zoneCollector struct{}

func (zoneCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{zoneSerialDesc, zoneRecordsDesc, zoneSuccessAgeDesc, zoneExpiresDesc,
		zoneExpiredDesc, zoneStateDesc, peerUpDesc, peerFailuresDesc, webhookQueueLenDesc} {
		ch <- d
	}
}

func (zoneCollector) Collect(ch chan<- prometheus.Metric) {
	now := time.Now()
	// A zone served by two server blocks is reported once: the same labels twice would fail
	// the whole scrape.
	seen := map[string]bool{}
	for _, s := range liveInstances() {
		for _, z := range s.engine.Zones() {
			if seen[z.Origin] {
				continue
			}
			seen[z.Origin] = true
			collectZone(ch, z.Status(), now)
		}
	}
	ch <- prometheus.MustNewConstMetric(webhookQueueLenDesc, prometheus.GaugeValue, float64(webhookQueueLen()))
}

func collectZone(ch chan<- prometheus.Metric, st engine.Status, now time.Time) {
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	z := st.Zone
	if st.State != engine.StateLoading {
		gauge(zoneSerialDesc, float64(st.Serial), z)
		gauge(zoneRecordsDesc, float64(st.Records), z)
	}
	if !st.LastSuccess.IsZero() {
		gauge(zoneSuccessAgeDesc, max(now.Sub(st.LastSuccess).Seconds(), 0), z)
	}
	if !st.ExpiresAt.IsZero() && st.State != engine.StateLoading {
		left := st.ExpiresAt.Sub(now).Seconds()
		if st.State == engine.StateExpired {
			left = 0
		}
		gauge(zoneExpiresDesc, max(left, 0), z)
	}
	gauge(zoneExpiredDesc, boolGauge(st.State == engine.StateExpired), z)
	for _, state := range zoneStates {
		gauge(zoneStateDesc, boolGauge(st.State == state), z, string(state))
	}
	for _, p := range st.Peers {
		if p.Up || p.Failures > 0 {
			gauge(peerUpDesc, boolGauge(p.Up), z, p.Addr)
		}
		gauge(peerFailuresDesc, float64(p.Failures), z, p.Addr)
	}
}

func boolGauge(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
