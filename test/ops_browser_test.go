package test

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cfsecondary/cfsecondary/internal/fakeprimary"

	"github.com/chromedp/chromedp"
)

// apiChromium finds Debian's chromium, failing (never skipping) when it is missing, as
// namedPath does for BIND: CI installs it.
func apiChromium(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("chromium is not installed: apt-get install -y chromium")
	return ""
}

// apiOutput collects the browser's output for the failure message.
type apiOutput struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *apiOutput) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *apiOutput) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// apiHeadless starts headless Chromium with a fresh profile; it is closed when the test ends.
func apiHeadless(t *testing.T) context.Context {
	t.Helper()
	out := &apiOutput{}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(apiChromium(t)),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true), // /dev/shm is small in containers
		chromedp.UserDataDir(t.TempDir()),
		chromedp.CombinedOutput(out),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() {
		cancelTimeout()
		cancel()
		cancelAlloc() // waits for the browser to exit, before its profile directory is removed
		if t.Failed() {
			t.Logf("chromium's output:\n%s", out.String())
		}
	})
	if err := chromedp.Do(ctx); err != nil { // start the browser now
		t.Fatalf("starting chromium: %v", err)
	}
	return ctx
}

// apiPageRow is a row of the status page's table as the browser shows it.
type apiPageRow struct {
	Zone     string `json:"zone"`
	Serial   string `json:"serial"`
	State    string `json:"state"`
	Error    string `json:"error"`
	Records  string `json:"records"`
	Checked  string `json:"checked"`
	Expires  string `json:"expires"`
	Peers    string `json:"peers"`
	Transfer string `json:"transfer"`
	XfrTime  string `json:"xfrTime"`
	Result   string `json:"result"`
	Button   string `json:"button"`
}

const apiReadRows = `Array.from(document.querySelectorAll('#zones tbody tr[data-zone]')).map(tr => {
	const td = cls => tr.querySelector('td.' + cls);
	return {
		zone: tr.dataset.zone,
		serial: td('serial').textContent,
		state: td('state').querySelector('.badge').textContent,
		error: td('state').querySelector('.error').textContent,
		records: td('records').textContent,
		checked: td('checked').textContent,
		expires: td('expires').textContent,
		peers: td('peers').textContent,
		transfer: td('transfer').textContent,
		xfrTime: td('transfer').dataset.time,
		result: tr.querySelector('.result').textContent,
		button: tr.querySelector('button.force').textContent,
	};
})`

// apiRows reads the table.
func apiRows(t *testing.T, ctx context.Context) map[string]apiPageRow {
	t.Helper()
	list, err := chromedp.Run(ctx, chromedp.Evaluate[[]apiPageRow](apiReadRows))
	if err != nil {
		t.Fatalf("reading the rows: %v", err)
	}
	out := map[string]apiPageRow{}
	for _, r := range list {
		out[r.Zone] = r
	}
	return out
}

// TestOpsStatusPageBrowser loads the status page in headless Chromium: it signs in with the
// token, reads the zone rows, clicks a zone's "Force transfer" button after the primary moved
// to a new serial, and sees the row's serial and last-transfer time change.
func TestOpsStatusPageBrowser(t *testing.T) {
	const token = "browser-test-token"
	pa := fakeprimary.Start(t, "a.test.", fakeprimary.Zone("a.test.", 1, 10))
	pb := fakeprimary.Start(t, "b.test.", fakeprimary.Zone("b.test.", 40, 5))
	dead := freePort(t) // nothing answers there
	port := freePort(t)
	apiAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	apiStartCoreDNS(t, fmt.Sprintf(`a.test:%[1]d b.test:%[1]d dead.test:%[1]d {
 bind 127.0.0.1
 cfsecondary a.test {
  peer %[2]s
  dir %[5]s
  api %[6]s %[7]s
 }
 cfsecondary b.test {
  peer %[3]s
  dir %[5]s
  api %[6]s %[7]s
 }
 cfsecondary dead.test {
  peer 127.0.0.1:%[4]d
  dir %[5]s
  api %[6]s %[7]s
 }
}
`, port, pa.Addr, pb.Addr, dead, t.TempDir(), apiAddr, token))
	base := "http://" + apiAddr + "/"

	ctx := apiHeadless(t)

	// Without the token the page is the sign-in form; signing in shows the table.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base),
		chromedp.WaitVisible(chromedp.CSS(`form.signin`)),
		chromedp.SendKeys(chromedp.CSS(`input[name="token"]`), token),
		chromedp.Click(chromedp.CSS(`form.signin button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID(`zones`)),
	); err != nil {
		t.Fatalf("signing in: %v", err)
	}
	title, err := chromedp.Run(ctx, chromedp.Title())
	if err != nil {
		t.Fatal(err)
	}
	if title != "cfsecondary: zones" {
		t.Errorf("title %q", title)
	}

	// The rows, once the zones are loaded and the page has updated itself.
	var got map[string]apiPageRow
	waitFor(t, 30*time.Second, "the rows of the three zones", func() bool {
		got = apiRows(t, ctx)
		return len(got) == 3 && got["a.test."].Serial == "1" && got["b.test."].Serial == "40" &&
			strings.Contains(got["dead.test."].Peers, "down")
	})
	a, b, d := got["a.test."], got["b.test."], got["dead.test."]
	t.Logf("rows: %+v", got)
	if a.State != "fresh" || a.Records != "13" || !strings.Contains(a.Peers, pa.Addr+" up") || a.XfrTime == "" ||
		!strings.HasPrefix(a.Transfer, "AXFR, ") || !strings.Contains(a.Expires, "d ") || a.Button != "Force transfer" {
		t.Errorf("a.test: %+v", a)
	}
	if b.State != "fresh" || b.Records != "8" {
		t.Errorf("b.test: %+v", b)
	}
	if d.State != "loading" || d.Serial != "—" || !strings.Contains(d.Error, "connection refused") || d.Expires != "—" || d.Transfer != "none yet" || d.XfrTime != "" {
		t.Errorf("dead.test: %+v", d)
	}
	summary, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID(`summary`)))
	if err != nil {
		t.Fatal(err)
	}
	if summary != "3 zones: 2 fresh, 1 loading" {
		t.Errorf("summary %q", summary)
	}
	if hidden, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById('banner').hidden`)); err != nil || !hidden {
		t.Errorf("the page shows an error: %v", err)
	}

	// The primary moves to serial 2; no refresh is due for an hour, so only the button brings it.
	pa.SetRecords(fakeprimary.Zone("a.test.", 2, 12))
	transfers := pa.Transfers()
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`tr[data-zone="a.test."] button.force`))); err != nil {
		t.Fatalf("clicking Force transfer: %v", err)
	}
	waitFor(t, 30*time.Second, "the new serial and transfer time in the row", func() bool {
		r := apiRows(t, ctx)["a.test."]
		return r.Serial == "2" && r.XfrTime != a.XfrTime && r.Result == "transferred"
	})
	after := apiRows(t, ctx)
	if r := after["a.test."]; r.Records != "15" || r.State != "fresh" {
		t.Errorf("a.test after the forced transfer: %+v", r)
	}
	if n := pa.Transfers() - transfers; n != 1 {
		t.Errorf("%d transfers from a.test's primary after one click", n)
	}
	if r := after["b.test."]; r.Serial != "40" || r.XfrTime != b.XfrTime {
		t.Errorf("b.test changed: %+v", r)
	}
	if s := serialAt(fmt.Sprintf("127.0.0.1:%d", port), "a.test."); s != 2 {
		t.Errorf("serial %d served after the forced transfer", s)
	}
}
