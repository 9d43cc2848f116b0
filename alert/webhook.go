package alert

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The headers of a delivery besides Content-Type.
const (
	// SignatureHeader carries "sha256=" and the hex HMAC-SHA256, keyed with the shared secret,
	// of the timestamp header's value, a ".", and the body: Sign computes it, Verify checks it.
	// It is sent only when a secret is configured.
	SignatureHeader = "X-Cfsecondary-Signature"
	// TimestampHeader is the Unix time in seconds at which the request was signed, so that a
	// receiver can refuse old requests replayed.
	TimestampHeader = "X-Cfsecondary-Timestamp"
	// DeliveryHeader identifies one alert: it is the same on every retry of it, so a receiver
	// can drop a duplicate.
	DeliveryHeader = "X-Cfsecondary-Delivery"
)

// Defaults of Options.
const (
	DefaultQueueSize  = 1000
	DefaultTimeout    = 10 * time.Second
	DefaultAttempts   = 6
	DefaultBackoff    = time.Second
	DefaultMaxBackoff = time.Minute
)

// Outcome is what became of an alert handed to a Webhook, or of one attempt to deliver it.
type Outcome string

const (
	Delivered Outcome = "delivered" // the receiver answered 2xx
	Retried   Outcome = "retried"   // an attempt failed and the alert will be sent again
	Failed    Outcome = "failed"    // given up: a 3xx or 4xx answer (other than 408 and 429), or every attempt failed
	Dropped   Outcome = "dropped"   // pushed out of the full queue, sent after Close, or left undelivered by Close
)

// Options configure a Webhook.
type Options struct {
	URL        string
	Secret     string        // signs every request when not ""
	QueueSize  int           // alerts waiting at most; 0: DefaultQueueSize
	Timeout    time.Duration // for one request; 0: DefaultTimeout
	Attempts   int           // tries per alert, the first included; 0: DefaultAttempts
	Backoff    time.Duration // wait before the first retry, doubled after each; 0: DefaultBackoff
	MaxBackoff time.Duration // longest wait between tries; 0: DefaultMaxBackoff
	Client     *http.Client  // nil: a client that follows no redirects

	// Observe, when set, is told of every outcome, from the delivery goroutine (or from Send,
	// for an alert dropped there). It must not block.
	Observe func(Outcome, Alert)
	// Logf, when set, is given a line for every alert that could not be delivered. The URL
	// appears in it as scheme and host only: its path or query may hold a token.
	Logf func(format string, args ...any)

	display string
}

// Webhook delivers alerts to one URL, in the order they were sent, from one goroutine.
type Webhook struct {
	opts Options

	mu     sync.Mutex
	queue  []item
	busy   bool // an alert is being delivered
	closed bool

	wake   chan struct{}
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
}

type item struct {
	alert Alert
	id    string
}

// NewWebhook starts delivering to o.URL; Close stops it.
func NewWebhook(o Options) *Webhook {
	if o.QueueSize <= 0 {
		o.QueueSize = DefaultQueueSize
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Attempts <= 0 {
		o.Attempts = DefaultAttempts
	}
	if o.Backoff <= 0 {
		o.Backoff = DefaultBackoff
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = DefaultMaxBackoff
	}
	o.display = displayURL(o.URL)
	if o.Client == nil {
		o.Client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &Webhook{opts: o, wake: make(chan struct{}, 1), ctx: ctx, cancel: cancel, done: make(chan struct{})}
	go w.run()
	return w
}

// Send queues a for delivery and returns at once. When the queue is full its oldest alert is
// dropped to make room. It reports whether a was queued (false after Close).
func (w *Webhook) Send(a Alert) bool {
	if a.Time.IsZero() {
		a.Time = time.Now()
	}
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		w.observe(Dropped, a)
		return false
	}
	var dropped *item
	if len(w.queue) >= w.opts.QueueSize {
		d := w.queue[0]
		dropped = &d
		w.queue = append(w.queue[:0], w.queue[1:]...)
	}
	w.queue = append(w.queue, item{alert: a, id: NewID()})
	w.mu.Unlock()
	if dropped != nil {
		w.logf("webhook %s: queue full (%d), dropped the oldest alert: %s", w.opts.display, w.opts.QueueSize, dropped.alert.Describe())
		w.observe(Dropped, dropped.alert)
	}
	select {
	case w.wake <- struct{}{}:
	default:
	}
	return true
}

// Len returns the number of alerts waiting, the one being delivered included.
func (w *Webhook) Len() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := len(w.queue)
	if w.busy {
		n++
	}
	return n
}

// Flush waits until every alert queued has been delivered or given up, or until timeout
// passes; it reports whether the queue emptied.
func (w *Webhook) Flush(timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for {
		if w.Len() == 0 {
			return true
		}
		if !time.Now().Before(deadline) {
			return false
		}
		time.Sleep(min(10*time.Millisecond, time.Until(deadline)))
	}
}

// Close stops taking alerts, goes on delivering the queued ones for at most drain, then gives
// up on the rest (each reported Dropped) and returns once the delivery goroutine is gone.
func (w *Webhook) Close(drain time.Duration) {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		<-w.done
		return
	}
	w.closed = true
	w.mu.Unlock()
	if drain > 0 {
		w.Flush(drain)
	}
	w.cancel()
	<-w.done
	w.mu.Lock()
	left := w.queue
	w.queue = nil
	w.mu.Unlock()
	if len(left) > 0 {
		w.logf("webhook %s: closed with %d alerts undelivered", w.opts.display, len(left))
	}
	for _, it := range left {
		w.observe(Dropped, it.alert)
	}
}

func (w *Webhook) run() {
	defer close(w.done)
	for {
		w.mu.Lock()
		if len(w.queue) == 0 {
			w.mu.Unlock()
			select {
			case <-w.wake:
				continue
			case <-w.ctx.Done():
				return
			}
		}
		if w.ctx.Err() != nil {
			w.mu.Unlock()
			return
		}
		it := w.queue[0]
		w.queue = append(w.queue[:0], w.queue[1:]...)
		w.busy = true
		w.mu.Unlock()

		w.deliver(it)

		w.mu.Lock()
		w.busy = false
		w.mu.Unlock()
	}
}

// deliver tries to post one alert until it is delivered, refused for good, out of attempts, or
// the webhook is closed.
func (w *Webhook) deliver(it item) {
	body, err := json.Marshal(it.alert.Payload())
	if err != nil { // cannot happen with these types
		w.logf("webhook %s: %v", w.opts.display, err)
		w.observe(Failed, it.alert)
		return
	}
	backoff := w.opts.Backoff
	for attempt := 1; ; attempt++ {
		retry, err := w.post(it.id, body)
		if err == nil {
			w.observe(Delivered, it.alert)
			return
		}
		if w.ctx.Err() != nil {
			w.observe(Dropped, it.alert)
			return
		}
		if !retry || attempt >= w.opts.Attempts {
			w.logf("webhook %s: alert not delivered after %d attempts: %v: %s", w.opts.display, attempt, err, it.alert.Describe())
			w.observe(Failed, it.alert)
			return
		}
		w.observe(Retried, it.alert)
		// Full jitter over the upper half, so that many secondaries retrying a receiver that
		// comes back do not all hit it in the same instant.
		wait := backoff/2 + rand.N(backoff/2+1)
		backoff = min(2*backoff, w.opts.MaxBackoff)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-w.ctx.Done():
			t.Stop()
			w.observe(Dropped, it.alert)
			return
		}
	}
}

// errStatus is an answer other than 2xx.
type errStatus struct{ code int }

func (e errStatus) Error() string {
	return fmt.Sprintf("answered %d %s", e.code, http.StatusText(e.code))
}

// post makes one attempt; it says whether a failure is worth another.
func (w *Webhook) post(id string, body []byte) (retry bool, err error) {
	ctx, cancel := context.WithTimeout(w.ctx, w.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.opts.URL, bytes.NewReader(body))
	if err != nil {
		return false, err
	}
	ts := time.Now().Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "cfsecondary-webhook/1")
	req.Header.Set(DeliveryHeader, id)
	req.Header.Set(TimestampHeader, strconv.FormatInt(ts, 10))
	if w.opts.Secret != "" {
		req.Header.Set(SignatureHeader, Sign(w.opts.Secret, ts, body))
	}
	resp, err := w.opts.Client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL, which may hold a token and is logged
		}
		return true, err // a timeout, a refused connection, a reset: try again
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	switch c := resp.StatusCode; {
	case c >= 200 && c < 300:
		return false, nil
	case c >= 500, c == http.StatusTooManyRequests, c == http.StatusRequestTimeout:
		return true, errStatus{c}
	default:
		return false, errStatus{c}
	}
}

func (w *Webhook) observe(o Outcome, a Alert) {
	if w.opts.Observe != nil {
		w.opts.Observe(o, a)
	}
}

func (w *Webhook) logf(format string, args ...any) {
	if w.opts.Logf != nil {
		w.opts.Logf(format, args...)
	}
}

// Sign returns the value of SignatureHeader for a body signed at timestamp (Unix seconds):
// "sha256=" and the hex HMAC-SHA256 of "<timestamp>.<body>" keyed with secret.
func Sign(secret string, timestamp int64, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(strconv.FormatInt(timestamp, 10)))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Errors of Verify.
var (
	ErrNoSignature  = errors.New("no signature or timestamp header")
	ErrBadSignature = errors.New("signature does not match")
	ErrStale        = errors.New("timestamp too far from now")
)

// Verify checks the signature of a delivery, as a receiver should: the headers h and the body
// as received. With maxAge > 0 it also refuses a timestamp further than maxAge from now.
func Verify(secret string, h http.Header, body []byte, maxAge time.Duration) error {
	sig, tsText := h.Get(SignatureHeader), h.Get(TimestampHeader)
	if sig == "" || tsText == "" {
		return ErrNoSignature
	}
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return fmt.Errorf("bad %s %q", TimestampHeader, tsText)
	}
	if maxAge > 0 {
		if d := time.Since(time.Unix(ts, 0)); d > maxAge || d < -maxAge {
			return ErrStale
		}
	}
	want := Sign(secret, ts, body)
	if !strings.HasPrefix(sig, "sha256=") || !hmac.Equal([]byte(sig), []byte(want)) {
		return ErrBadSignature
	}
	return nil
}

// displayURL is u without its path, query and user: what may be logged of a webhook URL.
func displayURL(u string) string {
	p, err := url.Parse(u)
	if err != nil || p.Host == "" {
		return "(webhook)"
	}
	return p.Scheme + "://" + p.Host
}
