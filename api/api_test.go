package api

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cfsecondary/cfsecondary/engine"
)

// fakeZone is a Zone with a status set by the test; it counts the forces and refreshes.
type fakeZone struct {
	name string

	mu        sync.Mutex
	st        engine.Status
	forces    int
	refreshes int
}

func (z *fakeZone) Name() string { return z.name }
func (z *fakeZone) Status() engine.Status {
	z.mu.Lock()
	defer z.mu.Unlock()
	st := z.st
	st.Zone = z.name
	return st
}
func (z *fakeZone) Force()   { z.mu.Lock(); z.forces++; z.mu.Unlock() }
func (z *fakeZone) Refresh() { z.mu.Lock(); z.refreshes++; z.mu.Unlock() }
func (z *fakeZone) counts() (int, int) {
	z.mu.Lock()
	defer z.mu.Unlock()
	return z.forces, z.refreshes
}

var (
	t0      = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	checked = t0.Add(-30 * time.Second)
	xfrAt   = t0.Add(-5 * time.Minute)
)

// fixture returns a fresh zone with a transfer and two peers, one down, and a loading one.
func fixture() (*fakeZone, *fakeZone) {
	fresh := &fakeZone{name: "example.com.", st: engine.Status{
		State: engine.StateFresh, Serial: 2026112601, Records: 1234, Refresh: 300 * time.Second,
		LastCheck: checked, LastSuccess: checked, NextRefresh: t0.Add(270 * time.Second),
		ExpiresAt: t0.Add(7 * 24 * time.Hour), Attempts: 3,
		LastTransfer: engine.TransferInfo{At: xfrAt, Peer: "192.0.2.1:53", Type: "ixfr", Serial: 2026112601, Records: 1234, Bytes: 56789, Duration: 1500 * time.Millisecond},
		Peers: []engine.PeerStatus{
			{Addr: "192.0.2.1:53", Key: "xfr-key.", IXFR: true, Up: true, LastOK: checked, LastXfrType: "ixfr"},
			{Addr: "[2001:db8::2]:5353", Failures: 2, LastFail: checked, LastError: "connection refused", NoIXFRUntil: t0.Add(time.Hour)},
		},
	}}
	loading := &fakeZone{name: "loading.test.", st: engine.Status{
		State: engine.StateLoading, Refresh: 3600 * time.Second, NextRefresh: t0.Add(time.Second), LastError: "no answer",
		Peers: []engine.PeerStatus{{Addr: "192.0.2.9:53"}},
	}}
	return fresh, loading
}

func newTestServer(t *testing.T, token string, zones ...Zone) (*httptest.Server, *Handler) {
	t.Helper()
	h := NewHandler(token)
	h.now = func() time.Time { return t0 }
	h.Add(Zones(zones))
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv, h
}

type response struct {
	status int
	header http.Header
	body   string
	env    Envelope
	raw    map[string]json.RawMessage
}

// do sends a request; header pairs are name, value, name, value...
func do(t *testing.T, method, u string, header ...string) response {
	t.Helper()
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		if strings.EqualFold(header[i], "Host") {
			req.Host = header[i+1]
			continue
		}
		req.Header.Set(header[i], header[i+1])
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	r := response{status: resp.StatusCode, header: resp.Header, body: string(body)}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") && method != "HEAD" {
		if err := json.Unmarshal(body, &r.env); err != nil {
			t.Fatalf("%s %s: bad JSON %q: %v", method, u, body, err)
		}
		json.Unmarshal(body, &r.raw)
	}
	return r
}

// wantError checks an error answer: status, the envelope, and the error code.
func wantError(t *testing.T, r response, status, code int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	if r.env.Success || len(r.env.Errors) != 1 || r.env.Errors[0].Code != code || r.env.Errors[0].Message == "" {
		t.Fatalf("want one error with code %d: %s", code, r.body)
	}
	if string(r.raw["result"]) != "null" || string(r.raw["messages"]) != "[]" {
		t.Fatalf("error envelope wants result null and messages []: %s", r.body)
	}
}

func TestListZones(t *testing.T) {
	fresh, loading := fixture()
	srv, _ := newTestServer(t, "", loading, fresh)
	r := do(t, "GET", srv.URL+"/zones")
	if r.status != 200 || !r.env.Success || string(r.raw["errors"]) != "[]" || string(r.raw["messages"]) != "[]" {
		t.Fatalf("list: %d %s", r.status, r.body)
	}
	if r.header.Get("Content-Type") != "application/json" || r.header.Get("Cache-Control") != "no-store" {
		t.Errorf("headers: %v", r.header)
	}
	var list []ZoneStatus
	if err := json.Unmarshal(r.raw["result"], &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Name != "example.com." || list[1].Name != "loading.test." {
		t.Fatalf("want both zones sorted by name: %s", r.raw["result"])
	}
	var info ResultInfo
	json.Unmarshal(r.raw["result_info"], &info)
	if info != (ResultInfo{Page: 1, PerPage: 2, Count: 2, TotalCount: 2}) {
		t.Errorf("result_info %+v", info)
	}
	if list[1].State != "loading" || list[1].LastTransfer != nil || list[1].ExpiresTime != nil || list[1].ExpiresInSeconds != nil ||
		list[1].CheckedTime != nil || list[1].ModifiedTime != nil || list[1].LastError != "no answer" || list[1].PeerHealth[0].Status != "unknown" {
		t.Errorf("loading zone: %+v", list[1])
	}

	// An empty list is [], not null.
	empty, _ := newTestServer(t, "")
	if r := do(t, "GET", empty.URL+"/zones"); string(r.raw["result"]) != "[]" {
		t.Errorf("no zones: %s", r.body)
	}
}

func TestGetZone(t *testing.T) {
	fresh, loading := fixture()
	srv, _ := newTestServer(t, "", fresh, loading)
	for _, name := range []string{"example.com", "example.com.", "EXAMPLE.Com", "Example.COM."} {
		r := do(t, "GET", srv.URL+"/zones/"+name)
		if r.status != 200 || !r.env.Success {
			t.Fatalf("GET /zones/%s: %d %s", name, r.status, r.body)
		}
		var zs ZoneStatus
		if err := json.Unmarshal(r.raw["result"], &zs); err != nil {
			t.Fatal(err)
		}
		if zs.Name != "example.com." {
			t.Fatalf("GET /zones/%s gave %s", name, zs.Name)
		}
	}

	r := do(t, "GET", srv.URL+"/zones/example.com")
	var got map[string]any
	json.Unmarshal(r.raw["result"], &got)
	want := map[string]any{
		"name": "example.com.", "auto_refresh_seconds": 300.0, "soa_serial": 2026112601.0,
		"checked_time": "2026-11-26T11:59:30Z", "modified_time": "2026-11-26T11:55:00Z",
		"state": "fresh", "records": 1234.0, "last_error": "", "last_success_time": "2026-11-26T11:59:30Z",
		"next_refresh_time": "2026-11-26T12:04:30Z", "expires_time": "2026-12-03T12:00:00Z",
		"expires_in_seconds": 604800.0, "transfer_attempts": 3.0,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %#v, want %#v", k, got[k], v)
		}
	}
	if peers := fmt.Sprint(got["peers"]); peers != "[192.0.2.1:53 [2001:db8::2]:5353]" {
		t.Errorf("peers %s", peers)
	}
	xfr, _ := json.Marshal(got["last_transfer"])
	if string(xfr) != `{"duration_seconds":1.5,"peer":"192.0.2.1:53","records":1234,"serial":2026112601,"size_bytes":56789,"time":"2026-11-26T11:55:00Z","type":"ixfr"}` {
		t.Errorf("last_transfer %s", xfr)
	}
	var zs ZoneStatus
	json.Unmarshal(r.raw["result"], &zs)
	up, down := zs.PeerHealth[0], zs.PeerHealth[1]
	if up.ID != "192.0.2.1:53" || up.IP != "192.0.2.1" || up.Port != 53 || !up.IXFREnable || up.TSIGID != "xfr-key." ||
		up.Status != "up" || up.LastTransferType != "ixfr" || up.LastOKTime == nil || up.AXFROnlyUntil != nil {
		t.Errorf("peer up: %+v", up)
	}
	if down.IP != "2001:db8::2" || down.Port != 5353 || down.Status != "down" || down.Failures != 2 ||
		down.LastError != "connection refused" || down.AXFROnlyUntil == nil || down.LastOKTime != nil {
		t.Errorf("peer down: %+v", down)
	}

	// HEAD is GET without the body.
	if r := do(t, "HEAD", srv.URL+"/zones/example.com"); r.status != 200 || r.body != "" {
		t.Errorf("HEAD: %d %q", r.status, r.body)
	}
	// Cloudflare's prefix.
	if r := do(t, "GET", srv.URL+"/client/v4/zones/example.com"); r.status != 200 || !r.env.Success {
		t.Errorf("/client/v4: %d %s", r.status, r.body)
	}
	// An expired zone expires in 0, whatever its timer says.
	fresh.mu.Lock()
	fresh.st.State = engine.StateExpired
	fresh.mu.Unlock()
	json.Unmarshal(do(t, "GET", srv.URL+"/zones/example.com").raw["result"], &zs)
	if zs.State != "expired" || zs.ExpiresInSeconds == nil || *zs.ExpiresInSeconds != 0 {
		t.Errorf("expired: %s, %v", zs.State, zs.ExpiresInSeconds)
	}
}

func TestIncoming(t *testing.T) {
	fresh, _ := fixture()
	srv, _ := newTestServer(t, "", fresh)
	r := do(t, "GET", srv.URL+"/zones/example.com/secondary_dns/incoming")
	if r.status != 200 || !r.env.Success {
		t.Fatalf("%d %s", r.status, r.body)
	}
	var got map[string]any
	json.Unmarshal(r.raw["result"], &got)
	var keys []string
	for k := range got {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if strings.Join(keys, " ") != "auto_refresh_seconds checked_time modified_time name peers soa_serial" {
		t.Errorf("Cloudflare's fields only, got %v", keys)
	}
	if got["name"] != "example.com." || got["soa_serial"] != 2026112601.0 || got["auto_refresh_seconds"] != 300.0 ||
		got["checked_time"] != "2026-11-26T11:59:30Z" || got["modified_time"] != "2026-11-26T11:55:00Z" {
		t.Errorf("incoming: %s", r.raw["result"])
	}
}

func TestForceAndRefresh(t *testing.T) {
	fresh, loading := fixture()
	srv, _ := newTestServer(t, "", fresh, loading)
	r := do(t, "POST", srv.URL+"/zones/EXAMPLE.com/secondary_dns/force_axfr")
	if r.status != 200 || r.body != `{"success":true,"errors":[],"messages":[],"result":"OK"}`+"\n" {
		t.Fatalf("force_axfr: %d %s", r.status, r.body)
	}
	if f, rf := fresh.counts(); f != 1 || rf != 0 {
		t.Errorf("after force_axfr: %d forces, %d refreshes", f, rf)
	}
	r = do(t, "POST", srv.URL+"/zones/example.com./secondary_dns/refresh")
	if r.status != 200 || r.body != `{"success":true,"errors":[],"messages":[],"result":"OK"}`+"\n" {
		t.Fatalf("refresh: %d %s", r.status, r.body)
	}
	if f, rf := fresh.counts(); f != 1 || rf != 1 {
		t.Errorf("after refresh: %d forces, %d refreshes", f, rf)
	}
	if f, rf := loading.counts(); f != 0 || rf != 0 {
		t.Errorf("the other zone was touched: %d forces, %d refreshes", f, rf)
	}
}

func TestUnknownZone(t *testing.T) {
	fresh, _ := fixture()
	srv, _ := newTestServer(t, "", fresh)
	for _, c := range []struct{ method, path string }{
		{"GET", "/zones/nope.test"},
		{"GET", "/zones/nope.test./secondary_dns/incoming"},
		{"POST", "/zones/nope.test/secondary_dns/force_axfr"},
		{"POST", "/zones/nope.test/secondary_dns/refresh"},
		{"GET", "/zones/com"},             // a parent of a zone is not the zone
		{"GET", "/zones/www.example.com"}, // nor a name in it
	} {
		r := do(t, c.method, srv.URL+c.path)
		wantError(t, r, http.StatusNotFound, CodeUnknownZone)
	}
	if f, _ := fresh.counts(); f != 0 {
		t.Errorf("forced %d times", f)
	}
	r := do(t, "GET", srv.URL+"/zones/nope.test")
	if msg := r.env.Errors[0].Message; msg != "no such zone: nope.test." {
		t.Errorf("message %q", msg)
	}
}

func TestNoRoute(t *testing.T) {
	fresh, _ := fixture()
	srv, _ := newTestServer(t, "", fresh)
	for _, p := range []string{"/nope", "/zones/example.com/secondary_dns", "/zones/example.com/secondary_dns/nope",
		"/zones/example.com/dns_records", "/zones/example.com/secondary_dns/incoming/x", "/zones//secondary_dns/incoming", "/client/v4x/zones"} {
		wantError(t, do(t, "GET", srv.URL+p), http.StatusNotFound, CodeNoRoute)
	}
}

func TestWrongMethod(t *testing.T) {
	fresh, _ := fixture()
	srv, _ := newTestServer(t, "", fresh)
	for _, c := range []struct{ method, path, allow string }{
		{"POST", "/zones", "GET, HEAD"},
		{"DELETE", "/zones/example.com", "GET, HEAD"},
		{"PUT", "/zones/example.com/secondary_dns/incoming", "GET, HEAD"},
		{"GET", "/zones/example.com/secondary_dns/force_axfr", "POST"},
		{"PUT", "/zones/example.com/secondary_dns/force_axfr", "POST"},
		{"GET", "/zones/example.com/secondary_dns/refresh", "POST"},
		{"GET", "/zones/nope.test/secondary_dns/refresh", "POST"}, // the method first, then the zone
		{"POST", "/", "GET, HEAD"},
		{"GET", "/login", "POST"},
		{"POST", "/healthz", "GET, HEAD"},
	} {
		r := do(t, c.method, srv.URL+c.path)
		wantError(t, r, http.StatusMethodNotAllowed, CodeMethodNotAllowed)
		if got := r.header.Get("Allow"); got != c.allow {
			t.Errorf("%s %s: Allow %q, want %q", c.method, c.path, got, c.allow)
		}
	}
	if f, rf := fresh.counts(); f != 0 || rf != 0 {
		t.Errorf("%d forces and %d refreshes by wrong methods", f, rf)
	}
}

func TestAuth(t *testing.T) {
	const token = "s3cret-token"
	fresh, _ := fixture()
	srv, _ := newTestServer(t, token, fresh)
	endpoints := []struct{ method, path string }{
		{"GET", "/zones"},
		{"GET", "/zones/example.com"},
		{"GET", "/zones/example.com/secondary_dns/incoming"},
		{"POST", "/zones/example.com/secondary_dns/force_axfr"},
		{"POST", "/zones/example.com/secondary_dns/refresh"},
		{"GET", "/zones/nope.test"},                         // no token: 401 before 404, nothing leaks
		{"GET", "/zones/example.com/secondary_dns/refresh"}, // and before 405
	}
	for _, e := range endpoints {
		r := do(t, e.method, srv.URL+e.path)
		wantError(t, r, http.StatusUnauthorized, CodeAuth)
		if got := r.header.Get("WWW-Authenticate"); got != `Bearer realm="cfsecondary"` {
			t.Errorf("%s %s without a token: WWW-Authenticate %q", e.method, e.path, got)
		}
		for _, bad := range []string{"Bearer wrong", "Bearer " + token + "x", "Bearer", "Basic " + token, token, "Bearer s3cret-toke"} {
			r := do(t, e.method, srv.URL+e.path, "Authorization", bad)
			wantError(t, r, http.StatusUnauthorized, CodeAuth)
			if got := r.header.Get("WWW-Authenticate"); got != `Bearer realm="cfsecondary", error="invalid_token"` {
				t.Errorf("%s %s with %q: WWW-Authenticate %q", e.method, e.path, bad, got)
			}
		}
		// The cookie of the page must be the right one too.
		r = do(t, e.method, srv.URL+e.path, "Cookie", cookieName+"=forged")
		wantError(t, r, http.StatusUnauthorized, CodeAuth)
	}
	if f, rf := fresh.counts(); f != 0 || rf != 0 {
		t.Fatalf("%d forces and %d refreshes without the token", f, rf)
	}

	for _, e := range endpoints[:5] {
		for _, auth := range []string{"Bearer " + token, "bearer " + token} {
			if r := do(t, e.method, srv.URL+e.path, "Authorization", auth); r.status != 200 || !r.env.Success {
				t.Errorf("%s %s with the token: %d %s", e.method, e.path, r.status, r.body)
			}
		}
	}
	if f, rf := fresh.counts(); f != 2 || rf != 2 {
		t.Errorf("%d forces and %d refreshes with the token, want 2 and 2", f, rf)
	}
	// With the token, 404 and 405 as without one.
	wantError(t, do(t, "GET", srv.URL+"/zones/nope.test", "Authorization", "Bearer "+token), http.StatusNotFound, CodeUnknownZone)
	wantError(t, do(t, "GET", srv.URL+"/zones/example.com/secondary_dns/refresh", "Authorization", "Bearer "+token), http.StatusMethodNotAllowed, CodeMethodNotAllowed)

	// /healthz and the page's script and style need no token.
	for _, p := range []string{"/healthz", "/status.js", "/status.css"} {
		if r := do(t, "GET", srv.URL+p); r.status != 200 || r.body == "" {
			t.Errorf("%s: %d", p, r.status)
		}
	}
}

func TestStatusPage(t *testing.T) {
	fresh, loading := fixture()
	loading.st.LastError = `<script>alert("x")</script>`
	srv, _ := newTestServer(t, "", fresh, loading)
	r := do(t, "GET", srv.URL+"/")
	if r.status != 200 || r.header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("%d %v", r.status, r.header)
	}
	if csp := r.header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("CSP %q", csp)
	}
	for _, want := range []string{
		`<tr data-zone="example.com.">`, `<td class="serial">2026112601</td>`, `state-fresh">fresh</span>`,
		`<td class="checked" data-time="2026-11-26T11:59:30Z">30s ago</td>`, `<td class="expires">7d 0h</td>`,
		`<li class="peer peer-up" title="TSIG xfr-key.; IXFR; last answered 30s ago">192.0.2.1:53 <span class="peer-status">up</span></li>`,
		`peer peer-down`, `2 failures in a row, last: connection refused`,
		`<td class="transfer" data-time="2026-11-26T11:55:00Z">IXFR, 56.8 kB in 1.50s, 5m 0s ago</td>`,
		`<button type="button" class="force">Force transfer</button>`,
		`<tr data-zone="loading.test.">`, `<td class="serial">—</td>`, `<td class="expires">—</td>`, `none yet`, `never`,
		`&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;`,
		`2 zones: 1 fresh, 1 loading`, `<script src="status.js" defer></script>`,
	} {
		if !strings.Contains(r.body, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	if strings.Contains(r.body, `<script>alert`) {
		t.Error("the last error is not escaped")
	}
	if r := do(t, "GET", srv.URL+"/status.js"); r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/javascript") || !strings.Contains(r.body, "force_axfr") {
		t.Errorf("status.js: %d %v", r.status, r.header)
	}
	if r := do(t, "GET", srv.URL+"/status.css"); r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/css") {
		t.Errorf("status.css: %d %v", r.status, r.header)
	}
	if r := do(t, "GET", srv.URL+"/healthz"); r.status != 200 || r.body != "OK\n" {
		t.Errorf("healthz: %d %q", r.status, r.body)
	}
	empty, _ := newTestServer(t, "")
	if r := do(t, "GET", empty.URL+"/"); r.status != 200 || !strings.Contains(r.body, "No zones.") || !strings.Contains(r.body, "0 zones") {
		t.Errorf("no zones: %d %s", r.status, r.body)
	}
}

func TestStatusPageSignIn(t *testing.T) {
	const token = "page-token"
	fresh, _ := fixture()
	srv, _ := newTestServer(t, token, fresh)

	// Without the token: the sign-in form, and no zone.
	r := do(t, "GET", srv.URL+"/")
	if r.status != 401 || !strings.Contains(r.body, `<form class="signin" method="post" action="login">`) || strings.Contains(r.body, "example.com") {
		t.Fatalf("without a token: %d %s", r.status, r.body)
	}
	if r.header.Get("WWW-Authenticate") == "" {
		t.Error("no WWW-Authenticate")
	}
	if r := do(t, "GET", srv.URL+"/?token=wrong"); r.status != 401 || !strings.Contains(r.body, "Wrong token.") || r.header.Get("Set-Cookie") != "" {
		t.Fatalf("wrong token: %d %v %s", r.status, r.header, r.body)
	}

	// ?token= sets the cookie and sends the browser back to /, out of the address bar.
	r = do(t, "GET", srv.URL+"/?token="+token)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/" {
		t.Fatalf("?token=: %d %v", r.status, r.header)
	}
	cookie := r.header.Get("Set-Cookie")
	for _, want := range []string{cookieName + "=", "Path=/", "HttpOnly", "SameSite=Strict"} {
		if !strings.Contains(cookie, want) {
			t.Errorf("cookie %q lacks %s", cookie, want)
		}
	}
	if strings.Contains(cookie, token) {
		t.Errorf("the cookie holds the token itself: %q", cookie)
	}
	session, _, _ := strings.Cut(cookie, ";")
	if r := do(t, "GET", srv.URL+"/", "Cookie", session); r.status != 200 || !strings.Contains(r.body, `data-zone="example.com."`) {
		t.Fatalf("with the cookie: %d %s", r.status, r.body)
	}
	if r := do(t, "POST", srv.URL+"/zones/example.com/secondary_dns/force_axfr", "Cookie", session); r.status != 200 || !r.env.Success {
		t.Fatalf("force with the cookie: %d %s", r.status, r.body)
	}
	if f, _ := fresh.counts(); f != 1 {
		t.Errorf("%d forces", f)
	}
	if r := do(t, "GET", srv.URL+"/", "Cookie", cookieName+"=stale"); r.status != 401 || !strings.Contains(r.body, "sign in again") {
		t.Errorf("stale cookie: %d %s", r.status, r.body)
	}

	// The form.
	post := func(form url.Values) *http.Response {
		c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := c.PostForm(srv.URL+"/login", form)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if resp := post(url.Values{"token": {"nope"}}); resp.StatusCode != 401 || len(resp.Cookies()) != 0 {
		t.Errorf("form, wrong token: %d %v", resp.StatusCode, resp.Cookies())
	}
	resp := post(url.Values{"token": {token}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" || len(resp.Cookies()) != 1 || resp.Cookies()[0].Value != strings.TrimPrefix(session, cookieName+"=") {
		t.Errorf("form: %d %v", resp.StatusCode, resp.Header)
	}
}

func TestCrossOrigin(t *testing.T) {
	fresh, _ := fixture()
	srv, _ := newTestServer(t, "", fresh)
	for _, h := range [][]string{
		{"Sec-Fetch-Site", "cross-site"},
		{"Sec-Fetch-Site", "same-site"}, // another port of the same host is same-site, not same-origin
		{"Origin", "http://evil.example"},
	} {
		r := do(t, "POST", srv.URL+"/zones/example.com/secondary_dns/force_axfr", h...)
		wantError(t, r, http.StatusForbidden, CodeForbidden)
	}
	if f, _ := fresh.counts(); f != 0 {
		t.Errorf("a cross-origin page forced %d transfers", f)
	}
	// The page's own requests, and tools that send no such header, pass.
	if r := do(t, "POST", srv.URL+"/zones/example.com/secondary_dns/force_axfr", "Sec-Fetch-Site", "same-origin"); r.status != 200 {
		t.Errorf("same-origin: %d %s", r.status, r.body)
	}
	// A cross-origin GET is harmless and the same-origin policy keeps its answer from the page.
	if r := do(t, "GET", srv.URL+"/zones", "Sec-Fetch-Site", "cross-site"); r.status != 200 {
		t.Errorf("cross-site GET: %d", r.status)
	}
}

func TestHostNames(t *testing.T) {
	fresh, _ := fixture()
	open, _ := newTestServer(t, "", fresh)
	for _, host := range []string{"127.0.0.1:8053", "[::1]:8053", "localhost:8053", "LOCALHOST", "app.localhost:8053", "192.0.2.1"} {
		if r := do(t, "GET", open.URL+"/zones", "Host", host); r.status != 200 {
			t.Errorf("Host %s: %d %s", host, r.status, r.body)
		}
	}
	// Without a token, a name that rebinds to 127.0.0.1 does not reach the API.
	for _, host := range []string{"evil.example:8053", "evil.example", "localhost.evil.example"} {
		wantError(t, do(t, "GET", open.URL+"/zones", "Host", host), http.StatusForbidden, CodeForbidden)
		wantError(t, do(t, "GET", open.URL+"/", "Host", host), http.StatusForbidden, CodeForbidden)
	}
	// With a token, any name will do.
	locked, _ := newTestServer(t, "tok", fresh)
	if r := do(t, "GET", locked.URL+"/zones", "Host", "secondary.example:8053", "Authorization", "Bearer tok"); r.status != 200 {
		t.Errorf("with a token: %d %s", r.status, r.body)
	}
}

func TestSameZoneTwice(t *testing.T) {
	a, _ := fixture()
	b := &fakeZone{name: "example.com.", st: engine.Status{State: engine.StateLoading}}
	h := NewHandler("")
	h.Add(Zones{a})
	removeB := h.Add(Zones{b})
	srv := httptest.NewServer(h)
	defer srv.Close()
	r := do(t, "GET", srv.URL+"/zones")
	var list []ZoneStatus
	json.Unmarshal(r.raw["result"], &list)
	if len(list) != 1 || list[0].State != "fresh" {
		t.Fatalf("want the first provider's zone once: %s", r.raw["result"])
	}
	do(t, "POST", srv.URL+"/zones/example.com/secondary_dns/force_axfr")
	if fa, _ := a.counts(); fa != 1 {
		t.Errorf("first: %d forces", fa)
	}
	if fb, _ := b.counts(); fb != 1 {
		t.Errorf("second: %d forces", fb)
	}
	removeB()
	do(t, "POST", srv.URL+"/zones/example.com/secondary_dns/force_axfr")
	if fb, _ := b.counts(); fb != 1 {
		t.Errorf("removed provider forced: %d", fb)
	}
}

// freeAddr returns a loopback address with a port free now.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func TestListenShared(t *testing.T) {
	addr := freeAddr(t)
	a, _ := fixture()
	b := &fakeZone{name: "other.test.", st: engine.Status{State: engine.StateLoading}}
	ra, err := Listen(addr, "tok", Zones{a})
	if err != nil {
		t.Fatal(err)
	}
	rb, err := Listen(addr, "tok", Zones{b})
	if err != nil {
		t.Fatal(err)
	}
	if ra.Addr().String() != addr || rb.Addr().String() != addr {
		t.Errorf("addresses %s %s", ra.Addr(), rb.Addr())
	}
	if _, err := Listen(addr, "other-token", Zones{}); err == nil || !strings.Contains(err.Error(), "different token") {
		t.Errorf("another token on the same address: %v", err)
	}
	names := func() []string {
		r := do(t, "GET", "http://"+addr+"/zones", "Authorization", "Bearer tok")
		var list []ZoneStatus
		json.Unmarshal(r.raw["result"], &list)
		var out []string
		for _, z := range list {
			out = append(out, z.Name)
		}
		return out
	}
	if got := names(); !slices.Equal(got, []string{"example.com.", "other.test."}) {
		t.Errorf("both registrations' zones: %v", got)
	}
	ra.Close()
	ra.Close() // twice is harmless
	if got := names(); !slices.Equal(got, []string{"other.test."}) {
		t.Errorf("after the first Close: %v", got)
	}
	rb.Close()
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Error("the listener is still open after the last Close")
	}

	// It opens again, with another token if need be.
	rc, err := Listen(addr, "", Zones{b})
	if err != nil {
		t.Fatalf("reopening: %v", err)
	}
	if got := names(); !slices.Equal(got, []string{"other.test."}) {
		t.Errorf("reopened: %v", got)
	}
	rc.Close()
}

func TestListenBusy(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if _, err := Listen(l.Addr().String(), "", Zones{}); err == nil {
		t.Fatal("listening on a busy address succeeded")
	}
	if _, err := Listen("127.0.0.1:notaport", "", Zones{}); err == nil {
		t.Fatal("a bad address succeeded")
	}
}

func TestHuman(t *testing.T) {
	for _, c := range []struct {
		d    time.Duration
		want string
	}{
		{-time.Second, "0s"}, {0, "0s"}, {59 * time.Second, "59s"}, {60 * time.Second, "1m 0s"}, {3599 * time.Second, "59m 59s"},
		{time.Hour, "1h 0m"}, {25 * time.Hour, "1d 1h"}, {14 * 24 * time.Hour, "14d 0h"},
	} {
		if got := human(c.d); got != c.want {
			t.Errorf("human(%s) = %q, want %q", c.d, got, c.want)
		}
	}
	t1, t2 := t0, t0.Add(time.Second)
	if later(nil, nil) != nil || later(&t1, nil) != &t1 || later(nil, &t2) != &t2 || later(&t1, &t2) != &t2 || later(&t2, &t1) != &t2 {
		t.Error("later picks the wrong time")
	}
	for s, want := range map[float64]string{0: "0 ms", 0.0004: "0 ms", 0.0126: "13 ms", 0.999: "999 ms", 1: "1.00s", 23.654: "23.65s"} {
		if got := seconds(s); got != want {
			t.Errorf("seconds(%v) = %q, want %q", s, got, want)
		}
	}
	for n, want := range map[int64]string{0: "0 B", 999: "999 B", 1000: "1.0 kB", 56789: "56.8 kB", 24228992: "24.2 MB", 3e9: "3.0 GB"} {
		if got := size(n); got != want {
			t.Errorf("size(%d) = %q, want %q", n, got, want)
		}
	}
}
