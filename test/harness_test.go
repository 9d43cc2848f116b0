// Package test holds the end-to-end tests: the custom CoreDNS (the plugins of package build, in
// process) against real primaries (BIND 9's named, started on loopback) and fake ones.
package test

import (
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/cfsecondary/cfsecondary/build"
	"github.com/cfsecondary/cfsecondary/internal/namedconf"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"

	"github.com/miekg/dns"
)

// freePort finds a port free for both UDP and TCP on 127.0.0.1. A server started right after
// takes it; the window in which another process could is small enough for tests.
func freePort(t testing.TB) int {
	t.Helper()
	for range 50 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
		l.Close()
		if err == nil {
			u.Close()
			return port
		}
	}
	t.Fatal("no free port on 127.0.0.1")
	return 0
}

var caddyMu sync.Mutex // caddy.Start touches package state

// startCoreDNS starts the custom CoreDNS in this process with the given Corefile and stops it
// when the test ends.
func startCoreDNS(t testing.TB, corefile string) *caddy.Instance {
	t.Helper()
	caddyMu.Lock()
	caddy.Quiet = true
	dnsserver.Quiet = true
	inst, err := caddy.Start(caddy.CaddyfileInput{Contents: []byte(corefile), Filepath: "Corefile", ServerTypeName: "dns"})
	caddyMu.Unlock()
	if err != nil {
		t.Fatalf("starting CoreDNS: %v\n%s", err, corefile)
	}
	t.Cleanup(func() { stopCoreDNS(inst) })
	return inst
}

// stopCoreDNS stops an instance the way CoreDNS does on SIGTERM: the plugins' shutdown
// callbacks (which stop cfsecondary's engine and its writes to disk) and then the servers.
// caddy's Instance.Stop alone only closes the listeners. Stopping twice is harmless.
func stopCoreDNS(inst *caddy.Instance) {
	inst.ShutdownCallbacks()
	inst.Stop()
}

// exchange sends one query over UDP (or TCP) and returns the reply.
func exchange(t testing.TB, addr, name string, qtype uint16, tcp bool) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	m.SetEdns0(4096, false)
	c := &dns.Client{Timeout: 2 * time.Second}
	if tcp {
		c.Net = "tcp"
	}
	r, _, err := c.Exchange(m, addr)
	if err != nil {
		t.Fatalf("query %s %s to %s: %v", name, dns.TypeToString[qtype], addr, err)
	}
	return r
}

// waitFor polls until cond holds or the timeout passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s", timeout, what)
}

// serialAt returns the SOA serial served at addr, or 0 when the zone is not answered
// authoritatively (not loaded yet).
func serialAt(addr, zone string) uint32 {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(zone), dns.TypeSOA)
	r, _, err := (&dns.Client{Timeout: time.Second}).Exchange(m, addr)
	if err != nil || r.Rcode != dns.RcodeSuccess || !r.Authoritative || len(r.Answer) == 0 {
		return 0
	}
	if soa, ok := r.Answer[0].(*dns.SOA); ok {
		return soa.Serial
	}
	return 0
}

// Bind is a BIND 9 named started by a test as a primary on a loopback port.
type Bind struct {
	Addr  string // 127.0.0.1:port
	Dir   string
	named string
	conf  string
	zones []string
	cmd   *exec.Cmd
	log   *os.File
}

// BindZone is a zone a Bind serves as primary.
type BindZone struct {
	Name   string
	Text   string // RFC 1035 master file
	Extra  string // added inside the zone statement, e.g. allow-update or notify options
	Signed bool
}

// namedPath finds named, failing (never skipping) when it is missing: CI installs bind9, and a
// developer's `make test` must say what to install rather than pass without the real primary.
func namedPath(t testing.TB) string {
	t.Helper()
	for _, p := range []string{"/usr/sbin/named", "/usr/local/sbin/named"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("named"); err == nil {
		return p
	}
	t.Fatal("BIND 9's named is not installed: apt-get install -y bind9 bind9-utils dnsutils")
	return ""
}

// startBind writes a named.conf for the zones and keys (name → "algorithm secret") and starts
// named in the foreground; it is killed when the test ends.
func startBind(t testing.TB, keys map[string]string, options string, zones ...BindZone) *Bind {
	t.Helper()
	named := namedPath(t)
	dir := t.TempDir()
	port := freePort(t)
	b := &Bind{Addr: fmt.Sprintf("127.0.0.1:%d", port), Dir: dir}

	var conf strings.Builder
	conf.WriteString(namedconf.Header(dir, port, "notify-delay 0;\n\t"+options))
	conf.WriteString("logging { channel all { stderr; severity info; print-time yes; print-category yes; }; category default { all; }; category xfer-out { all; }; category notify { all; }; };\n")
	for name, spec := range keys {
		alg, secret, _ := strings.Cut(spec, " ")
		fmt.Fprintf(&conf, "key %q { algorithm %s; secret %q; };\n", name, alg, secret)
	}
	for _, z := range zones {
		file := filepath.Join(dir, z.Name+".zone")
		if err := os.WriteFile(file, []byte(z.Text), 0o644); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&conf, "zone %q { type primary; file %q; %s };\n", z.Name, file, z.Extra)
	}
	confPath := filepath.Join(dir, "named.conf")
	if err := os.WriteFile(confPath, []byte(conf.String()), 0o644); err != nil {
		t.Fatal(err)
	}

	b.named, b.conf = named, confPath
	for _, z := range zones {
		b.zones = append(b.zones, z.Name)
	}
	t.Cleanup(b.Stop)
	b.Start(t)
	return b
}

// Start starts named (again, after Stop) and waits until it serves its zones.
func (b *Bind) Start(t testing.TB) {
	t.Helper()
	logf, err := os.OpenFile(filepath.Join(b.Dir, "named.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	b.log = logf
	b.cmd = exec.Command(b.named, "-g", "-c", b.conf)
	b.cmd.Stdout, b.cmd.Stderr = logf, logf
	if err := b.cmd.Start(); err != nil {
		t.Fatalf("starting named: %v", err)
	}
	for _, z := range b.zones {
		waitFor(t, 15*time.Second, "named to serve "+z, func() bool { return serialAt(b.Addr, z) != 0 })
	}
}

// Stop kills named and waits for it to exit.
func (b *Bind) Stop() {
	if b.cmd == nil || b.cmd.Process == nil {
		return
	}
	b.cmd.Process.Kill()
	b.cmd.Wait()
	b.cmd = nil
	b.log.Close()
}

// Update sends a dynamic update (RFC 2136) to named with nsupdate, signed with the key (name →
// "algorithm secret"); commands are nsupdate's, e.g. "update add x.example.org. 300 A 192.0.2.1".
func (b *Bind) Update(t testing.TB, keyName, keySpec, zone string, commands ...string) {
	t.Helper()
	alg, secret, _ := strings.Cut(keySpec, " ")
	host, port, _ := net.SplitHostPort(b.Addr)
	script := fmt.Sprintf("server %s %s\nzone %s\n%s\nsend\n", host, port, zone, strings.Join(commands, "\n"))
	cmd := exec.Command("nsupdate", "-y", alg+":"+keyName+":"+secret)
	cmd.Stdin = strings.NewReader(script)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("nsupdate: %v\n%s\n%s", err, out, script)
	}
}

// Log returns what named has logged so far.
func (b *Bind) Log() string {
	data, _ := os.ReadFile(filepath.Join(b.Dir, "named.log"))
	return string(data)
}

func encodeSecret(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
