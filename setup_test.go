package cfsecondary

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cfsecondary/cfsecondary/engine"
	"github.com/cfsecondary/cfsecondary/zone"

	"github.com/coredns/caddy"

	"github.com/miekg/dns"
)

const secret256 = "icZaaOG4phnFi2roPJEXTaeTrc0AEQC13ktQP4qnnEE="

func TestParse(t *testing.T) {
	keyFile := filepath.Join(t.TempDir(), "xfr.key")
	os.WriteFile(keyFile, []byte("key \"file-key.\" {\n\talgorithm hmac-sha512;\n\tsecret \""+secret256+"\";\n};\n"), 0o600)
	badKeyFile := filepath.Join(t.TempDir(), "bad.key")
	os.WriteFile(badKeyFile, []byte("key \"file-key.\" {\n\talgorithm hmac-sha999;\n\tsecret \"x\";\n};\n"), 0o600)

	tests := []struct {
		name    string
		keys    []string // server block keys
		input   string
		wantErr string // substring; "" means the input is valid
		check   func(t *testing.T, cfgs []Config)
	}{
		{
			name: "minimal",
			keys: []string{"example.org."},
			input: `cfsecondary {
				peer 192.0.2.1
			}`,
			check: func(t *testing.T, cfgs []Config) {
				cfg := cfgs[0]
				if len(cfg.Zones) != 1 || cfg.Zones[0] != "example.org." {
					t.Errorf("zones = %v", cfg.Zones)
				}
				if len(cfg.Peers) != 1 || cfg.Peers[0] != (engine.Peer{Addr: "192.0.2.1:53"}) {
					t.Errorf("peers = %+v", cfg.Peers)
				}
				if cfg.Refresh != 0 {
					t.Errorf("refresh = %v, want 0 (SOA REFRESH)", cfg.Refresh)
				}
				if cfg.Limits != zone.DefaultLimits() {
					t.Errorf("limits = %+v, want defaults", cfg.Limits)
				}
			},
		},
		{
			name: "the issue's sketch, with keys defined after the peers that use them",
			keys: []string{"example.com.", "example.net."},
			input: `cfsecondary {
				peer 192.0.2.1:5353 { tsig xfr-key. ; ixfr }
				peer 192.0.2.2
				peer [2001:db8::1]:53 tsig file-key. ixfr
				peer 2001:db8::2 {
					tsig XFR-KEY
					ixfr
				}
				tsig xfr-key. hmac-sha256 ` + secret256 + `
				tsig-file ` + keyFile + `
				refresh 300
				fallthrough
			}`,
			check: func(t *testing.T, cfgs []Config) {
				cfg := cfgs[0]
				if strings.Join(cfg.Zones, " ") != "example.com. example.net." {
					t.Errorf("zones = %v", cfg.Zones)
				}
				want := []struct {
					addr, key, alg string
					ixfr           bool
				}{
					{"192.0.2.1:5353", "xfr-key.", dns.HmacSHA256, true},
					{"192.0.2.2:53", "", "", false},
					{"[2001:db8::1]:53", "file-key.", dns.HmacSHA512, true},
					{"[2001:db8::2]:53", "xfr-key.", dns.HmacSHA256, true},
				}
				if len(cfg.Peers) != len(want) {
					t.Fatalf("peers = %+v", cfg.Peers)
				}
				for i, w := range want {
					p := cfg.Peers[i]
					if p.Addr != w.addr || p.IXFR != w.ixfr {
						t.Errorf("peer %d = %+v, want %+v", i, p, w)
					}
					switch {
					case w.key == "" && p.Key != nil:
						t.Errorf("peer %d has key %s, want none", i, p.Key.Name)
					case w.key != "" && (p.Key == nil || p.Key.Name != w.key || p.Key.Algorithm != w.alg || len(p.Key.Secret) != 32):
						t.Errorf("peer %d key = %+v, want %s %s", i, p.Key, w.key, w.alg)
					}
				}
				if cfg.Refresh != 300*time.Second {
					t.Errorf("refresh = %v", cfg.Refresh)
				}
				if !cfg.Fall.Through("a.example.com.") {
					t.Error("fallthrough not set")
				}
			},
		},
		{
			name: "zones as arguments, limits and timeouts",
			keys: []string{"."},
			input: `cfsecondary Example.ORG 10.in-addr.arpa {
				peer 127.0.0.1:1054
				refresh 5m
				max-records 1000000
				max-records-per-type 200
				max-types-per-name 50
				max-zone-size 64m
				transfer-timeout 10s 1h
				fallthrough sub.example.org
			}`,
			check: func(t *testing.T, cfgs []Config) {
				cfg := cfgs[0]
				if strings.Join(cfg.Zones, " ") != "example.org. 10.in-addr.arpa." {
					t.Errorf("zones = %v", cfg.Zones)
				}
				if cfg.Refresh != 5*time.Minute {
					t.Errorf("refresh = %v", cfg.Refresh)
				}
				want := zone.Limits{Records: 1000000, RecordsPerType: 200, TypesPerName: 50, Bytes: 64 << 20}
				if cfg.Limits != want {
					t.Errorf("limits = %+v, want %+v", cfg.Limits, want)
				}
				if cfg.Xfr.IdleTimeout != 10*time.Second || cfg.Xfr.MaxDuration != time.Hour {
					t.Errorf("xfr options = %+v", cfg.Xfr)
				}
				if cfg.Fall.Through("a.example.org.") || !cfg.Fall.Through("a.sub.example.org.") {
					t.Error("fallthrough zones wrong")
				}
			},
		},
		{
			name: "engine options",
			keys: []string{"example.org."},
			input: `cfsecondary {
				peer 192.0.2.1
				dir /var/lib/coredns/secondary
				min-refresh-time 10s
				max-refresh-time 1h
				min-retry-time 5
				max-retry-time 30m
				min-expire-time 1h
				max-expire-time 2h
				notify-from 203.0.113.0/24 2001:db8::/64 198.51.100.7
				notify-require-tsig
				notify-refused drop
				notify-rate 20
				transfers-in 4
				webhook https://hooks.example.net/dns s3cret
				api 0.0.0.0:8053 t0ken
			}`,
			check: func(t *testing.T, cfgs []Config) {
				cfg := cfgs[0]
				if cfg.Dir != "/var/lib/coredns/secondary" {
					t.Errorf("dir = %q", cfg.Dir)
				}
				want := engine.Timers{MinRefresh: 10 * time.Second, MaxRefresh: time.Hour, MinRetry: 5 * time.Second, MaxRetry: 30 * time.Minute, MinExpire: time.Hour, MaxExpire: 2 * time.Hour}
				if cfg.Timers != want {
					t.Errorf("timers = %+v, want %+v", cfg.Timers, want)
				}
				n := cfg.Notify
				if len(n.From) != 3 || n.From[0].String() != "203.0.113.0/24" || n.From[1].String() != "2001:db8::/64" || n.From[2].String() != "198.51.100.7/32" {
					t.Errorf("notify-from = %v", n.From)
				}
				if !n.RequireTSIG || !n.Drop || n.Rate != 20 || cfg.Workers != 4 {
					t.Errorf("notify = %+v, workers %d", n, cfg.Workers)
				}
				if cfg.Alerts != (AlertConfig{Webhook: "https://hooks.example.net/dns", Secret: "s3cret"}) || cfg.API != (APIConfig{Addr: "0.0.0.0:8053", Token: "t0ken"}) {
					t.Errorf("alerts %+v, api %+v", cfg.Alerts, cfg.API)
				}
			},
		},
		{
			name:  "defaults",
			keys:  []string{"example.org."},
			input: "cfsecondary {\n peer 192.0.2.1\n}",
			check: func(t *testing.T, cfgs []Config) {
				cfg := cfgs[0]
				if cfg.Timers != engine.DefaultTimers() || cfg.Dir != "" || cfg.Notify.Drop || cfg.Notify.RequireTSIG || len(cfg.Notify.From) != 0 {
					t.Errorf("config = %+v", cfg)
				}
			},
		},
		{
			name:  "online signing",
			keys:  []string{"example.org."},
			input: "cfsecondary {\n peer 192.0.2.1\n dnssec sign ed25519 nsec3 keys /etc/coredns/keys\n}",
			check: func(t *testing.T, cfgs []Config) {
				d := cfgs[0].DNSSEC
				if d.Mode != "sign" || strings.Join(d.Args, " ") != "ed25519 nsec3 keys /etc/coredns/keys" {
					t.Errorf("dnssec = %+v", d)
				}
			},
		},
		{
			name:  "two blocks",
			keys:  []string{"."},
			input: "cfsecondary a.example { \n peer 192.0.2.1 \n }\ncfsecondary b.example {\n peer 192.0.2.2 \n}",
			check: func(t *testing.T, cfgs []Config) {
				if len(cfgs) != 2 || cfgs[0].Zones[0] != "a.example." || cfgs[1].Peers[0].Addr != "192.0.2.2:53" {
					t.Errorf("configs = %+v", cfgs)
				}
			},
		},

		// Every malformed directive fails with the file, the line and what is wrong.
		{name: "no peer", keys: []string{"example.org."}, input: "cfsecondary {\n refresh 300\n}", wantErr: "Testfile:3 - Error during parsing: at least one peer is required"},
		{name: "no block", keys: []string{"example.org."}, input: "cfsecondary", wantErr: "at least one peer is required"},
		{name: "no zones", input: "cfsecondary {\n peer 192.0.2.1\n}", wantErr: "Testfile:1 - Error during parsing: no zones"},
		{name: "bad zone name", keys: []string{"."}, input: "cfsecondary exa..mple {\n peer 192.0.2.1\n}", wantErr: "Testfile:1 - Error during parsing: bad zone name"},
		{name: "duplicate zone in a block", keys: []string{"."}, input: "cfsecondary example.org EXAMPLE.org. {\n peer 192.0.2.1\n}", wantErr: "Testfile:1 - Error during parsing: zone example.org. is listed twice"},
		{name: "duplicate zone across blocks", keys: []string{"."}, input: "cfsecondary example.org {\n peer 192.0.2.1\n}\ncfsecondary example.org {\n peer 192.0.2.2\n}", wantErr: "zone example.org. is configured twice"},
		{name: "unknown property", keys: []string{"example.org."}, input: "cfsecondary {\n peer 192.0.2.1\n refrsh 300\n}", wantErr: `Testfile:3 - Error during parsing: unknown property "refrsh"`},
		{name: "peer without address", keys: []string{"example.org."}, input: "cfsecondary {\n peer\n}", wantErr: "Testfile:2 - Error during parsing: peer wants an ADDRESS"},
		{name: "bad address", keys: []string{"example.org."}, input: "cfsecondary {\n peer primary.example.net\n}", wantErr: `Testfile:2 - Error during parsing: bad peer address "primary.example.net"`},
		{name: "bad address with port", keys: []string{"example.org."}, input: "cfsecondary {\n peer 192.0.2.300:53\n}", wantErr: `Testfile:2 - Error during parsing: bad peer address "192.0.2.300:53": "192.0.2.300" is not an IP address`},
		{name: "port out of range", keys: []string{"example.org."}, input: "cfsecondary {\n peer 192.0.2.1:65536\n}", wantErr: `Testfile:2 - Error during parsing: bad peer address "192.0.2.1:65536": port "65536" out of range 1-65535`},
		{name: "port zero", keys: []string{"example.org."}, input: "cfsecondary {\n peer 192.0.2.1:0\n}", wantErr: `port "0" out of range`},
		{name: "duplicate peer", keys: []string{"example.org."}, input: "cfsecondary {\n peer 192.0.2.1\n peer 192.0.2.1:53\n}", wantErr: "Testfile:3 - Error during parsing: peer 192.0.2.1:53 is listed twice"},
		{name: "unknown peer option", keys: []string{"example.org."}, input: "cfsecondary {\n peer 192.0.2.1 {\n  compress\n }\n}", wantErr: `unknown peer option "compress"`},
		{name: "unclosed peer block", keys: []string{"example.org."}, input: "cfsecondary {\n peer 192.0.2.1 {\n  ixfr\n", wantErr: "peer block is not closed"},
		{name: "peer tsig without key", keys: []string{"example.org."}, input: "cfsecondary {\n peer 192.0.2.1 tsig\n}", wantErr: "Testfile:2 - Error during parsing: peer option tsig wants a KEY name"},
		{name: "unknown key name", keys: []string{"example.org."}, input: "cfsecondary {\n peer 192.0.2.1\n peer 192.0.2.2 {\n  tsig nokey.\n }\n tsig xfr-key. hmac-sha256 " + secret256 + "\n}", wantErr: "Testfile:4 - Error during parsing: peer 192.0.2.2:53 uses unknown tsig key nokey."},
		{name: "tsig wrong arity", keys: []string{"example.org."}, input: "cfsecondary {\n peer 192.0.2.1\n tsig xfr-key. hmac-sha256\n}", wantErr: "Testfile:3 - Error during parsing: tsig wants NAME ALGORITHM SECRET, got 2 arguments"},
		{name: "unknown algorithm", keys: []string{"example.org."}, input: "cfsecondary {\n peer 192.0.2.1\n tsig xfr-key. hmac-sha3 " + secret256 + "\n}", wantErr: "Testfile:3 - Error during parsing:"},
		{name: "bad base64", keys: []string{"example.org."}, input: "cfsecondary {\n peer 192.0.2.1\n tsig xfr-key. hmac-sha256 not*base64\n}", wantErr: "Testfile:3 - Error during parsing: tsig key xfr-key.: secret is not valid base64"},
		{name: "bad key name", keys: []string{"example.org."}, input: "cfsecondary {\n peer 192.0.2.1\n tsig bad..name hmac-sha256 " + secret256 + "\n}", wantErr: `Testfile:3 - Error during parsing: bad tsig key name "bad..name"`},
		{name: "key defined twice", keys: []string{"example.org."}, input: "cfsecondary {\n peer 192.0.2.1\n tsig k. hmac-sha256 " + secret256 + "\n tsig K hmac-sha512 " + secret256 + "\n}", wantErr: "Testfile:4 - Error during parsing: tsig key k. is defined twice"},
		{name: "key file missing", keys: []string{"example.org."}, input: "cfsecondary {\n peer 192.0.2.1\n tsig-file /nonexistent/xfr.key\n}", wantErr: "Testfile:3 - Error during parsing: tsig-file: open /nonexistent/xfr.key"},
		{name: "key file with a bad algorithm", keys: []string{"example.org."}, input: "cfsecondary {\n peer 192.0.2.1\n tsig-file " + badKeyFile + "\n}", wantErr: "Testfile:3 - Error during parsing: tsig-file: " + badKeyFile + ":2"},
		{name: "key in file and Corefile", keys: []string{"example.org."}, input: "cfsecondary {\n peer 192.0.2.1\n tsig file-key. hmac-sha256 " + secret256 + "\n tsig-file " + keyFile + "\n}", wantErr: "Testfile:4 - Error during parsing: tsig key file-key. is defined twice"},
		{name: "refresh without value", keys: []string{"example.org."}, input: "cfsecondary {\n peer 192.0.2.1\n refresh\n}", wantErr: "Testfile:3 - Error during parsing: Wrong argument count"},
		{name: "bad refresh", keys: []string{"example.org."}, input: "cfsecondary {\n peer 192.0.2.1\n refresh soon\n}", wantErr: `Testfile:3 - Error during parsing: refresh: bad duration "soon"`},
		{name: "negative refresh", keys: []string{"example.org."}, input: "cfsecondary {\n peer 192.0.2.1\n refresh -5m\n}", wantErr: `refresh: bad duration "-5m": must be positive`},
		{name: "refresh extra argument", keys: []string{"example.org."}, input: "cfsecondary {\n peer 192.0.2.1\n refresh 300 600\n}", wantErr: "Testfile:3 - Error during parsing: Wrong argument count"},
		{name: "bad limit", keys: []string{"example.org."}, input: "cfsecondary {\n peer 192.0.2.1\n max-records-per-type -1\n}", wantErr: `Testfile:3 - Error during parsing: max-records-per-type: bad number "-1"`},
		{name: "bad size", keys: []string{"example.org."}, input: "cfsecondary {\n peer 192.0.2.1\n max-zone-size 12q\n}", wantErr: `Testfile:3 - Error during parsing: max-zone-size: bad size "12q"`},
		{name: "bad notify-from", keys: []string{"example.org."}, input: "cfsecondary {\n peer 192.0.2.1\n notify-from 203.0.113.0/33\n}", wantErr: `Testfile:3 - Error during parsing: notify-from: bad address range "203.0.113.0/33"`},
		{name: "notify-from without ranges", keys: []string{"example.org."}, input: "cfsecondary {\n peer 192.0.2.1\n notify-from\n}", wantErr: "Testfile:3 - Error during parsing: Wrong argument count"},
		{name: "bad notify-refused", keys: []string{"example.org."}, input: "cfsecondary {\n peer 192.0.2.1\n notify-refused ignore\n}", wantErr: `Testfile:3 - Error during parsing: notify-refused wants drop or refuse, not "ignore"`},
		{name: "bad notify-rate", keys: []string{"example.org."}, input: "cfsecondary {\n peer 192.0.2.1\n notify-rate 0\n}", wantErr: `Testfile:3 - Error during parsing: notify-rate: bad rate "0"`},
		{name: "bad transfers-in", keys: []string{"example.org."}, input: "cfsecondary {\n peer 192.0.2.1\n transfers-in none\n}", wantErr: `Testfile:3 - Error during parsing: transfers-in: bad number "none"`},
		{name: "bad timer", keys: []string{"example.org."}, input: "cfsecondary {\n peer 192.0.2.1\n min-retry-time often\n}", wantErr: `Testfile:3 - Error during parsing: min-retry-time: bad duration "often"`},
		{name: "min above max", keys: []string{"example.org."}, input: "cfsecondary {\n peer 192.0.2.1\n min-refresh-time 2h\n max-refresh-time 1h\n}", wantErr: "Testfile:5 - Error during parsing: min-refresh-time 2h0m0s is more than max-refresh-time 1h0m0s"},
		{name: "dir without path", keys: []string{"example.org."}, input: "cfsecondary {\n peer 192.0.2.1\n dir\n}", wantErr: "Testfile:3 - Error during parsing: Wrong argument count"},
		{name: "webhook without URL", keys: []string{"example.org."}, input: "cfsecondary {\n peer 192.0.2.1\n webhook\n}", wantErr: "Testfile:3 - Error during parsing: webhook wants URL [SECRET], got 0 arguments"},
		{name: "bad webhook URL", keys: []string{"example.org."}, input: "cfsecondary {\n peer 192.0.2.1\n webhook ftp://x\n}", wantErr: `Testfile:3 - Error during parsing: webhook: bad URL "ftp://x"`},
		{name: "bad api address", keys: []string{"example.org."}, input: "cfsecondary {\n peer 192.0.2.1\n api localhost\n}", wantErr: `Testfile:3 - Error during parsing: api: bad address "localhost"`},
		{name: "api beyond loopback without token", keys: []string{"example.org."}, input: "cfsecondary {\n peer 192.0.2.1\n api 0.0.0.0:8053\n}", wantErr: "Testfile:3 - Error during parsing: api: listening on 0.0.0.0:8053, beyond loopback, needs a TOKEN"},
		{name: "override of a type that cannot", keys: []string{"example.org."}, input: "cfsecondary {\n peer 192.0.2.1\n override www MX 10 mail\n}", wantErr: "Testfile:3 - Error during parsing: override \"www MX 10 mail\": override www.example.org.: type MX cannot override; only A, AAAA and CNAME can"},
		{name: "override outside the zones", keys: []string{"example.org."}, input: "cfsecondary {\n peer 192.0.2.1\n override www.example.net. A 192.0.2.1\n}", wantErr: "not in the zones example.org."},
		{name: "override CNAME beside addresses", keys: []string{"example.org."}, input: "cfsecondary {\n peer 192.0.2.1\n override www A 192.0.2.1\n override www CNAME lb\n}", wantErr: "Testfile:4 - Error during parsing: override \"www CNAME lb\": override www.example.org.: a CNAME must be the only override at its name"},
		{name: "override without value", keys: []string{"example.org."}, input: "cfsecondary {\n peer 192.0.2.1\n override www A\n}", wantErr: "Testfile:3 - Error during parsing: override wants NAME [TTL] TYPE VALUE, got 2 arguments"},
		{name: "override with presigned", keys: []string{"example.org."}, input: "cfsecondary {\n peer 192.0.2.1\n dnssec presigned\n override www A 192.0.2.1\n}", wantErr: "override records cannot be used with dnssec presigned"},
		{name: "bad dnssec mode", keys: []string{"example.org."}, input: "cfsecondary {\n peer 192.0.2.1\n dnssec maybe\n}", wantErr: `Testfile:3 - Error during parsing: dnssec wants presigned, sign or multi-signer, not "maybe"`},
		{name: "bad dnssec sign option", keys: []string{"example.org."}, input: "cfsecondary {\n peer 192.0.2.1\n dnssec sign rsa\n}", wantErr: "Testfile:3 - Error during parsing: dnssec: unknown argument \"rsa\""},
		{name: "dnssec presigned with options", keys: []string{"example.org."}, input: "cfsecondary {\n peer 192.0.2.1\n dnssec presigned nsec3\n}", wantErr: "Testfile:3 - Error during parsing: dnssec presigned takes only validate [MARGIN], got \"nsec3\""},
		{name: "bad validate margin", keys: []string{"example.org."}, input: "cfsecondary {\n peer 192.0.2.1\n dnssec presigned validate soon\n}", wantErr: "Testfile:3 - Error during parsing: dnssec presigned validate: bad duration \"soon\""},
		{name: "bad transfer timeout", keys: []string{"example.org."}, input: "cfsecondary {\n peer 192.0.2.1\n transfer-timeout 1s 2s 3s\n}", wantErr: "transfer-timeout wants IDLE [MAX], got 3 arguments"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := caddy.NewTestController("dns", tc.input)
			c.ServerBlockKeys = tc.keys
			cfgs, err := parse(c)
			if tc.wantErr != "" {
				if err == nil {
					t.Fatalf("parse succeeded, want error %q", tc.wantErr)
				}
				if !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %q, want it to contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			tc.check(t, cfgs)
		})
	}
}

func TestSetupRegistersPlugin(t *testing.T) {
	c := caddy.NewTestController("dns", "cfsecondary example.org {\n peer 192.0.2.1\n dir "+t.TempDir()+"\n}")
	if err := setup(c); err != nil {
		t.Fatalf("setup: %v", err)
	}
	c = caddy.NewTestController("dns", "cfsecondary example.org {\n peer 192.0.2.1:99999\n}")
	err := setup(c)
	if err == nil || !strings.HasPrefix(err.Error(), "plugin/cfsecondary: Testfile:2") {
		t.Fatalf("setup error = %v, want it to name the plugin, the file and the line", err)
	}
}
