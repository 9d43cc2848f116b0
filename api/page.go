package api

import (
	"embed"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/cfsecondary/cfsecondary/engine"
)

//go:embed static
var static embed.FS

var pages = template.Must(template.New("").Funcs(template.FuncMap{
	"rfc3339": func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.Format(time.RFC3339Nano)
	},
}).ParseFS(static, "static/*.html"))

// The status page allows its own script, style and API calls, and nothing else.
const pageCSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

func serveStatic(w http.ResponseWriter, r *http.Request, name string) {
	data, err := static.ReadFile("static/" + name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	ctype := "text/css; charset=utf-8"
	if strings.HasSuffix(name, ".js") {
		ctype = "text/javascript; charset=utf-8"
	}
	w.Header().Set("Content-Type", ctype)
	w.Write(data)
}

// servePage serves the status page. With a token, a browser signs in once, with the form of
// the sign-in page or by opening /?token=TOKEN: the answer sets a cookie (HttpOnly,
// SameSite=Strict, derived from the token) and sends it back to /, so the token does not stay
// in the address bar.
func (h *Handler) servePage(w http.ResponseWriter, r *http.Request) {
	if !h.method(w, r, http.MethodGet) {
		return
	}
	if tok := r.URL.Query().Get("token"); h.token != "" && r.URL.Query().Has("token") {
		h.signIn(w, r, tok)
		return
	}
	if present, ok := h.credentials(r); !ok {
		msg := ""
		if present {
			msg = "The token is wrong or has changed: sign in again."
		}
		h.signInPage(w, http.StatusUnauthorized, msg)
		return
	}
	h.renderStatus(w)
}

// serveLogin takes the sign-in form.
func (h *Handler) serveLogin(w http.ResponseWriter, r *http.Request) {
	if !h.method(w, r, http.MethodPost) {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	if err := r.ParseForm(); err != nil {
		h.signInPage(w, http.StatusBadRequest, "Bad form.")
		return
	}
	h.signIn(w, r, r.PostForm.Get("token"))
}

func (h *Handler) signIn(w http.ResponseWriter, r *http.Request, tok string) {
	if h.token == "" {
		http.Redirect(w, r, "./", http.StatusSeeOther)
		return
	}
	if !h.tokenOK(tok) {
		h.signInPage(w, http.StatusUnauthorized, "Wrong token.")
		return
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: h.cookie, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "./", http.StatusSeeOther)
}

func (h *Handler) signInPage(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="cfsecondary"`)
	h.html(w, status, "signin.html", map[string]string{"Message": msg})
}

func (h *Handler) html(w http.ResponseWriter, status int, name string, data any) {
	var b strings.Builder
	if err := pages.ExecuteTemplate(&b, name, data); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", pageCSP)
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	fmt.Fprint(w, b.String())
}

// pageRow is a zone as the status page shows it; status.js fills the same cells the same way.
type pageRow struct {
	ZoneStatus
	Checked    *time.Time // the later of the last SOA check and the last success
	CheckedAgo string
	ExpiresIn  string
	Transfer   string
	Peers      []pagePeer
}

type pagePeer struct {
	PeerHealth
	Title string
}

func (h *Handler) renderStatus(w http.ResponseWriter) {
	now := h.now()
	zones := h.zones()
	rows := make([]pageRow, 0, len(zones))
	counts := map[string]int{}
	for _, z := range zones {
		zs := zoneStatus(z.Status(), now)
		counts[zs.State]++
		checked := later(zs.CheckedTime, zs.LastSuccessTime)
		row := pageRow{ZoneStatus: zs, Checked: checked, CheckedAgo: ago(checked, now), ExpiresIn: expiresIn(zs), Transfer: transferText(zs.LastTransfer, now)}
		for _, p := range zs.PeerHealth {
			row.Peers = append(row.Peers, pagePeer{PeerHealth: p, Title: peerTitle(p, now)})
		}
		rows = append(rows, row)
	}
	h.html(w, http.StatusOK, "status.html", map[string]any{
		"Zones":   rows,
		"Summary": summary(len(rows), counts),
	})
}

// summary is the line above the table, e.g. "3 zones: 2 fresh, 1 retrying".
func summary(n int, counts map[string]int) string {
	var parts []string
	for _, s := range []engine.State{engine.StateFresh, engine.StateRetrying, engine.StateExpired, engine.StateLoading} {
		if c := counts[string(s)]; c > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c, s))
		}
	}
	noun := "zones"
	if n == 1 {
		noun = "zone"
	}
	if len(parts) == 0 {
		return fmt.Sprintf("%d %s", n, noun)
	}
	return fmt.Sprintf("%d %s: %s", n, noun, strings.Join(parts, ", "))
}

// human writes a duration the way status.js does: "45s", "3m 20s", "5h 10m", "6d 23h".
func human(d time.Duration) string {
	s := int64(max(d, 0) / time.Second)
	switch {
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return fmt.Sprintf("%dm %ds", s/60, s%60)
	case s < 86400:
		return fmt.Sprintf("%dh %dm", s/3600, s%3600/60)
	}
	return fmt.Sprintf("%dd %dh", s/86400, s%86400/3600)
}

// later returns the later of two times, either of which may be nil. The page's "Last check" is
// the last time a primary answered: an SOA check, or the transfer that loaded the zone.
func later(a, b *time.Time) *time.Time {
	if a == nil || (b != nil && b.After(*a)) {
		return b
	}
	return a
}

func ago(t *time.Time, now time.Time) string {
	if t == nil {
		return "never"
	}
	return human(now.Sub(*t)) + " ago"
}

func expiresIn(zs ZoneStatus) string {
	switch {
	case zs.State == string(engine.StateExpired):
		return "expired"
	case zs.ExpiresInSeconds == nil:
		return "—"
	}
	return human(time.Duration(*zs.ExpiresInSeconds) * time.Second)
}

// size writes a byte count as status.js does.
func size(n int64) string {
	switch {
	case n < 1000:
		return fmt.Sprintf("%d B", n)
	case n < 1_000_000:
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	case n < 1_000_000_000:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	}
	return fmt.Sprintf("%.1f GB", float64(n)/1e9)
}

func transferText(t *Transfer, now time.Time) string {
	if t == nil {
		return "none yet"
	}
	return fmt.Sprintf("%s, %s in %s, %s ago", strings.ToUpper(t.Type), size(t.SizeBytes), seconds(t.DurationSeconds), human(now.Sub(t.Time)))
}

// seconds writes a transfer's duration as status.js does: "12 ms", "3.21s".
func seconds(s float64) string {
	if s < 1 {
		return fmt.Sprintf("%d ms", int64(math.Round(s*1000)))
	}
	return fmt.Sprintf("%.2fs", s)
}

func peerTitle(p PeerHealth, now time.Time) string {
	var parts []string
	if p.TSIGID != "" {
		parts = append(parts, "TSIG "+p.TSIGID)
	}
	if p.IXFREnable {
		parts = append(parts, "IXFR")
	}
	if p.LastOKTime != nil {
		parts = append(parts, "last answered "+ago(p.LastOKTime, now))
	}
	if p.Failures > 0 {
		parts = append(parts, fmt.Sprintf("%d failures in a row, last: %s", p.Failures, p.LastError))
	}
	return strings.Join(parts, "; ")
}
