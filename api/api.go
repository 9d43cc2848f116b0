// Package api is cfsecondary's admin HTTP API and status page, on a listener of its own.
//
// The API is modelled on Cloudflare's Secondary DNS API: the same paths under /zones, its JSON
// envelope ({"success", "errors", "messages", "result"}) and the field names of its
// secondary_dns/incoming object, plus what Cloudflare does not show (the zone's state, timers,
// last error, last transfer and the health of each primary):
//
//	GET  /zones                                  every zone, with its status
//	GET  /zones/{zone}                           one zone, with its status
//	GET  /zones/{zone}/secondary_dns/incoming    Cloudflare's fields only
//	POST /zones/{zone}/secondary_dns/force_axfr  a full transfer now
//	POST /zones/{zone}/secondary_dns/refresh     an SOA check now
//	GET  /                                       the status page (HTML)
//	GET  /healthz                                "OK", without a token
//
// The same paths are also served under /client/v4, Cloudflare's prefix. {zone} is a zone name,
// with or without the trailing dot, in any case.
//
// When a token is set every request but /healthz and the page's script and style must carry
// it, as "Authorization: Bearer TOKEN" or as the cookie the status page's sign-in sets.
//
// The package knows nothing of the plugin: it serves whatever implements Zone, grouped by
// Provider, and Listen shares one listener per address across the process.
package api

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cfsecondary/cfsecondary/engine"

	clog "github.com/coredns/coredns/plugin/pkg/log"
)

var log = clog.NewWithPlugin("cfsecondary")

// Zone is what the API needs of a zone.
type Zone interface {
	// Name is the zone's origin: fully qualified, lower case.
	Name() string
	// Status is a consistent copy of what is known of the zone now.
	Status() engine.Status
	// Force asks for a full transfer as soon as possible and returns at once.
	Force()
	// Refresh asks for an SOA check as soon as possible and returns at once.
	Refresh()
}

// Provider gives the zones of one part of the configuration (a server block, say). Its list
// may change between calls.
type Provider interface {
	Zones() []Zone
}

// Zones is a fixed list of zones: a Provider.
type Zones []Zone

// Zones implements Provider.
func (z Zones) Zones() []Zone { return z }

// Error codes, in Cloudflare's style (its codes for the same conditions where it has them).
const (
	CodeNoRoute          = 7000  // no such path
	CodeMethodNotAllowed = 7001  // the path exists, the method does not
	CodeUnknownZone      = 7003  // no such zone
	CodeForbidden        = 9109  // cross-origin browser request, or a host name without a token
	CodeAuth             = 10000 // no token, or a wrong one
)

// Message is an entry of the envelope's errors or messages.
type Message struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// Envelope is the JSON of every answer, as Cloudflare's API has it.
type Envelope struct {
	Success    bool        `json:"success"`
	Errors     []Message   `json:"errors"`
	Messages   []Message   `json:"messages"`
	Result     any         `json:"result"`
	ResultInfo *ResultInfo `json:"result_info,omitempty"`
}

// ResultInfo describes a list: one page holds every zone.
type ResultInfo struct {
	Page       int `json:"page"`
	PerPage    int `json:"per_page"`
	Count      int `json:"count"`
	TotalCount int `json:"total_count"`
}

// Incoming is Cloudflare's secondary_dns/incoming object. Peers are identified by their
// address, ip:port. Times are RFC 3339, in UTC, to the microsecond; null when they never were.
type Incoming struct {
	Name               string     `json:"name"`
	Peers              []string   `json:"peers"`
	AutoRefreshSeconds int64      `json:"auto_refresh_seconds"`
	SOASerial          uint32     `json:"soa_serial"`
	CheckedTime        *time.Time `json:"checked_time"`  // last SOA check that got an answer
	ModifiedTime       *time.Time `json:"modified_time"` // last successful transfer
}

// ZoneStatus is Incoming plus what Cloudflare does not show.
type ZoneStatus struct {
	Incoming
	State            string       `json:"state"` // loading, fresh, retrying or expired
	Records          int          `json:"records"`
	LastError        string       `json:"last_error"`
	LastSuccessTime  *time.Time   `json:"last_success_time"` // last transfer or up-to-date check
	NextRefreshTime  *time.Time   `json:"next_refresh_time"`
	ExpiresTime      *time.Time   `json:"expires_time"`       // null while loading
	ExpiresInSeconds *int64       `json:"expires_in_seconds"` // 0 once expired; null while loading
	TransferAttempts int64        `json:"transfer_attempts"`
	LastTransfer     *Transfer    `json:"last_transfer"` // null before the first
	PeerHealth       []PeerHealth `json:"peer_health"`
}

// Transfer describes the last successful transfer.
type Transfer struct {
	Type            string    `json:"type"` // axfr or ixfr
	Serial          uint32    `json:"serial"`
	Records         int       `json:"records"`
	SizeBytes       int64     `json:"size_bytes"`
	DurationSeconds float64   `json:"duration_seconds"`
	Peer            string    `json:"peer"`
	Time            time.Time `json:"time"`
}

// PeerHealth is one primary as the zone sees it; the first fields are those of Cloudflare's
// peer object.
type PeerHealth struct {
	ID               string     `json:"id"` // ip:port, as in peers
	IP               string     `json:"ip"`
	Port             int        `json:"port"`
	IXFREnable       bool       `json:"ixfr_enable"`
	TSIGID           string     `json:"tsig_id"` // the key's name, "" for none
	Status           string     `json:"status"`  // up, down, or unknown before it is first asked
	Failures         int        `json:"failures"`
	LastOKTime       *time.Time `json:"last_ok_time"`
	LastFailureTime  *time.Time `json:"last_failure_time"`
	LastError        string     `json:"last_error"`
	LastTransferType string     `json:"last_transfer_type"` // axfr, ixfr or "" before any
	AXFROnlyUntil    *time.Time `json:"axfr_only_until"`    // after it answered IXFR badly
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC().Truncate(time.Microsecond) // as Cloudflare writes them
	return &u
}

// incoming converts a status to Cloudflare's object.
func incoming(st engine.Status) Incoming {
	in := Incoming{
		Name:               st.Zone,
		Peers:              make([]string, 0, len(st.Peers)),
		AutoRefreshSeconds: int64(st.Refresh / time.Second),
		SOASerial:          st.Serial,
		CheckedTime:        timePtr(st.LastCheck),
		ModifiedTime:       timePtr(st.LastTransfer.At),
	}
	for _, p := range st.Peers {
		in.Peers = append(in.Peers, p.Addr)
	}
	return in
}

// zoneStatus converts a status to the API's full object.
func zoneStatus(st engine.Status, now time.Time) ZoneStatus {
	zs := ZoneStatus{
		Incoming:         incoming(st),
		State:            string(st.State),
		Records:          st.Records,
		LastError:        st.LastError,
		LastSuccessTime:  timePtr(st.LastSuccess),
		NextRefreshTime:  timePtr(st.NextRefresh),
		ExpiresTime:      timePtr(st.ExpiresAt),
		TransferAttempts: st.Attempts,
		PeerHealth:       make([]PeerHealth, 0, len(st.Peers)),
	}
	if !st.ExpiresAt.IsZero() {
		left := int64(max(st.ExpiresAt.Sub(now), 0) / time.Second)
		if st.State == engine.StateExpired {
			left = 0
		}
		zs.ExpiresInSeconds = &left
	}
	if t := st.LastTransfer; !t.At.IsZero() {
		zs.LastTransfer = &Transfer{
			Type: t.Type, Serial: t.Serial, Records: t.Records, SizeBytes: t.Bytes,
			DurationSeconds: t.Duration.Seconds(), Peer: t.Peer, Time: t.At.UTC().Truncate(time.Microsecond),
		}
	}
	for _, p := range st.Peers {
		ph := PeerHealth{
			ID: p.Addr, IXFREnable: p.IXFR, TSIGID: p.Key, Failures: p.Failures,
			LastOKTime: timePtr(p.LastOK), LastFailureTime: timePtr(p.LastFail), LastError: p.LastError,
			LastTransferType: p.LastXfrType,
		}
		if host, port, err := net.SplitHostPort(p.Addr); err == nil {
			ph.IP = host
			ph.Port, _ = strconv.Atoi(port)
		}
		switch {
		case p.Up:
			ph.Status = "up"
		case p.Failures > 0:
			ph.Status = "down"
		default:
			ph.Status = "unknown"
		}
		if p.NoIXFRUntil.After(now) {
			ph.AXFROnlyUntil = timePtr(p.NoIXFRUntil)
		}
		zs.PeerHealth = append(zs.PeerHealth, ph)
	}
	return zs
}

// Handler serves the API and the status page for the zones of its providers.
type Handler struct {
	token  string
	cookie string // the status page's session cookie value: derived from the token
	csrf   *http.CrossOriginProtection
	now    func() time.Time

	mu    sync.RWMutex
	provs []*registered // in the order they were added
}

type registered struct{ p Provider }

// NewHandler returns a handler with no zones. With a token, every request but /healthz and
// the static files must present it.
func NewHandler(token string) *Handler {
	h := &Handler{token: token, csrf: http.NewCrossOriginProtection(), now: time.Now}
	if token != "" {
		mac := hmac.New(sha256.New, []byte(token))
		mac.Write([]byte("cfsecondary status page session"))
		h.cookie = hex.EncodeToString(mac.Sum(nil))
	}
	return h
}

// Add serves p's zones too, until remove is called. When two providers have a zone of the
// same name, the first added is shown, and a force or refresh reaches both.
func (h *Handler) Add(p Provider) (remove func()) {
	r := &registered{p: p}
	h.mu.Lock()
	h.provs = append(h.provs, r)
	h.mu.Unlock()
	return func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.provs = slices.DeleteFunc(h.provs, func(x *registered) bool { return x == r })
	}
}

// providers returns the providers now; their Zones are called without the lock held.
func (h *Handler) providers() []*registered {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return slices.Clone(h.provs)
}

// zones returns every zone once, by name, first provider first.
func (h *Handler) zones() []Zone {
	var out []Zone
	seen := map[string]bool{}
	for _, r := range h.providers() {
		for _, z := range r.p.Zones() {
			if !seen[z.Name()] {
				seen[z.Name()] = true
				out = append(out, z)
			}
		}
	}
	slices.SortFunc(out, func(a, b Zone) int { return strings.Compare(a.Name(), b.Name()) })
	return out
}

// find returns the zones of that name (normally one), the first provider's first.
func (h *Handler) find(name string) []Zone {
	name = canonical(name)
	var out []Zone
	for _, r := range h.providers() {
		for _, z := range r.p.Zones() {
			if z.Name() == name {
				out = append(out, z)
			}
		}
	}
	return out
}

// canonical lower-cases a zone name and adds the trailing dot.
func canonical(name string) string {
	name = strings.ToLower(name)
	if !strings.HasSuffix(name, ".") {
		name += "."
	}
	return name
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")

	path := r.URL.Path
	if rest, ok := strings.CutPrefix(path, "/client/v4"); ok && (rest == "" || rest[0] == '/') {
		path = rest
	}
	switch path {
	case "/healthz":
		if h.method(w, r, http.MethodGet) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			fmt.Fprintln(w, "OK")
		}
		return
	case "/status.js", "/status.css":
		if h.method(w, r, http.MethodGet) {
			serveStatic(w, r, path[1:])
		}
		return
	}

	// A browser page of another origin may not POST here (CSRF), and, without a token, a host
	// name that is neither an address nor localhost is refused: it is how a page that rebinds
	// its own name to 127.0.0.1 would reach an API that has no token.
	if err := h.csrf.Check(r); err != nil {
		h.fail(w, http.StatusForbidden, CodeForbidden, "cross-origin request refused: "+err.Error())
		return
	}
	if h.token == "" && !localHost(r.Host) {
		h.fail(w, http.StatusForbidden, CodeForbidden, fmt.Sprintf("host %q refused: without a token the API answers to IP addresses and localhost only", r.Host))
		return
	}

	switch {
	case path == "/":
		h.servePage(w, r)
		return
	case path == "/login":
		h.serveLogin(w, r)
		return
	}
	if !h.authorized(w, r) {
		return
	}
	if path == "/zones" || path == "/zones/" {
		if h.method(w, r, http.MethodGet) {
			h.list(w, r)
		}
		return
	}
	rest, ok := strings.CutPrefix(path, "/zones/")
	if !ok {
		h.fail(w, http.StatusNotFound, CodeNoRoute, "No route for that URI")
		return
	}
	parts := strings.Split(rest, "/")
	if parts[0] == "" {
		h.fail(w, http.StatusNotFound, CodeNoRoute, "No route for that URI")
		return
	}
	switch {
	case len(parts) == 1:
		if zs := h.zoneFor(w, r, parts[0], http.MethodGet); zs != nil {
			h.ok(w, zoneStatus(zs[0].Status(), h.now()), nil)
		}
	case len(parts) == 3 && parts[1] == "secondary_dns" && parts[2] == "incoming":
		if zs := h.zoneFor(w, r, parts[0], http.MethodGet); zs != nil {
			h.ok(w, incoming(zs[0].Status()), nil)
		}
	case len(parts) == 3 && parts[1] == "secondary_dns" && parts[2] == "force_axfr":
		if zs := h.zoneFor(w, r, parts[0], http.MethodPost); zs != nil {
			log.Infof("api: full transfer of %s asked for by %s", zs[0].Name(), r.RemoteAddr)
			for _, z := range zs {
				z.Force()
			}
			h.ok(w, "OK", nil)
		}
	case len(parts) == 3 && parts[1] == "secondary_dns" && parts[2] == "refresh":
		if zs := h.zoneFor(w, r, parts[0], http.MethodPost); zs != nil {
			log.Infof("api: SOA check of %s asked for by %s", zs[0].Name(), r.RemoteAddr)
			for _, z := range zs {
				z.Refresh()
			}
			h.ok(w, "OK", nil)
		}
	default:
		h.fail(w, http.StatusNotFound, CodeNoRoute, "No route for that URI")
	}
}

// zoneFor checks the method, then finds the zone; on failure it answers and returns nil.
func (h *Handler) zoneFor(w http.ResponseWriter, r *http.Request, name, method string) []Zone {
	if !h.method(w, r, method) {
		return nil
	}
	zs := h.find(name)
	if len(zs) == 0 {
		h.fail(w, http.StatusNotFound, CodeUnknownZone, fmt.Sprintf("no such zone: %s", canonical(name)))
		return nil
	}
	return zs
}

// method answers 405 with an Allow header unless r uses m (GET also allows HEAD).
func (h *Handler) method(w http.ResponseWriter, r *http.Request, m string) bool {
	if r.Method == m || (m == http.MethodGet && r.Method == http.MethodHead) {
		return true
	}
	allow := m
	if m == http.MethodGet {
		allow = "GET, HEAD"
	}
	w.Header().Set("Allow", allow)
	h.fail(w, http.StatusMethodNotAllowed, CodeMethodNotAllowed, fmt.Sprintf("method %s not allowed: use %s", r.Method, allow))
	return false
}

// tokenOK compares in constant time (hashes first, so the length does not show either).
func (h *Handler) tokenOK(got string) bool {
	a, b := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(h.token))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

const cookieName = "cfsecondary_session"

// credentials reports whether r presents credentials at all, and whether they are right.
func (h *Handler) credentials(r *http.Request) (present, ok bool) {
	if h.token == "" {
		return true, true
	}
	if auth := r.Header.Get("Authorization"); auth != "" {
		scheme, tok, found := strings.Cut(auth, " ")
		if !found || !strings.EqualFold(scheme, "Bearer") {
			return true, false
		}
		return true, h.tokenOK(strings.TrimSpace(tok))
	}
	if c, err := r.Cookie(cookieName); err == nil {
		return true, subtle.ConstantTimeCompare([]byte(c.Value), []byte(h.cookie)) == 1
	}
	return false, false
}

// authorized answers 401 unless r carries the token.
func (h *Handler) authorized(w http.ResponseWriter, r *http.Request) bool {
	present, ok := h.credentials(r)
	if ok {
		return true
	}
	if present {
		w.Header().Set("WWW-Authenticate", `Bearer realm="cfsecondary", error="invalid_token"`)
		h.fail(w, http.StatusUnauthorized, CodeAuth, "Authentication error: invalid token")
	} else {
		w.Header().Set("WWW-Authenticate", `Bearer realm="cfsecondary"`)
		h.fail(w, http.StatusUnauthorized, CodeAuth, "Authentication error: a bearer token is required")
	}
	return false
}

func (h *Handler) list(w http.ResponseWriter, r *http.Request) {
	now := h.now()
	zones := h.zones()
	out := make([]ZoneStatus, 0, len(zones))
	for _, z := range zones {
		out = append(out, zoneStatus(z.Status(), now))
	}
	h.ok(w, out, &ResultInfo{Page: 1, PerPage: len(out), Count: len(out), TotalCount: len(out)})
}

func (h *Handler) ok(w http.ResponseWriter, result any, info *ResultInfo) {
	writeJSON(w, http.StatusOK, Envelope{Success: true, Errors: []Message{}, Messages: []Message{}, Result: result, ResultInfo: info})
}

func (h *Handler) fail(w http.ResponseWriter, status, code int, msg string) {
	writeJSON(w, status, Envelope{Errors: []Message{{Code: code, Message: msg}}, Messages: []Message{}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(body, '\n'))
}

// localHost reports whether a Host header names an IP address or localhost.
func localHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if net.ParseIP(host) != nil {
		return true
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	return host == "localhost" || strings.HasSuffix(host, ".localhost")
}
