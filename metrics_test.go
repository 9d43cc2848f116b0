package cfsecondary

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cfsecondary/cfsecondary/alert"
	"github.com/cfsecondary/cfsecondary/engine"
	"github.com/cfsecondary/cfsecondary/internal/testutil"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

func opsMustMetric(t *testing.T, name string, labels map[string]string) float64 {
	t.Helper()
	v, ok := testutil.Metric(t, name, labels)
	if !ok {
		t.Fatalf("no series %s%v", name, labels)
	}
	return v
}

var opsRun atomic.Int64

// opsName makes a zone name unique in the process, so that the counters, which live as long
// as the process, start from zero in every test, with -count=N too.
func opsName(name string) string { return fmt.Sprintf("r%d.%s", opsRun.Add(1), name) }

func opsTestSecondary(t *testing.T, cfgs ...Config) *Secondary {
	t.Helper()
	for i := range cfgs {
		if cfgs[i].Timers == (engine.Timers{}) {
			cfgs[i].Timers = engine.DefaultTimers()
		}
	}
	s, err := New(cfgs, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestZoneCollector: the per-zone gauges of a started instance, read at scrape time, gone once
// it stops.
func TestZoneCollector(t *testing.T) {
	origin := opsName("collector.metrics.test.")
	s := opsTestSecondary(t, Config{Zones: []string{origin}, Peers: []engine.Peer{{Addr: "127.0.0.1:1"}}})
	zl := map[string]string{"zone": origin}

	if _, ok := testutil.Metric(t, "coredns_cfsecondary_zone_state", zl); ok {
		t.Fatal("a zone reported before its instance started")
	}
	s.ops.start() // no engine: the zone stays loading
	defer s.ops.stop()
	if v := opsMustMetric(t, "coredns_cfsecondary_zone_state", map[string]string{"zone": origin, "state": "loading"}); v != 1 {
		t.Errorf("zone_state loading = %v, want 1", v)
	}
	if v := opsMustMetric(t, "coredns_cfsecondary_zone_state", map[string]string{"zone": origin, "state": "fresh"}); v != 0 {
		t.Errorf("zone_state fresh = %v, want 0", v)
	}
	if v := opsMustMetric(t, "coredns_cfsecondary_zone_expired", zl); v != 0 {
		t.Errorf("zone_expired = %v", v)
	}
	for _, name := range []string{"zone_serial", "zone_records", "zone_last_success_age_seconds", "zone_expires_in_seconds", "peer_up"} {
		if _, ok := testutil.Metric(t, "coredns_cfsecondary_"+name, zl); ok {
			t.Errorf("%s reported for a zone never loaded", name)
		}
	}
	if v := opsMustMetric(t, "coredns_cfsecondary_peer_failures", map[string]string{"zone": origin, "peer": "127.0.0.1:1"}); v != 0 {
		t.Errorf("peer_failures = %v", v)
	}
	s.ops.stop()
	if _, ok := testutil.Metric(t, "coredns_cfsecondary_zone_state", zl); ok {
		t.Error("a zone still reported after its instance stopped")
	}
	s.ops.stop() // twice, as a reload does
}

// TestCollectZone: the gauges of zones in each state.
func TestCollectZone(t *testing.T) {
	now := time.Now()
	st := engine.Status{
		Zone: "z.", State: engine.StateFresh, Serial: 42, Records: 7,
		LastSuccess: now.Add(-90 * time.Second), ExpiresAt: now.Add(time.Hour),
		Peers: []engine.PeerStatus{
			{Addr: "192.0.2.1:53", Up: true},
			{Addr: "192.0.2.2:53", Failures: 3},
			{Addr: "192.0.2.3:53"}, // never asked
		},
	}
	got := opsCollect(st, now)
	want := map[string]float64{
		`zone_serial{zone="z."}`:                       42,
		`zone_records{zone="z."}`:                      7,
		`zone_last_success_age_seconds{zone="z."}`:     90,
		`zone_expires_in_seconds{zone="z."}`:           3600,
		`zone_expired{zone="z."}`:                      0,
		`zone_state{state="fresh",zone="z."}`:          1,
		`zone_state{state="retrying",zone="z."}`:       0,
		`peer_up{peer="192.0.2.1:53",zone="z."}`:       1,
		`peer_up{peer="192.0.2.2:53",zone="z."}`:       0,
		`peer_failures{peer="192.0.2.2:53",zone="z."}`: 3,
		`peer_failures{peer="192.0.2.3:53",zone="z."}`: 0,
		`zone_state{state="expired",zone="z."}`:        0,
		`zone_state{state="loading",zone="z."}`:        0,
		`peer_failures{peer="192.0.2.1:53",zone="z."}`: 0,
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s = %v (present %v), want %v", k, g, ok, v)
		}
	}
	if _, ok := got[`peer_up{peer="192.0.2.3:53",zone="z."}`]; ok {
		t.Error("peer_up for a peer never asked")
	}

	st.State, st.ExpiresAt = engine.StateExpired, now.Add(-time.Minute)
	got = opsCollect(st, now)
	if got[`zone_expired{zone="z."}`] != 1 || got[`zone_expires_in_seconds{zone="z."}`] != 0 || got[`zone_state{state="expired",zone="z."}`] != 1 {
		t.Errorf("expired zone: %v", got)
	}
}

// opsCollect runs collectZone and returns its series as name{labels} → value.
func opsCollect(st engine.Status, now time.Time) map[string]float64 {
	ch := make(chan prometheus.Metric, 100)
	collectZone(ch, st, now)
	close(ch)
	out := map[string]float64{}
	for m := range ch {
		var d dto.Metric
		m.Write(&d)
		name := m.Desc().String()
		name = name[strings.Index(name, `fqName: "`)+len(`fqName: "`):]
		name = strings.TrimPrefix(name[:strings.Index(name, `"`)], "coredns_cfsecondary_")
		var labels []string
		for _, l := range d.GetLabel() {
			labels = append(labels, l.GetName()+`="`+l.GetValue()+`"`)
		}
		out[name+"{"+strings.Join(labels, ",")+"}"] = testutil.MetricValue(&d)
	}
	return out
}

// TestObserveCounts: the engine's events feed the counters and histograms.
func TestObserveCounts(t *testing.T) {
	origin := opsName("observe.metrics.test.")
	s := opsTestSecondary(t, Config{Zones: []string{origin}, Peers: []engine.Peer{{Addr: "127.0.0.1:1"}}})
	z := s.zones[origin].Zone
	hist := func(typ, result string) float64 {
		v, _ := testutil.Metric(t, "coredns_cfsecondary_transfer_duration_seconds", map[string]string{"type": typ, "result": result})
		return v
	}
	ixfrOK, axfrFail := hist("ixfr", "success"), hist("axfr", "failure")

	ev := func(e engine.Event) engine.Event { e.Zone = origin; e.Time = time.Now(); return e }
	s.ops.observe(z, ev(engine.Event{Kind: engine.EventTransfer, Type: "axfr", Serial: 1, Records: 10, Bytes: 1000, Duration: time.Second}))
	s.ops.observe(z, ev(engine.Event{Kind: engine.EventTransfer, Type: "ixfr", Serial: 2, Records: 11, Bytes: 100, Duration: time.Millisecond}))
	s.ops.observe(z, ev(engine.Event{Kind: engine.EventTransferFailed, Type: "axfr", Bytes: 10, Err: errors.New("boom")}))
	s.ops.observe(z, ev(engine.Event{Kind: engine.EventCheck, Serial: 2}))
	s.ops.observe(z, ev(engine.Event{Kind: engine.EventCheckFailed, Err: errors.New("timeout")}))
	s.ops.observe(z, ev(engine.Event{Kind: engine.EventCheckFailed, Err: errors.New("timeout")}))
	s.ops.observe(z, ev(engine.Event{Kind: engine.EventWarning, Warning: engine.WarnOutOfZone, Records: 3, Err: errors.New("dropped 3")}))

	zl := func(kv ...string) map[string]string {
		m := map[string]string{"zone": origin}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	checks := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"transfers_total", zl("type", "axfr", "result", "success"), 1},
		{"transfers_total", zl("type", "ixfr", "result", "success"), 1},
		{"transfers_total", zl("type", "axfr", "result", "failure"), 1},
		{"transfer_bytes_total", zl("type", "axfr"), 1010},
		{"transfer_bytes_total", zl("type", "ixfr"), 100},
		{"soa_checks_total", zl("result", "success"), 1},
		{"soa_checks_total", zl("result", "failure"), 2},
		{"warnings_total", zl("warning", "out_of_zone"), 1},
		{"alerts_total", zl("type", string(alert.ZoneUpdated), "event", "single"), 2},
		{"alerts_total", zl("type", string(alert.Warning), "event", "single"), 1},
	}
	for _, c := range checks {
		if v := opsMustMetric(t, "coredns_cfsecondary_"+c.name, c.labels); v != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, v, c.want)
		}
	}
	if d := hist("ixfr", "success") - ixfrOK; d != 1 {
		t.Errorf("ixfr success durations observed: %v, want 1", d)
	}
	if d := hist("axfr", "failure") - axfrFail; d != 1 {
		t.Errorf("axfr failure durations observed: %v, want 1", d)
	}
}

func TestNotifyCounters(t *testing.T) {
	origin := opsName("notify.metrics.test.")
	notifyAccepted(origin)
	notifyAccepted(origin)
	notifyRefused(origin, notifyPolicy)
	notifyRefused(origin, notifyTSIG)
	notifyRefused(origin, notifyRate)
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"notifies_received_total", map[string]string{"zone": origin}, 5},
		{"notifies_accepted_total", map[string]string{"zone": origin}, 2},
		{"notifies_refused_total", map[string]string{"zone": origin, "reason": "policy"}, 1},
		{"notifies_refused_total", map[string]string{"zone": origin, "reason": "tsig"}, 1},
		{"notifies_refused_total", map[string]string{"zone": origin, "reason": "rate"}, 1},
	} {
		if v := opsMustMetric(t, "coredns_cfsecondary_"+c.name, c.labels); v != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, v, c.want)
		}
	}
}

func TestFailingKind(t *testing.T) {
	up := engine.PeerStatus{Addr: "a", Up: true}
	down := engine.PeerStatus{Addr: "b", Failures: 2}
	unasked := engine.PeerStatus{Addr: "c"}
	for _, c := range []struct {
		name          string
		peers         []engine.PeerStatus
		refreshFailed bool
		want          alert.Type
		known         bool
	}{
		{"all up", []engine.PeerStatus{up, up}, false, "", true},
		{"one up, one never asked", []engine.PeerStatus{up, unasked}, false, "", true},
		{"one down, one up", []engine.PeerStatus{down, up}, false, alert.PrimariesFailing, true},
		{"all down, refresh failed", []engine.PeerStatus{down, down}, true, alert.AllPrimariesFailing, true},
		{"one down, rest not asked yet", []engine.PeerStatus{down, unasked}, false, "", false},
		{"single peer down, refresh failed", []engine.PeerStatus{down}, true, alert.AllPrimariesFailing, true},
	} {
		got, _, known := failingKind(c.peers, c.refreshFailed)
		if got != c.want || known != c.known {
			t.Errorf("%s: %q %v, want %q %v", c.name, got, known, c.want, c.known)
		}
	}
}

// TestFailingOpensOnceClosesOnce: the failing alerts start once and end once, with one
// correlation ID, whatever the number of refreshes in between, and reach the webhook.
func TestFailingOpensOnceClosesOnce(t *testing.T) {
	origin := opsName("failing.metrics.test.")
	var mu sync.Mutex
	var got []alert.Payload
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := alert.Verify("k", r.Header, body, time.Minute); err != nil {
			t.Errorf("delivery: %v", err)
		}
		var p alert.Payload
		json.Unmarshal(body, &p)
		mu.Lock()
		got = append(got, p)
		mu.Unlock()
	}))
	defer srv.Close()
	s := opsTestSecondary(t, Config{
		Zones: []string{origin}, Peers: []engine.Peer{{Addr: "192.0.2.1:53"}, {Addr: "192.0.2.2:53"}},
		Alerts: AlertConfig{Webhook: srv.URL, Secret: "k"},
	})
	s.ops.start()
	defer s.ops.stop()

	status := func(a, b engine.PeerStatus) engine.Status {
		a.Addr, b.Addr = "192.0.2.1:53", "192.0.2.2:53"
		return engine.Status{Zone: origin, Serial: 5, Peers: []engine.PeerStatus{a, b}}
	}
	up := engine.PeerStatus{Up: true}
	down := engine.PeerStatus{Failures: 1, LastError: "SOA check: connection refused"}
	unasked := engine.PeerStatus{}

	s.ops.health(status(up, unasked), false)   // healthy: nothing
	s.ops.health(status(down, unasked), false) // mid-refresh: unknown, nothing
	s.ops.health(status(down, down), true)     // all failing: start
	s.ops.health(status(down, down), true)     // still: nothing
	s.ops.health(status(down, down), true)     // still: nothing
	s.ops.health(status(down, up), false)      // one answers: all ends, some starts
	s.ops.health(status(down, up), false)      // still: nothing
	s.ops.health(status(up, up), false)        // recovered: some ends
	s.ops.health(status(up, unasked), false)   // nothing

	want := []struct {
		typ   alert.Type
		event alert.Event
	}{
		{alert.AllPrimariesFailing, alert.Start},
		{alert.AllPrimariesFailing, alert.End},
		{alert.PrimariesFailing, alert.Start},
		{alert.PrimariesFailing, alert.End},
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n >= len(want) || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // nothing more comes
	mu.Lock()
	defer mu.Unlock()
	if len(got) != len(want) {
		t.Fatalf("%d deliveries, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		if got[i].AlertType != w.typ || got[i].AlertEvent != w.event || got[i].Data.Zone != origin {
			t.Errorf("delivery %d: %s %s %s, want %s %s", i, got[i].AlertType, got[i].AlertEvent, got[i].Data.Zone, w.typ, w.event)
		}
	}
	if got[0].CorrelationID == "" || got[0].CorrelationID != got[1].CorrelationID || got[2].CorrelationID != got[3].CorrelationID || got[0].CorrelationID == got[2].CorrelationID {
		t.Errorf("correlation IDs %q %q %q %q", got[0].CorrelationID, got[1].CorrelationID, got[2].CorrelationID, got[3].CorrelationID)
	}
	if got[0].Data.Error != "SOA check: connection refused" || len(got[0].Data.FailingPeers) != 2 {
		t.Errorf("all failing start data: %+v", got[0].Data)
	}
	if got[2].Data.Peer != "192.0.2.1:53" || len(got[2].Data.FailingPeers) != 1 {
		t.Errorf("primaries failing start data: %+v", got[2].Data)
	}
	for _, c := range []struct {
		typ   alert.Type
		event string
	}{{alert.AllPrimariesFailing, "start"}, {alert.AllPrimariesFailing, "end"}, {alert.PrimariesFailing, "start"}, {alert.PrimariesFailing, "end"}} {
		if v := opsMustMetric(t, "coredns_cfsecondary_alerts_total", map[string]string{"zone": origin, "type": string(c.typ), "event": c.event}); v != 1 {
			t.Errorf("alerts_total %s %s = %v, want 1", c.typ, c.event, v)
		}
	}
	if v, _ := testutil.Metric(t, "coredns_cfsecondary_webhook_deliveries_total", map[string]string{"result": "delivered"}); v < 4 {
		t.Errorf("webhook_deliveries_total delivered = %v, want at least 4", v)
	}
}
