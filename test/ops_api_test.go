package test

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cfsecondary/cfsecondary/api"
	"github.com/cfsecondary/cfsecondary/internal/fakeprimary"

	"github.com/coredns/caddy"
)

// apiClient is a client of the admin API of a CoreDNS started by a test.
type apiClient struct {
	t     testing.TB
	base  string // http://127.0.0.1:port
	token string
}

// call sends a request with the token (unless auth is false) and decodes the envelope.
func (c apiClient) call(method, path string, auth bool) (int, http.Header, api.Envelope, json.RawMessage) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	if auth && c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var env api.Envelope
	var raw struct {
		Result json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		c.t.Fatalf("%s %s: %d, not JSON: %q", method, path, resp.StatusCode, body)
	}
	json.Unmarshal(body, &raw)
	return resp.StatusCode, resp.Header, env, raw.Result
}

// zone returns GET /zones/{name}, failing the test on an error.
func (c apiClient) zone(name string) api.ZoneStatus {
	c.t.Helper()
	status, _, env, result := c.call("GET", "/zones/"+name, true)
	if status != 200 || !env.Success {
		c.t.Fatalf("GET /zones/%s: %d %+v", name, status, env.Errors)
	}
	var zs api.ZoneStatus
	if err := json.Unmarshal(result, &zs); err != nil {
		c.t.Fatal(err)
	}
	return zs
}

// post sends a POST that must succeed with Cloudflare's "OK".
func (c apiClient) post(path string) {
	c.t.Helper()
	status, _, env, result := c.call("POST", path, true)
	if status != 200 || !env.Success || string(result) != `"OK"` {
		c.t.Fatalf("POST %s: %d %+v %s", path, status, env.Errors, result)
	}
}

// apiStartCoreDNS starts CoreDNS like startCoreDNS and also runs its shutdown callbacks when the test
// ends (startCoreDNS only stops the servers), so the plugin's Stop closes the API listener.
// The returned func swaps in the instance a reload returned (nil: already shut down).
func apiStartCoreDNS(t *testing.T, corefile string) (*caddy.Instance, func(*caddy.Instance)) {
	t.Helper()
	inst := startCoreDNS(t, corefile)
	cur := inst
	t.Cleanup(func() {
		if cur != nil {
			cur.ShutdownCallbacks()
		}
	})
	return inst, func(next *caddy.Instance) { cur = next }
}

// TestOpsAPI runs every endpoint against the custom CoreDNS: three zones from two server blocks
// on one API listener, auth failures, unknown zones, wrong methods, a refresh that brings a new
// serial, a forced transfer of an unchanged zone, a Corefile reload and the final shutdown.
func TestOpsAPI(t *testing.T) {
	const token = "ops-test-token"
	pa := fakeprimary.Start(t, "a.test.", fakeprimary.Zone("a.test.", 1, 10))
	pb := fakeprimary.Start(t, "b.test.", fakeprimary.Zone("b.test.", 5, 20))
	pc := fakeprimary.Start(t, "c.test.", fakeprimary.Zone("c.test.", 7, 30))
	dnsA, dnsC := freePort(t), freePort(t)
	apiAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	corefile := fmt.Sprintf(`a.test:%d b.test:%d {
 bind 127.0.0.1
 cfsecondary a.test {
  peer %s
  dir %s
  api %s %s
 }
 cfsecondary b.test {
  peer %s
  dir %s
  api %s %s
 }
}
c.test:%d {
 bind 127.0.0.1
 cfsecondary {
  peer %s
  dir %s
  api %s %s
 }
}
`, dnsA, dnsA, pa.Addr, t.TempDir(), apiAddr, token, pb.Addr, t.TempDir(), apiAddr, token, dnsC, pc.Addr, t.TempDir(), apiAddr, token)
	inst, swap := apiStartCoreDNS(t, corefile)
	c := apiClient{t: t, base: "http://" + apiAddr, token: token}

	// The list: the zones of both server blocks, on the one listener, once loaded.
	var list []api.ZoneStatus
	waitFor(t, 10*time.Second, "three fresh zones", func() bool {
		status, _, env, result := c.call("GET", "/zones", true)
		if status != 200 || !env.Success || env.ResultInfo == nil {
			t.Fatalf("GET /zones: %d %+v", status, env)
		}
		list = nil
		json.Unmarshal(result, &list)
		return len(list) == 3 && list[0].State == "fresh" && list[1].State == "fresh" && list[2].State == "fresh"
	})
	var names []string
	for _, z := range list {
		names = append(names, z.Name)
	}
	if !slices.Equal(names, []string{"a.test.", "b.test.", "c.test."}) {
		t.Fatalf("zones %v", names)
	}

	// One zone, any spelling.
	a := c.zone("A.Test")
	if a.Name != "a.test." || a.SOASerial != 1 || a.Records != 13 || a.LastTransfer == nil || a.LastTransfer.Type != "axfr" ||
		a.LastTransfer.Peer != pa.Addr || a.LastTransfer.SizeBytes <= 0 || a.ExpiresInSeconds == nil || *a.ExpiresInSeconds <= 0 ||
		a.ModifiedTime == nil || a.NextRefreshTime == nil || !slices.Equal(a.Peers, []string{pa.Addr}) ||
		len(a.PeerHealth) != 1 || a.PeerHealth[0].Status != "up" || a.PeerHealth[0].LastTransferType != "axfr" || a.AutoRefreshSeconds <= 0 {
		t.Errorf("a.test: %+v", a)
	}

	// Cloudflare's object.
	status, _, env, result := c.call("GET", "/zones/b.test./secondary_dns/incoming", true)
	var in map[string]any
	json.Unmarshal(result, &in)
	if status != 200 || !env.Success || len(in) != 6 || in["name"] != "b.test." || in["soa_serial"] != 5.0 {
		t.Errorf("incoming: %d %s", status, result)
	}

	// Errors.
	wantErr := func(method, path string, auth bool, code, apiCode int) http.Header {
		t.Helper()
		status, h, env, _ := c.call(method, path, auth)
		if status != code || env.Success || len(env.Errors) != 1 || env.Errors[0].Code != apiCode {
			t.Errorf("%s %s: %d %+v, want %d with code %d", method, path, status, env.Errors, code, apiCode)
		}
		return h
	}
	for _, p := range []string{"/zones", "/zones/a.test", "/zones/a.test/secondary_dns/incoming"} {
		if h := wantErr("GET", p, false, 401, api.CodeAuth); !strings.HasPrefix(h.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("%s: WWW-Authenticate %q", p, h.Get("WWW-Authenticate"))
		}
	}
	for _, p := range []string{"/zones/a.test/secondary_dns/force_axfr", "/zones/a.test/secondary_dns/refresh"} {
		wantErr("POST", p, false, 401, api.CodeAuth)
		wantErr("GET", p, true, 405, api.CodeMethodNotAllowed)
	}
	bad := apiClient{t: t, base: c.base, token: "wrong"}
	if status, h, _, _ := bad.call("POST", "/zones/a.test/secondary_dns/force_axfr", true); status != 401 || !strings.Contains(h.Get("WWW-Authenticate"), "invalid_token") {
		t.Errorf("wrong token: %d %v", status, h)
	}
	wantErr("GET", "/zones/nope.test", true, 404, api.CodeUnknownZone)
	wantErr("POST", "/zones/nope.test/secondary_dns/force_axfr", true, 404, api.CodeUnknownZone)
	wantErr("POST", "/zones/nope.test/secondary_dns/refresh", true, 404, api.CodeUnknownZone)
	wantErr("GET", "/zones/nope.test/secondary_dns/incoming", true, 404, api.CodeUnknownZone)
	if h := wantErr("DELETE", "/zones/a.test", true, 405, api.CodeMethodNotAllowed); h.Get("Allow") != "GET, HEAD" {
		t.Errorf("Allow %q", h.Get("Allow"))
	}
	time.Sleep(100 * time.Millisecond)
	if n := pa.Transfers(); n != 1 {
		t.Errorf("a.test was transferred %d times by refused requests, want the first transfer only", n)
	}

	// refresh: an SOA check now, which finds serial 2 and transfers it.
	pa.SetRecords(fakeprimary.Zone("a.test.", 2, 11))
	c.post("/zones/a.test/secondary_dns/refresh")
	waitFor(t, 10*time.Second, "a.test at serial 2", func() bool { return c.zone("a.test").SOASerial == 2 })
	if s := serialAt(fmt.Sprintf("127.0.0.1:%d", dnsA), "a.test."); s != 2 {
		t.Errorf("serial %d served after the refresh", s)
	}
	if z := c.zone("a.test"); z.CheckedTime == nil || z.LastTransfer.Serial != 2 {
		t.Errorf("after the refresh: checked_time %v, last transfer %+v", z.CheckedTime, z.LastTransfer)
	}

	// force_axfr: a full transfer of an unchanged zone, which shows in the status.
	before := c.zone("c.test")
	transfers := pc.Transfers()
	c.post("/zones/c.test./secondary_dns/force_axfr")
	waitFor(t, 10*time.Second, "the forced transfer of c.test", func() bool {
		z := c.zone("c.test")
		return z.LastTransfer != nil && z.LastTransfer.Time.After(before.LastTransfer.Time)
	})
	after := c.zone("c.test")
	if pc.Transfers() != transfers+1 || after.TransferAttempts != before.TransferAttempts+1 || after.SOASerial != 7 || after.State != "fresh" ||
		after.ModifiedTime == nil || !after.ModifiedTime.Equal(after.LastTransfer.Time) {
		t.Errorf("after force_axfr: %d transfers (before %d), %+v", pc.Transfers(), transfers, after)
	}

	// A reload: the listener serves the new instances' zones, and acts on them.
	caddyMu.Lock()
	next, err := inst.Restart(caddy.CaddyfileInput{Contents: []byte(corefile + "\n# reloaded\n"), Filepath: "Corefile", ServerTypeName: "dns"})
	caddyMu.Unlock()
	if err != nil {
		t.Fatalf("reload: %v", err)
	}
	swap(next)
	t.Cleanup(func() { stopCoreDNS(next) })
	if z := c.zone("a.test"); z.SOASerial != 2 || z.State != "fresh" {
		t.Errorf("after the reload: %+v", z)
	}
	pb.SetRecords(fakeprimary.Zone("b.test.", 6, 20))
	c.post("/zones/b.test/secondary_dns/force_axfr")
	waitFor(t, 10*time.Second, "b.test at serial 6 after the reload", func() bool { return c.zone("b.test").SOASerial == 6 })

	// Shutdown closes the listener.
	next.ShutdownCallbacks()
	swap(nil)
	if conn, err := net.DialTimeout("tcp", apiAddr, time.Second); err == nil {
		conn.Close()
		t.Error("the API still listens after shutdown")
	}
}

// TestOpsForceLargeZone: force_axfr on a zone of a million records returns at once, the zone is
// served all along, and the transfer then shows in the status.
func TestOpsForceLargeZone(t *testing.T) {
	const origin = "big.test."
	primary := fakeprimary.Start(t, origin, fakeprimary.Zone(origin, 1, 1_000_000))
	port := freePort(t)
	dnsAddr := fmt.Sprintf("127.0.0.1:%d", port)
	apiAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	dir := t.TempDir()
	apiStartCoreDNS(t, fmt.Sprintf("%s:%d {\n bind 127.0.0.1\n cfsecondary {\n  peer %s\n  dir %s\n  api %s\n }\n}\n", origin, port, primary.Addr, dir, apiAddr))
	c := apiClient{t: t, base: "http://" + apiAddr}

	waitFor(t, 5*time.Minute, "the first transfer", func() bool { return c.zone(origin).State == "fresh" })
	before := c.zone(origin)
	transfers := primary.Transfers()
	if before.Records != 1_000_003 || before.LastTransfer == nil {
		t.Fatalf("before: %+v", before)
	}

	// The first transfer is followed by writing the zone to disk and giving memory back (a full
	// GC): let that pass, so the time measured below is the API's alone.
	waitFor(t, time.Minute, "the zone on disk", func() bool {
		_, err := os.Stat(filepath.Join(dir, "big.test.state"))
		return err == nil
	})
	time.Sleep(time.Second)

	start := time.Now()
	c.post("/zones/big.test/secondary_dns/force_axfr")
	took := time.Since(start)
	t.Logf("force_axfr answered in %s", took)
	if took > 500*time.Millisecond {
		t.Errorf("force_axfr took %s: it must return at once, not wait for the transfer", took)
	}
	// The transfer has only begun: the status still shows the first one, and the zone is served.
	if z := c.zone(origin); !z.LastTransfer.Time.Equal(before.LastTransfer.Time) || z.SOASerial != 1 {
		t.Errorf("right after force_axfr: %+v", z.LastTransfer)
	}
	if s := serialAt(dnsAddr, origin); s != 1 {
		t.Errorf("serial %d served during the transfer", s)
	}

	waitFor(t, 5*time.Minute, "the forced transfer in the status", func() bool {
		z := c.zone(origin)
		return z.LastTransfer.Time.After(before.LastTransfer.Time)
	})
	after := c.zone(origin)
	x := after.LastTransfer
	t.Logf("forced transfer: %s of %d records, %d bytes in %.2fs", x.Type, x.Records, x.SizeBytes, x.DurationSeconds)
	if primary.Transfers() != transfers+1 || after.TransferAttempts != before.TransferAttempts+1 || x.Type != "axfr" ||
		x.Records != 1_000_003 || x.Serial != 1 || x.SizeBytes < 20_000_000 || x.DurationSeconds <= 0 || x.Peer != primary.Addr ||
		after.State != "fresh" || after.Records != 1_000_003 {
		t.Errorf("after: %d transfers (before %d), %+v", primary.Transfers(), transfers, after)
	}
}
