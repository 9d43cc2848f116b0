package test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cfsecondary/cfsecondary/alert"
	"github.com/cfsecondary/cfsecondary/internal/fakeprimary"
	"github.com/cfsecondary/cfsecondary/internal/testutil"

	"github.com/miekg/dns"
)

// opsReceiver is an in-test webhook receiver: it checks every delivery's signature and keeps
// the payloads.
type opsReceiver struct {
	URL    string
	secret string

	mu       sync.Mutex
	payloads []alert.Payload
	badSigs  int
	requests atomic.Int64
}

// opsStartReceiver starts a receiver; with hold not nil, every request waits until hold is
// closed (or the client gives up) before it is answered: a slow receiver.
func opsStartReceiver(t *testing.T, secret string, hold chan struct{}) *opsReceiver {
	t.Helper()
	r := &opsReceiver{secret: secret}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.requests.Add(1)
		if hold != nil {
			select {
			case <-hold:
			case <-req.Context().Done():
				return
			}
		}
		body, _ := io.ReadAll(req.Body)
		var p alert.Payload
		if err := json.Unmarshal(body, &p); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		if alert.Verify(r.secret, req.Header, body, time.Minute) != nil {
			r.badSigs++
		}
		r.payloads = append(r.payloads, p)
		r.mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	if hold != nil {
		t.Cleanup(func() { close(hold) }) // before srv.Close, which waits for the handlers
	}
	r.URL = srv.URL + "/hooks/cfsecondary"
	return r
}

// forZone returns the payloads received for zone, in order.
func (r *opsReceiver) forZone(zone string) []alert.Payload {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []alert.Payload
	for _, p := range r.payloads {
		if p.Data.Zone == zone {
			out = append(out, p)
		}
	}
	return out
}

// count returns how many payloads for zone have type typ and event ev.
func (r *opsReceiver) count(zone string, typ alert.Type, ev alert.Event) int {
	n := 0
	for _, p := range r.forZone(zone) {
		if p.AlertType == typ && p.AlertEvent == ev {
			n++
		}
	}
	return n
}

// wait waits for the first payload for zone of type typ and event ev and returns it.
func (r *opsReceiver) wait(t *testing.T, timeout time.Duration, zone string, typ alert.Type, ev alert.Event) alert.Payload {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		for _, p := range r.forZone(zone) {
			if p.AlertType == typ && p.AlertEvent == ev {
				return p
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s %s for %s; got %s", timeout, typ, ev, zone, r.summary(zone))
	return alert.Payload{}
}

func (r *opsReceiver) summary(zone string) string {
	s := ""
	for _, p := range r.forZone(zone) {
		s += fmt.Sprintf("\n  %s %s %q", p.AlertType, p.AlertEvent, p.Text)
	}
	return s
}

func (r *opsReceiver) checkSignatures(t *testing.T) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.badSigs > 0 {
		t.Errorf("%d deliveries with a bad signature", r.badSigs)
	}
}

// TestOpsAlertsAllPrimariesFailing: a transfer yields "successfully updated"; stopping the only
// primary (a real BIND) yields one "all primaries failing" start however many retries fail,
// and bringing it back yields its end, with the same correlation ID.
func TestOpsAlertsAllPrimariesFailing(t *testing.T) {
	origin := opsName("allfail.opsalerts.test")
	zone := origin + "."
	rec := opsStartReceiver(t, "shared-secret", nil)
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
			webhook %s shared-secret
			dir %s
		}
	}`, origin, port, b.Addr, rec.URL, t.TempDir()))

	up := rec.wait(t, 10*time.Second, zone, alert.ZoneUpdated, "")
	if up.Data.Serial != 1 || up.Data.Peer != b.Addr || up.Data.TransferType != "axfr" || up.Name == "" || up.TS == 0 {
		t.Errorf("successfully updated: %+v", up)
	}
	waitFor(t, 5*time.Second, "serial 1", func() bool { return serialAt(addr, origin) == 1 })

	b.Stop()
	start := rec.wait(t, 10*time.Second, zone, alert.AllPrimariesFailing, alert.Start)
	if start.CorrelationID == "" || start.Data.Peer != b.Addr || start.Data.Error == "" || start.Data.Serial != 1 {
		t.Errorf("all primaries failing start: %+v", start)
	}
	time.Sleep(3500 * time.Millisecond) // three more failed refreshes at least
	if n := rec.count(zone, alert.AllPrimariesFailing, alert.Start); n != 1 {
		t.Errorf("%d all-primaries-failing starts while the primary was down, want 1:%s", n, rec.summary(zone))
	}
	if serialAt(addr, origin) != 1 {
		t.Error("the zone is not served while its primary is down")
	}

	b.Start(t)
	end := rec.wait(t, 10*time.Second, zone, alert.AllPrimariesFailing, alert.End)
	if end.CorrelationID != start.CorrelationID {
		t.Errorf("end correlation ID %q, start's %q", end.CorrelationID, start.CorrelationID)
	}
	time.Sleep(2500 * time.Millisecond) // more good refreshes: nothing more
	got := rec.forZone(zone)
	want := []struct {
		typ alert.Type
		ev  alert.Event
	}{{alert.ZoneUpdated, ""}, {alert.AllPrimariesFailing, alert.Start}, {alert.AllPrimariesFailing, alert.End}}
	if len(got) != len(want) {
		t.Fatalf("got %d alerts, want %d:%s", len(got), len(want), rec.summary(zone))
	}
	for i, w := range want {
		if got[i].AlertType != w.typ || got[i].AlertEvent != w.ev {
			t.Errorf("alert %d: %s %s, want %s %s", i, got[i].AlertType, got[i].AlertEvent, w.typ, w.ev)
		}
	}
	rec.checkSignatures(t)
	opsWant(t, "coredns_cfsecondary_alerts_total", opsLabels("zone", zone, "type", string(alert.AllPrimariesFailing), "event", "start"), 1)
	opsWant(t, "coredns_cfsecondary_alerts_total", opsLabels("zone", zone, "type", string(alert.AllPrimariesFailing), "event", "end"), 1)
}

// TestOpsAlertsPrimariesFailing: of two primaries, the first refusing, the zone comes from the
// second and "primaries failing" starts once, naming the first; when it answers again (after
// its backoff) the alert ends. "All primaries failing" never fires.
func TestOpsAlertsPrimariesFailing(t *testing.T) {
	zone := opsName("somefail.opsalerts.test.")
	rec := opsStartReceiver(t, "s", nil)
	bad := fakeprimary.Start(t, zone, fakeprimary.Zone(zone, 1, 3), fakeprimary.WithMode(fakeprimary.Mode{Rcode: dns.RcodeRefused}))
	good := fakeprimary.Start(t, zone, fakeprimary.Zone(zone, 1, 3))
	port := freePort(t)
	startCoreDNS(t, fmt.Sprintf(`%s:%d {
		bind 127.0.0.1
		cfsecondary {
			peer %s
			peer %s
			refresh 1s
			min-retry-time 1s
			max-retry-time 1s
			webhook %s s
			dir %s
		}
	}`, zone, port, bad.Addr, good.Addr, rec.URL, t.TempDir()))

	up := rec.wait(t, 10*time.Second, zone, alert.ZoneUpdated, "")
	if up.Data.Peer != good.Addr {
		t.Errorf("updated from %s, want %s", up.Data.Peer, good.Addr)
	}
	start := rec.wait(t, 5*time.Second, zone, alert.PrimariesFailing, alert.Start)
	if start.Data.Peer != bad.Addr || len(start.Data.FailingPeers) != 1 || start.Data.Error == "" || start.CorrelationID == "" {
		t.Errorf("primaries failing start: %+v", start)
	}
	time.Sleep(2500 * time.Millisecond) // refreshes from the good primary: no repeat
	if n := rec.count(zone, alert.PrimariesFailing, alert.Start); n != 1 {
		t.Errorf("%d primaries-failing starts, want 1:%s", n, rec.summary(zone))
	}

	bad.SetMode(fakeprimary.Mode{}) // it answers again; tried first once its 10s backoff ends
	end := rec.wait(t, 20*time.Second, zone, alert.PrimariesFailing, alert.End)
	if end.CorrelationID != start.CorrelationID {
		t.Errorf("end correlation ID %q, start's %q", end.CorrelationID, start.CorrelationID)
	}
	if n := rec.count(zone, alert.AllPrimariesFailing, alert.Start); n != 0 {
		t.Errorf("%d all-primaries-failing alerts with one primary working:%s", n, rec.summary(zone))
	}
	if n := rec.count(zone, alert.PrimariesFailing, alert.Start); n != 1 {
		t.Errorf("%d primaries-failing starts, want 1:%s", n, rec.summary(zone))
	}
	rec.checkSignatures(t)
}

// TestOpsAlertsWarningOutOfZone: records outside the zone are dropped with a warning alert, and
// the zone is still updated.
func TestOpsAlertsWarningOutOfZone(t *testing.T) {
	zone := opsName("warn.opsalerts.test.")
	rec := opsStartReceiver(t, "s", nil)
	primary := fakeprimary.Start(t, zone, fakeprimary.Zone(zone, 3, 3), fakeprimary.WithMode(fakeprimary.Mode{OutOfZone: 2}))
	port := freePort(t)
	startCoreDNS(t, fmt.Sprintf(`%s:%d {
		bind 127.0.0.1
		cfsecondary {
			peer %s
			webhook %s s
			dir %s
		}
	}`, zone, port, primary.Addr, rec.URL, t.TempDir()))

	w := rec.wait(t, 10*time.Second, zone, alert.Warning, "")
	if w.Data.Warning != "out_of_zone" || w.Data.Records != 2 || w.Data.Peer != primary.Addr || w.Data.Serial != 3 || w.Data.Error == "" {
		t.Errorf("warning: %+v", w)
	}
	if w.AlertEvent != "" || w.CorrelationID == "" {
		t.Errorf("a warning has no start or end: %+v", w)
	}
	up := rec.wait(t, 5*time.Second, zone, alert.ZoneUpdated, "")
	if up.Data.Serial != 3 || up.Data.Records != 6 {
		t.Errorf("updated: %+v", up)
	}
	rec.checkSignatures(t)
	opsWant(t, "coredns_cfsecondary_warnings_total", opsLabels("zone", zone, "warning", "out_of_zone"), 1)
}

// TestOpsAlertsReceiverNeverDelaysTransfers: with the receiver down or hanging, zones load and
// update by NOTIFY as fast as without one, and queries are answered at once.
func TestOpsAlertsReceiverNeverDelaysTransfers(t *testing.T) {
	for _, kind := range []string{"down", "slow"} {
		t.Run(kind, func(t *testing.T) {
			zone := opsName(kind + ".delay.opsalerts.test.")
			var url string
			var rec *opsReceiver
			if kind == "down" {
				url = fmt.Sprintf("http://127.0.0.1:%d/hook", freePort(t)) // nobody listens
			} else {
				rec = opsStartReceiver(t, "s", make(chan struct{}))
				url = rec.URL
			}
			retries, _ := testutil.Metric(t, "coredns_cfsecondary_webhook_retries_total", nil)
			primary := fakeprimary.Start(t, zone, fakeprimary.Zone(zone, 1, 100))
			port := freePort(t)
			addr := fmt.Sprintf("127.0.0.1:%d", port)
			began := time.Now()
			startCoreDNS(t, fmt.Sprintf(`%s:%d {
				bind 127.0.0.1
				cfsecondary {
					peer %s
					webhook %s s
					dir %s
				}
			}`, zone, port, primary.Addr, url, t.TempDir()))
			waitFor(t, 10*time.Second, "serial 1", func() bool { return serialAt(addr, zone) == 1 })
			// A delivery waits up to 10s for a hanging receiver and retries a refused one with
			// backoff: anything near that here would be the webhook's doing.
			if d := time.Since(began); d > 3*time.Second {
				t.Errorf("the first transfer took %s", d)
			}
			for serial := uint32(2); serial <= 6; serial++ {
				primary.SetRecords(fakeprimary.Zone(zone, serial, 100))
				began := time.Now()
				if err := primary.Notify(addr); err != nil {
					t.Fatal(err)
				}
				waitFor(t, 5*time.Second, fmt.Sprintf("serial %d", serial), func() bool { return serialAt(addr, zone) == serial })
				if d := time.Since(began); d > 2*time.Second {
					t.Errorf("serial %d took %s from the NOTIFY", serial, d)
				}
				q := time.Now()
				if r := exchange(t, addr, "h1."+zone, dns.TypeA, false); r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
					t.Errorf("query: %v", r)
				}
				if d := time.Since(q); d > time.Second {
					t.Errorf("a query took %s", d)
				}
			}
			// The alerts did go to the receiver, which is what it held up or refused.
			if rec != nil {
				waitFor(t, 5*time.Second, "a delivery attempt", func() bool { return rec.requests.Load() >= 1 })
				if n, _ := testutil.Metric(t, "coredns_cfsecondary_webhook_queue_length", nil); n < 1 {
					t.Errorf("webhook_queue_length = %v with the receiver hanging", n)
				}
			} else {
				opsWaitMetric(t, 5*time.Second, "coredns_cfsecondary_webhook_retries_total", nil, func(v float64) bool { return v > retries })
			}
		})
	}
}
