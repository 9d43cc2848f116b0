package test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cfsecondary/cfsecondary/internal/fakeprimary"
	"github.com/cfsecondary/cfsecondary/internal/testutil"

	"github.com/coredns/caddy"
	"github.com/miekg/dns"
)

// opsWant checks a metric's value now.
func opsWant(t *testing.T, name string, labels map[string]string, want float64) {
	t.Helper()
	got, ok := testutil.Metric(t, name, labels)
	if !ok || got != want {
		t.Errorf("%s%v = %v (present: %v), want %v", name, labels, got, ok, want)
	}
}

// opsWaitMetric waits until a metric satisfies cond.
func opsWaitMetric(t *testing.T, timeout time.Duration, name string, labels map[string]string, cond func(float64) bool) {
	t.Helper()
	var last float64
	var ok bool
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if last, ok = testutil.Metric(t, name, labels); ok && cond(last) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s%v (now %v, present %v)", timeout, name, labels, last, ok)
}

var opsRun atomic.Int64

// opsName makes a zone name unique in the process, so that the counters, which live as long
// as the process, start from zero in every test, with -count=N too.
func opsName(name string) string { return fmt.Sprintf("r%d.%s", opsRun.Add(1), name) }

func opsLabels(kv ...string) map[string]string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// opsNotify sends an unsigned NOTIFY for zone from the address from (127.0.0.x) and returns
// the answer, nil when none came.
func opsNotify(t *testing.T, from, addr, zone string) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetNotify(zone)
	c := &dns.Client{Timeout: 500 * time.Millisecond, Dialer: &net.Dialer{LocalAddr: &net.UDPAddr{IP: net.ParseIP(from)}}}
	r, _, _ := c.Exchange(m, addr)
	return r
}

// TestOpsMetricsTransfers: the metrics after a real AXFR, an IXFR brought by an accepted
// NOTIFY, a failed transfer and a refused NOTIFY, read from the registry and scraped from the
// prometheus plugin.
func TestOpsMetricsTransfers(t *testing.T) {
	origin := opsName("xfr.opsmetrics.test.")
	primary := fakeprimary.Start(t, origin, fakeprimary.Zone(origin, 1, 20))
	port, mport := freePort(t), freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	startCoreDNS(t, fmt.Sprintf(`%s:%d {
		bind 127.0.0.1
		prometheus 127.0.0.1:%d
		cfsecondary {
			peer %s ixfr
			dir %s
		}
	}`, origin, port, mport, primary.Addr, t.TempDir()))
	z := opsLabels("zone", origin)
	zl := func(kv ...string) map[string]string { return opsLabels(append([]string{"zone", origin}, kv...)...) }
	peer := zl("peer", primary.Addr)

	// The first transfer: AXFR.
	waitFor(t, 10*time.Second, "serial 1", func() bool { return serialAt(addr, origin) == 1 })
	opsWaitMetric(t, 5*time.Second, "coredns_cfsecondary_transfers_total", zl("type", "axfr", "result", "success"), func(v float64) bool { return v == 1 })
	if v, _ := testutil.Metric(t, "coredns_cfsecondary_transfer_bytes_total", zl("type", "axfr")); v < 500 {
		t.Errorf("transfer_bytes_total axfr = %v, want the size of a 23-record zone", v)
	}
	if v, _ := testutil.Metric(t, "coredns_cfsecondary_transfer_duration_seconds", opsLabels("type", "axfr", "result", "success")); v < 1 {
		t.Errorf("transfer_duration_seconds axfr success has %v samples", v)
	}
	opsWant(t, "coredns_cfsecondary_zone_serial", z, 1)
	opsWant(t, "coredns_cfsecondary_zone_records", z, 23)
	opsWant(t, "coredns_cfsecondary_zone_expired", z, 0)
	opsWant(t, "coredns_cfsecondary_zone_state", zl("state", "fresh"), 1)
	opsWant(t, "coredns_cfsecondary_peer_up", peer, 1)
	opsWant(t, "coredns_cfsecondary_peer_failures", peer, 0)
	if v, _ := testutil.Metric(t, "coredns_cfsecondary_zone_last_success_age_seconds", z); v < 0 || v > 5 {
		t.Errorf("zone_last_success_age_seconds = %v, want a few seconds at most", v)
	}
	if v, _ := testutil.Metric(t, "coredns_cfsecondary_zone_expires_in_seconds", z); v < 604800-10 || v > 604800 {
		t.Errorf("zone_expires_in_seconds = %v, want about the SOA EXPIRE 604800", v)
	}
	// Raised right after the transfer is counted, in the same goroutine: wait for it too.
	opsWaitMetric(t, 5*time.Second, "coredns_cfsecondary_alerts_total", zl("type", "secondary_dns_zone_successfully_updated", "event", "single"), func(v float64) bool { return v == 1 })

	// An accepted NOTIFY brings serial 2 by IXFR.
	primary.SetRecords(fakeprimary.Zone(origin, 2, 21))
	if err := primary.Notify(addr); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "serial 2", func() bool { return serialAt(addr, origin) == 2 })
	opsWaitMetric(t, 5*time.Second, "coredns_cfsecondary_transfers_total", zl("type", "ixfr", "result", "success"), func(v float64) bool { return v == 1 })
	opsWant(t, "coredns_cfsecondary_transfers_total", zl("type", "axfr", "result", "success"), 1)
	opsWant(t, "coredns_cfsecondary_notifies_received_total", z, 1)
	opsWant(t, "coredns_cfsecondary_notifies_accepted_total", z, 1)
	opsWant(t, "coredns_cfsecondary_soa_checks_total", zl("result", "success"), 1)
	opsWant(t, "coredns_cfsecondary_zone_serial", z, 2)
	opsWant(t, "coredns_cfsecondary_zone_records", z, 24)
	if v, _ := testutil.Metric(t, "coredns_cfsecondary_transfer_bytes_total", zl("type", "ixfr")); v <= 0 {
		t.Errorf("transfer_bytes_total ixfr = %v", v)
	}

	// A NOTIFY for serial 3 whose transfer breaks: counted as a failure, the peer is down, the
	// only primary failing opens the all-failing alert, serial 2 stays.
	primary.SetMode(fakeprimary.Mode{NoFinalSOA: true})
	primary.SetRecords(fakeprimary.Zone(origin, 3, 22))
	if err := primary.Notify(addr); err != nil {
		t.Fatal(err)
	}
	opsWaitMetric(t, 5*time.Second, "coredns_cfsecondary_transfers_total", zl("result", "failure"), func(v float64) bool { return v >= 1 })
	opsWaitMetric(t, 5*time.Second, "coredns_cfsecondary_zone_state", zl("state", "retrying"), func(v float64) bool { return v == 1 })
	opsWant(t, "coredns_cfsecondary_peer_up", peer, 0)
	if v, _ := testutil.Metric(t, "coredns_cfsecondary_peer_failures", peer); v < 1 {
		t.Errorf("peer_failures = %v, want 1 or more", v)
	}
	// Raised once the failed refresh is reported, just after the state shows it: wait for it.
	opsWaitMetric(t, 5*time.Second, "coredns_cfsecondary_alerts_total", zl("type", "secondary_dns_all_primaries_failing", "event", "start"), func(v float64) bool { return v == 1 })
	opsWant(t, "coredns_cfsecondary_notifies_accepted_total", z, 2)
	opsWant(t, "coredns_cfsecondary_soa_checks_total", zl("result", "success"), 2)
	opsWant(t, "coredns_cfsecondary_zone_serial", z, 2)
	opsWant(t, "coredns_cfsecondary_transfers_total", zl("result", "success"), 2)

	// A NOTIFY from a stranger is refused and counted so.
	if r := opsNotify(t, "127.0.0.4", addr, origin); r == nil || r.Rcode != dns.RcodeRefused {
		t.Fatalf("NOTIFY from a stranger: %v, want REFUSED", r)
	}
	opsWant(t, "coredns_cfsecondary_notifies_refused_total", zl("reason", "policy"), 1)
	opsWant(t, "coredns_cfsecondary_notifies_received_total", z, 3)
	opsWant(t, "coredns_cfsecondary_notifies_accepted_total", z, 2)

	// The prometheus plugin exports them.
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", mport))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, line := range []string{
		fmt.Sprintf(`coredns_cfsecondary_transfers_total{result="success",type="ixfr",zone=%q} 1`, origin),
		fmt.Sprintf(`coredns_cfsecondary_zone_serial{zone=%q} 2`, origin),
		fmt.Sprintf(`coredns_cfsecondary_notifies_refused_total{reason="policy",zone=%q} 1`, origin),
		fmt.Sprintf(`coredns_cfsecondary_peer_up{peer=%q,zone=%q} 0`, primary.Addr, origin),
	} {
		if !strings.Contains(string(body), line+"\n") {
			t.Errorf("the prometheus plugin's /metrics lacks %q", line)
		}
	}
}

// TestOpsMetricsBind: against a real BIND primary, SOA checks and the peer's health follow it
// going down and coming back.
func TestOpsMetricsBind(t *testing.T) {
	origin := opsName("bind.opsmetrics.test")
	b := startBind(t, nil, "allow-transfer { any; };", BindZone{Name: origin, Text: opsZoneText(origin, 1)})
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	startCoreDNS(t, fmt.Sprintf(`%s:%d {
		bind 127.0.0.1
		cfsecondary {
			peer %s
			refresh 1s
			min-retry-time 1s
			max-retry-time 1s
			dir %s
		}
	}`, origin, port, b.Addr, t.TempDir()))
	z := opsLabels("zone", origin+".")
	zl := func(kv ...string) map[string]string {
		return opsLabels(append([]string{"zone", origin + "."}, kv...)...)
	}
	peer := zl("peer", b.Addr)

	waitFor(t, 10*time.Second, "serial 1", func() bool { return serialAt(addr, origin) == 1 })
	opsWant(t, "coredns_cfsecondary_transfers_total", zl("type", "axfr", "result", "success"), 1)
	opsWant(t, "coredns_cfsecondary_zone_records", z, 4)
	opsWaitMetric(t, 5*time.Second, "coredns_cfsecondary_soa_checks_total", zl("result", "success"), func(v float64) bool { return v >= 1 })
	opsWant(t, "coredns_cfsecondary_peer_up", peer, 1)

	b.Stop()
	opsWaitMetric(t, 10*time.Second, "coredns_cfsecondary_peer_up", peer, func(v float64) bool { return v == 0 })
	opsWaitMetric(t, 5*time.Second, "coredns_cfsecondary_soa_checks_total", zl("result", "failure"), func(v float64) bool { return v >= 1 })
	opsWant(t, "coredns_cfsecondary_zone_state", zl("state", "retrying"), 1)
	opsWant(t, "coredns_cfsecondary_zone_serial", z, 1) // still served

	b.Start(t)
	opsWaitMetric(t, 10*time.Second, "coredns_cfsecondary_peer_up", peer, func(v float64) bool { return v == 1 })
	opsWaitMetric(t, 5*time.Second, "coredns_cfsecondary_zone_state", zl("state", "fresh"), func(v float64) bool { return v == 1 })
	opsWant(t, "coredns_cfsecondary_peer_failures", peer, 0)
	if v, _ := testutil.Metric(t, "coredns_cfsecondary_zone_last_success_age_seconds", z); v > 3 {
		t.Errorf("zone_last_success_age_seconds = %v after the primary came back", v)
	}
	opsWant(t, "coredns_cfsecondary_transfers_total", zl("result", "success"), 1) // nothing changed: no transfer
}

// TestOpsMetricsReload: a Corefile reload that drops a zone drops its gauges, keeps the
// others', and makes no duplicate series.
func TestOpsMetricsReload(t *testing.T) {
	kept, dropped := opsName("kept.opsmetrics.test."), opsName("dropped.opsmetrics.test.")
	pk := fakeprimary.Start(t, kept, fakeprimary.Zone(kept, 5, 2))
	pd := fakeprimary.Start(t, dropped, fakeprimary.Zone(dropped, 7, 2))
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	dir := t.TempDir()
	block := func(origin, peer string) string {
		return fmt.Sprintf("%s:%d {\n bind 127.0.0.1\n cfsecondary {\n  peer %s\n  dir %s\n }\n}\n", origin, port, peer, dir)
	}
	inst := startCoreDNS(t, block(kept, pk.Addr)+block(dropped, pd.Addr))
	waitFor(t, 10*time.Second, "both zones", func() bool { return serialAt(addr, kept) == 5 && serialAt(addr, dropped) == 7 })
	opsWant(t, "coredns_cfsecondary_zone_serial", opsLabels("zone", kept), 5)
	opsWant(t, "coredns_cfsecondary_zone_serial", opsLabels("zone", dropped), 7)

	caddyMu.Lock()
	next, err := inst.Restart(caddy.CaddyfileInput{Contents: []byte(block(kept, pk.Addr)), Filepath: "Corefile", ServerTypeName: "dns"})
	caddyMu.Unlock()
	if err != nil {
		t.Fatalf("reload: %v", err)
	}
	t.Cleanup(func() { stopCoreDNS(next) })
	opsWant(t, "coredns_cfsecondary_zone_serial", opsLabels("zone", kept), 5)
	if _, ok := testutil.Metric(t, "coredns_cfsecondary_zone_serial", opsLabels("zone", dropped)); ok {
		t.Error("the zone the reload removed is still reported")
	}
	if _, ok := testutil.Metric(t, "coredns_cfsecondary_zone_state", opsLabels("zone", dropped)); ok {
		t.Error("the zone the reload removed still has a state")
	}
}

// opsZoneText is a small zone in master-file format with the given serial: SOA, NS, and two
// addresses, four records.
func opsZoneText(origin string, serial int) string {
	return fmt.Sprintf(`$ORIGIN %s.
$TTL 300
@	IN SOA ns1 hostmaster %d 3600 600 604800 300
@	IN NS ns1
ns1	IN A 192.0.2.1
www	IN A 192.0.2.2
`, origin, serial)
}
