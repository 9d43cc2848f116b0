package xfr_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/cfsecondary/cfsecondary/internal/namedconf"
	"github.com/cfsecondary/cfsecondary/xfr"
	"github.com/miekg/dns"
)

const bindSecret = "icZaaOG4phnFi2roPJEXTaeTrc0AEQC13ktQP4qnnEE="

const bindZoneText = `$ORIGIN example.com.
$TTL 3600
@     IN SOA ns1 hostmaster 1 300 60 1209600 600
      IN NS  ns1
ns1   IN A   192.0.2.1
www   IN A   192.0.2.80
mail  IN A   192.0.2.25
`

// startNamed starts BIND 9's named as the primary of example.com on a
// loopback port, with dynamic updates and transfers allowed to key
// xfr-key. (hmac-sha256), so that updates leave a journal to answer IXFR
// from. named must be installed (CI installs bind9): the test fails, it
// does not skip, without it.
func startNamed(t *testing.T) (string, *xfr.Key) {
	t.Helper()
	named := "/usr/sbin/named"
	if _, err := os.Stat(named); err != nil {
		if named, err = exec.LookPath("named"); err != nil {
			t.Fatal("BIND 9's named is not installed: apt-get install -y bind9")
		}
	}
	port := freePort(t)
	dir := t.TempDir()
	zoneFile := filepath.Join(dir, "example.com.zone")
	if err := os.WriteFile(zoneFile, []byte(bindZoneText), 0o644); err != nil {
		t.Fatal(err)
	}
	conf := namedconf.Header(dir, port, "notify no;") + fmt.Sprintf(`key "xfr-key." { algorithm hmac-sha256; secret %q; };
zone "example.com" {
	type primary;
	file %q;
	allow-update { key "xfr-key."; };
	allow-transfer { key "xfr-key."; };
	max-ixfr-ratio unlimited; // else BIND answers a small zone AXFR-style
};
`, bindSecret, zoneFile)
	confPath := filepath.Join(dir, "named.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(dir, "named.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(named, "-g", "-c", confPath)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting named: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		logf.Close()
		if t.Failed() {
			log, _ := os.ReadFile(logf.Name())
			t.Logf("named log:\n%s", log)
		}
	})
	secret, _ := decodeSecret(bindSecret)
	k := &xfr.Key{Name: "xfr-key.", Algorithm: dns.HmacSHA256, Secret: secret}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, err := xfr.QuerySOA(context.Background(), xfr.Peer{Addr: addr, Key: k}, zone, xfr.Options{DialTimeout: 200 * time.Millisecond})
		if err == nil {
			return addr, k
		}
		if time.Now().After(deadline) {
			t.Fatalf("named does not answer: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// freePort returns a loopback port free for both TCP and UDP, as named
// listens on both.
func freePort(t *testing.T) int {
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		pc, err := net.ListenPacket("udp", l.Addr().String())
		l.Close()
		if err == nil {
			pc.Close()
			return l.Addr().(*net.TCPAddr).Port
		}
	}
	t.Fatal("no port free for both TCP and UDP")
	return 0
}

func decodeSecret(s string) ([]byte, error) { return base64.StdEncoding.DecodeString(s) }

// update sends a signed dynamic update (RFC 2136) to named; named bumps
// the serial by one for each.
func update(t *testing.T, addr string, k *xfr.Key, del, add []string) {
	t.Helper()
	m := new(dns.Msg)
	m.SetUpdate(zone)
	rrs := func(ss []string) []dns.RR {
		var out []dns.RR
		for _, s := range ss {
			rr, err := dns.NewRR(s)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, rr)
		}
		return out
	}
	if len(del) > 0 {
		m.Remove(rrs(del))
	}
	m.Insert(rrs(add))
	m.SetTsig(k.Name, k.Algorithm, 300, time.Now().Unix())
	c := &dns.Client{Net: "tcp", TsigSecret: map[string]string{k.Name: bindSecret}}
	r, _, err := c.Exchange(m, addr)
	if err != nil || r.Rcode != dns.RcodeSuccess {
		t.Fatalf("update: %v, %v", r, err)
	}
}

// TestIXFRFromBind checks IXFR, AXFR and EXPIRE against a real BIND 9
// primary: three dynamic updates give three deltas whose application to
// the first version equals an AXFR of the last.
func TestIXFRFromBind(t *testing.T) {
	addr, k := startNamed(t)
	peer := xfr.Peer{Addr: addr, Key: k}
	ctx := context.Background()

	var first sink
	res, err := xfr.AXFR(ctx, peer, zone, quick, &first)
	if err != nil || res.Serial != 1 {
		t.Fatalf("AXFR: %+v, %v", res, err)
	}
	v1 := first.rrs

	update(t, addr, k, nil, []string{"new.example.com. 300 IN A 192.0.2.99"})
	update(t, addr, k, []string{"www.example.com. 3600 IN A 192.0.2.80"}, []string{"www.example.com. 3600 IN A 192.0.2.81"})
	update(t, addr, k, []string{"mail.example.com. 3600 IN A 192.0.2.25"}, []string{"txt.example.com. 60 IN TXT \"from an update\""})

	var last sink
	res, err = xfr.AXFR(ctx, peer, zone, quick, &last)
	if err != nil || res.Serial != 4 {
		t.Fatalf("AXFR after the updates: %+v, %v", res, err)
	}
	// BIND 9.18 puts EXPIRE in transfers only from a secondary; a newer one
	// might from a primary too, where it is the SOA EXPIRE.
	if res.Expire != -1 && res.Expire != 1209600 {
		t.Errorf("AXFR expire %d", res.Expire)
	}

	ires, err := xfr.IXFR(ctx, peer, zone, v1[0].(*dns.SOA), quick, &sink{})
	if err != nil {
		t.Fatal(err)
	}
	if ires.Serial != 4 || ires.UpToDate || ires.Full || len(ires.Deltas) != 3 || ires.Expire != res.Expire {
		t.Fatalf("IXFR from 1: %+v", ires)
	}
	m := newModel(v1)
	m.apply(t, ires.Deltas)
	if !m.equal(newModel(last.rrs)) {
		t.Fatalf("deltas from BIND do not give its AXFR:\n%v\n%v", m, newModel(last.rrs))
	}

	// From 3: one delta. From 4: up to date. From an unknown serial, BIND
	// answers AXFR-style.
	ires, err = xfr.IXFR(ctx, peer, zone, fakeSOA(3), quick, &sink{})
	if err != nil || len(ires.Deltas) != 1 || ires.Deltas[0].From.Serial != 3 {
		t.Fatalf("IXFR from 3: %+v, %v", ires, err)
	}
	ires, err = xfr.IXFR(ctx, peer, zone, fakeSOA(4), quick, &sink{})
	if err != nil || !ires.UpToDate {
		t.Fatalf("IXFR from 4: %+v, %v", ires, err)
	}
	var full sink
	ires, err = xfr.IXFR(ctx, peer, zone, fakeSOA(4294967000), quick, &full)
	if err != nil || !ires.Full || len(full.rrs) != len(last.rrs) {
		t.Fatalf("IXFR from an unknown serial: %+v, %v", ires, err)
	}

	// On a primary, EXPIRE is the SOA EXPIRE (RFC 7314 §3).
	ans, err := xfr.QuerySOA(ctx, peer, zone, quick)
	if err != nil || ans.SOA.Serial != 4 || ans.Expire != 1209600 {
		t.Fatalf("SOA query: %+v, %v", ans, err)
	}
	opt := quick
	opt.NoEDNS = true
	if ans, err = xfr.QuerySOA(ctx, peer, zone, opt); err != nil || ans.Expire != -1 {
		t.Fatalf("SOA query without EDNS: %+v, %v", ans, err)
	}
}

func fakeSOA(serial uint32) *dns.SOA {
	rr, _ := dns.NewRR(fmt.Sprintf("example.com. 3600 IN SOA ns1.example.com. hostmaster.example.com. %d 300 60 1209600 600", serial))
	return rr.(*dns.SOA)
}
