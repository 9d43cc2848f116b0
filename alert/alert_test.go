package alert

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// receiver is an in-test webhook receiver that records what it gets.
type receiver struct {
	mu       sync.Mutex
	payloads []Payload
	headers  []http.Header
	bodies   [][]byte
}

func (r *receiver) record(req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	var p Payload
	json.Unmarshal(body, &p)
	r.mu.Lock()
	r.payloads = append(r.payloads, p)
	r.headers = append(r.headers, req.Header.Clone())
	r.bodies = append(r.bodies, body)
	r.mu.Unlock()
}

func (r *receiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.payloads)
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s", timeout, what)
}

// outcomes counts a Webhook's outcomes.
type outcomes struct {
	mu sync.Mutex
	n  map[Outcome]int
}

func (o *outcomes) observe(out Outcome, _ Alert) {
	o.mu.Lock()
	if o.n == nil {
		o.n = map[Outcome]int{}
	}
	o.n[out]++
	o.mu.Unlock()
}

func (o *outcomes) get(out Outcome) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.n[out]
}

func TestPayloadShape(t *testing.T) {
	a := Alert{
		Type: AllPrimariesFailing, Event: Start, CorrelationID: "abc", Time: time.Unix(1700000000, 0),
		Zone: "example.com.", Serial: 7, Peer: "192.0.2.1:53", Error: "connection refused",
		FailingPeers: []string{"192.0.2.1:53"},
	}
	raw, err := json.Marshal(a.Payload())
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"name": "Secondary DNS All Primaries Failing", "ts": float64(1700000000), "policy_name": "cfsecondary",
		"alert_type": "secondary_dns_all_primaries_failing", "alert_correlation_id": "abc",
		"alert_event": "ALERT_STATE_EVENT_START",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	if text, _ := got["text"].(string); !strings.Contains(text, "example.com.") || !strings.Contains(text, "connection refused") {
		t.Errorf("text = %q", text)
	}
	data, _ := got["data"].(map[string]any)
	if data["zone"] != "example.com." || data["serial"] != float64(7) || data["peer"] != "192.0.2.1:53" || data["error"] != "connection refused" {
		t.Errorf("data = %v", data)
	}
	// A single alert has no event and no correlation to speak of.
	raw, _ = json.Marshal(Alert{Type: ZoneUpdated, Zone: "example.com.", Serial: 8}.Payload())
	if strings.Contains(string(raw), "alert_event") {
		t.Errorf("single alert with an event: %s", raw)
	}
}

func TestSignAndVerify(t *testing.T) {
	body := []byte(`{"a":1}`)
	ts := time.Now().Unix()
	h := http.Header{}
	h.Set(TimestampHeader, strconv.FormatInt(ts, 10))
	h.Set(SignatureHeader, Sign("s3cret", ts, body))
	if !strings.HasPrefix(h.Get(SignatureHeader), "sha256=") || len(h.Get(SignatureHeader)) != len("sha256=")+64 {
		t.Fatalf("signature %q", h.Get(SignatureHeader))
	}
	if err := Verify("s3cret", h, body, time.Minute); err != nil {
		t.Errorf("good signature: %v", err)
	}
	if err := Verify("other", h, body, time.Minute); err != ErrBadSignature {
		t.Errorf("wrong secret: %v", err)
	}
	if err := Verify("s3cret", h, []byte(`{"a":2}`), time.Minute); err != ErrBadSignature {
		t.Errorf("changed body: %v", err)
	}
	old := http.Header{}
	old.Set(TimestampHeader, strconv.FormatInt(ts-3600, 10))
	old.Set(SignatureHeader, Sign("s3cret", ts-3600, body))
	if err := Verify("s3cret", old, body, time.Minute); err != ErrStale {
		t.Errorf("old timestamp: %v", err)
	}
	// The timestamp is signed: moving it breaks the signature.
	moved := h.Clone()
	moved.Set(TimestampHeader, strconv.FormatInt(ts+1, 10))
	if err := Verify("s3cret", moved, body, time.Minute); err != ErrBadSignature {
		t.Errorf("moved timestamp: %v", err)
	}
	if err := Verify("s3cret", http.Header{}, body, 0); err != ErrNoSignature {
		t.Errorf("unsigned: %v", err)
	}
}

func TestWebhookDeliversSignedInOrder(t *testing.T) {
	var rec receiver
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { rec.record(r) }))
	defer srv.Close()
	var out outcomes
	w := NewWebhook(Options{URL: srv.URL + "/hook?token=x", Secret: "s3cret", Observe: out.observe})
	defer w.Close(time.Second)
	for i := range 20 {
		w.Send(Alert{Type: ZoneUpdated, Zone: "example.com.", Serial: uint32(i)})
	}
	waitFor(t, 5*time.Second, "20 deliveries", func() bool { return rec.count() == 20 })
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for i, p := range rec.payloads {
		if p.Data.Serial != uint32(i) || p.AlertType != ZoneUpdated {
			t.Fatalf("delivery %d: %+v", i, p)
		}
		h := rec.headers[i]
		if err := Verify("s3cret", h, rec.bodies[i], time.Minute); err != nil {
			t.Errorf("delivery %d: %v", i, err)
		}
		if h.Get("Content-Type") != "application/json" || h.Get(DeliveryHeader) == "" {
			t.Errorf("delivery %d headers: %v", i, h)
		}
	}
	if out.get(Delivered) != 20 {
		t.Errorf("delivered %d, want 20", out.get(Delivered))
	}
}

func TestWebhookUnsignedWithoutSecret(t *testing.T) {
	var rec receiver
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { rec.record(r) }))
	defer srv.Close()
	w := NewWebhook(Options{URL: srv.URL})
	defer w.Close(time.Second)
	w.Send(Alert{Type: Warning, Zone: "example.com."})
	waitFor(t, 5*time.Second, "a delivery", func() bool { return rec.count() == 1 })
	if h := rec.headers[0]; h.Get(SignatureHeader) != "" || h.Get(TimestampHeader) == "" {
		t.Errorf("headers %v", h)
	}
}

// TestWebhookRetries: 5xx and 429 are tried again with the same delivery ID; 4xx is not.
func TestWebhookRetries(t *testing.T) {
	var calls atomic.Int32
	var ids sync.Map
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ids.Store(r.Header.Get(DeliveryHeader), true)
		switch calls.Add(1) {
		case 1:
			w.WriteHeader(http.StatusServiceUnavailable)
		case 2:
			w.WriteHeader(http.StatusTooManyRequests)
		default:
			w.WriteHeader(http.StatusNoContent)
		}
	}))
	defer srv.Close()
	var out outcomes
	w := NewWebhook(Options{URL: srv.URL, Backoff: 10 * time.Millisecond, Observe: out.observe})
	defer w.Close(time.Second)
	w.Send(Alert{Type: ZoneUpdated, Zone: "example.com."})
	waitFor(t, 5*time.Second, "delivery", func() bool { return out.get(Delivered) == 1 })
	if calls.Load() != 3 || out.get(Retried) != 2 {
		t.Errorf("%d calls, %d retries; want 3 and 2", calls.Load(), out.get(Retried))
	}
	n := 0
	ids.Range(func(any, any) bool { n++; return true })
	if n != 1 {
		t.Errorf("%d delivery IDs across retries, want 1", n)
	}

	var bad atomic.Int32
	srv4 := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		bad.Add(1)
		w.WriteHeader(http.StatusBadRequest)
	}))
	defer srv4.Close()
	var out4 outcomes
	w4 := NewWebhook(Options{URL: srv4.URL, Backoff: 10 * time.Millisecond, Observe: out4.observe})
	defer w4.Close(time.Second)
	w4.Send(Alert{Type: ZoneUpdated, Zone: "example.com."})
	waitFor(t, 5*time.Second, "failure", func() bool { return out4.get(Failed) == 1 })
	if bad.Load() != 1 || out4.get(Retried) != 0 {
		t.Errorf("4xx: %d calls, %d retries; want 1 and 0", bad.Load(), out4.get(Retried))
	}
}

// TestWebhookTimeoutAndGiveUp: a receiver slower than the timeout is tried Attempts times, then
// the alert fails and the next one goes.
func TestWebhookTimeoutAndGiveUp(t *testing.T) {
	release := make(chan struct{})
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	var out outcomes
	w := NewWebhook(Options{URL: srv.URL, Timeout: 50 * time.Millisecond, Attempts: 3, Backoff: 10 * time.Millisecond, Observe: out.observe})
	defer w.Close(0)
	w.Send(Alert{Type: ZoneUpdated, Zone: "example.com."})
	waitFor(t, 5*time.Second, "giving up", func() bool { return out.get(Failed) == 1 })
	if calls.Load() != 3 || out.get(Retried) != 2 {
		t.Errorf("%d calls, %d retries; want 3 and 2", calls.Load(), out.get(Retried))
	}
}

// TestWebhookSendNeverBlocks: with the receiver stuck, Send returns at once, the queue stays
// bounded and drops its oldest alerts, and Close gives up after the drain time.
func TestWebhookSendNeverBlocks(t *testing.T) {
	release := make(chan struct{})
	var rec receiver
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
			return
		case <-release:
		}
		rec.record(r)
	}))
	defer srv.Close()
	var out outcomes
	w := NewWebhook(Options{URL: srv.URL, QueueSize: 10, Timeout: time.Minute, Observe: out.observe})
	start := time.Now()
	for i := range 1000 {
		w.Send(Alert{Type: ZoneUpdated, Zone: "example.com.", Serial: uint32(i)})
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("1000 sends took %s", d)
	}
	if n := w.Len(); n > 11 {
		t.Errorf("queue length %d, want at most 10 and the one in delivery", n)
	}
	// The first is in delivery, 10 wait, the others were pushed out oldest first.
	if d := out.get(Dropped); d < 1000-11 {
		t.Errorf("%d dropped, want at least %d", d, 1000-11)
	}
	close(release)
	waitFor(t, 5*time.Second, "the queue to drain", func() bool { return w.Len() == 0 })
	rec.mu.Lock()
	last := rec.payloads[len(rec.payloads)-1].Data.Serial
	rec.mu.Unlock()
	if last != 999 {
		t.Errorf("last delivered serial %d, want 999 (the newest kept)", last)
	}
	w.Close(time.Second)
	if w.Send(Alert{Type: ZoneUpdated}) {
		t.Error("Send after Close queued")
	}
}

// TestWebhookCloseGivesUp: Close with a receiver that never answers returns after the drain
// time and reports the undelivered alerts dropped.
func TestWebhookCloseGivesUp(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	var out outcomes
	w := NewWebhook(Options{URL: srv.URL, Timeout: time.Minute, Observe: out.observe})
	for range 5 {
		w.Send(Alert{Type: ZoneUpdated})
	}
	start := time.Now()
	w.Close(100 * time.Millisecond)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Close took %s", d)
	}
	if out.get(Dropped) != 5 {
		t.Errorf("%d dropped, want 5", out.get(Dropped))
	}
}

// TestWebhookDownReceiver: a refused connection is retried, then given up, and logged without
// the URL's path or query.
func TestWebhookDownReceiver(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL + "/secret-path?token=hunter2"
	srv.Close()
	var out outcomes
	var logs []string
	var mu sync.Mutex
	w := NewWebhook(Options{URL: url, Attempts: 2, Backoff: time.Millisecond, Observe: out.observe,
		Logf: func(f string, args ...any) {
			mu.Lock()
			logs = append(logs, strings.TrimSpace(strings.ReplaceAll(f, "%", "")))
			for _, a := range args {
				if s, ok := a.(string); ok {
					logs = append(logs, s)
				}
				if e, ok := a.(error); ok {
					logs = append(logs, e.Error())
				}
			}
			mu.Unlock()
		}})
	defer w.Close(0)
	w.Send(Alert{Type: ZoneUpdated})
	waitFor(t, 5*time.Second, "giving up", func() bool { return out.get(Failed) == 1 })
	mu.Lock()
	defer mu.Unlock()
	for _, l := range logs {
		if strings.Contains(l, "hunter2") || strings.Contains(l, "secret-path") {
			t.Errorf("log line reveals the URL: %q", l)
		}
	}
}
