package cfsecondary

import (
	"encoding/base64"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/cfsecondary/cfsecondary/dnssec"
	"github.com/cfsecondary/cfsecondary/engine"
	"github.com/cfsecondary/cfsecondary/xfr"
	"github.com/cfsecondary/cfsecondary/zone"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/plugin"
	clog "github.com/coredns/coredns/plugin/pkg/log"

	"github.com/miekg/dns"
)

const pluginName = "cfsecondary"

var log = clog.NewWithPlugin(pluginName)

func init() { plugin.Register(pluginName, setup) }

func setup(c *caddy.Controller) error {
	configs, err := parse(c)
	if err != nil {
		return plugin.Error(pluginName, err)
	}
	cfg := dnsserver.GetConfig(c)
	for i := range configs {
		if configs[i].Dir == "" {
			configs[i].Dir = DefaultDir
		}
		if !filepath.IsAbs(configs[i].Dir) && cfg.Root != "" {
			configs[i].Dir = filepath.Join(cfg.Root, configs[i].Dir)
		}
	}
	s, err := New(configs, takeHandover())
	if err != nil {
		return plugin.Error(pluginName, err)
	}
	// The keys go into the server's TSIG secrets (a copy, next to the tsig plugin's), so the
	// server verifies TSIG on the NOTIFYs the primaries sign and signs our answers.
	secrets := make(map[string]string, len(cfg.TsigSecret))
	for k, v := range cfg.TsigSecret {
		secrets[k] = v
	}
	for _, conf := range configs {
		for name, k := range conf.Keys {
			secrets[name] = base64.StdEncoding.EncodeToString(k.Secret)
		}
	}
	cfg.TsigSecret = secrets

	c.OnStartup(s.Start)
	c.OnShutdown(s.Stop)
	// A Corefile reload starts a new instance of the plugin before the old one shuts down.
	// The old one stops its work first and hands its zones over, so the new one serves them
	// at once with their timers, without transferring them again.
	c.OnRestart(func() error { s.Stop(); giveHandover(s); return nil })
	c.OnRestartFailed(s.Start)
	cfg.AddPlugin(func(next plugin.Handler) plugin.Handler {
		s.Next = next
		return s
	})
	return nil
}

// parse reads every cfsecondary block of a server block. Each becomes one Config.
func parse(c *caddy.Controller) ([]Config, error) {
	var configs []Config
	seen := map[string]bool{}
	for c.Next() {
		cfg, err := parseBlock(c)
		if err != nil {
			return nil, err
		}
		for _, z := range cfg.Zones {
			if seen[z] {
				return nil, c.Errf("zone %s is configured twice", z)
			}
			seen[z] = true
		}
		configs = append(configs, cfg)
	}
	return configs, nil
}

// keyRef is a peer's reference to a TSIG key, resolved once the whole block is read, since keys
// may be defined after the peers that use them.
type keyRef struct {
	peer int
	name string
	file string
	line int
}

func parseBlock(c *caddy.Controller) (Config, error) {
	cfg := Config{Keys: map[string]xfr.Key{}, Limits: zone.DefaultLimits(), Timers: engine.DefaultTimers()}

	zones := c.RemainingArgs()
	if len(zones) == 0 {
		zones = make([]string, len(c.ServerBlockKeys))
		copy(zones, c.ServerBlockKeys)
	}
	if len(zones) == 0 {
		return cfg, c.Err("no zones: name them in the server block or after cfsecondary")
	}
	seen := map[string]bool{}
	for _, z := range zones {
		origins := plugin.Host(z).NormalizeExact()
		if len(origins) == 0 {
			return cfg, c.Errf("bad zone name %q", z)
		}
		for _, o := range origins {
			o = strings.ToLower(o)
			if _, ok := dns.IsDomainName(o); !ok {
				return cfg, c.Errf("bad zone name %q", z)
			}
			if seen[o] {
				return cfg, c.Errf("zone %s is listed twice", o)
			}
			seen[o] = true
			cfg.Zones = append(cfg.Zones, o)
		}
	}

	var refs []keyRef
	for c.NextBlock() {
		switch dir := c.Val(); dir {
		case "peer":
			ref, err := parsePeer(c, &cfg)
			if err != nil {
				return cfg, err
			}
			if ref != nil {
				refs = append(refs, *ref)
			}

		case "tsig":
			args := c.RemainingArgs()
			if len(args) != 3 {
				return cfg, c.Errf("tsig wants NAME ALGORITHM SECRET, got %d arguments", len(args))
			}
			k, err := newKey(args[0], args[1], args[2])
			if err != nil {
				return cfg, c.Err(err.Error())
			}
			if _, dup := cfg.Keys[k.Name]; dup {
				return cfg, c.Errf("tsig key %s is defined twice", k.Name)
			}
			cfg.Keys[k.Name] = k

		case "tsig-file":
			f, path, err := openArg(c, "tsig-file")
			if err != nil {
				return cfg, err
			}
			keys, err := xfr.ParseKeyFile(f, path)
			f.Close()
			if err != nil {
				return cfg, c.Errf("tsig-file: %v", err)
			}
			for _, k := range keys {
				if _, dup := cfg.Keys[k.Name]; dup {
					return cfg, c.Errf("tsig key %s is defined twice (again in %s)", k.Name, path)
				}
				cfg.Keys[k.Name] = k
			}

		case "refresh":
			if !c.NextArg() {
				return cfg, c.ArgErr()
			}
			d, err := parseDuration(c.Val())
			if err != nil {
				return cfg, c.Errf("refresh: %v", err)
			}
			cfg.Refresh = d
			if c.NextArg() {
				return cfg, c.ArgErr()
			}

		case "transfer-timeout":
			args := c.RemainingArgs()
			if len(args) < 1 || len(args) > 2 {
				return cfg, c.Errf("transfer-timeout wants IDLE [MAX], got %d arguments", len(args))
			}
			d, err := parseDuration(args[0])
			if err != nil {
				return cfg, c.Errf("transfer-timeout: %v", err)
			}
			cfg.Xfr.IdleTimeout = d
			if len(args) == 2 {
				if d, err = parseDuration(args[1]); err != nil {
					return cfg, c.Errf("transfer-timeout: %v", err)
				}
				cfg.Xfr.MaxDuration = d
			}

		case "max-records", "max-records-per-type", "max-types-per-name":
			if !c.NextArg() {
				return cfg, c.ArgErr()
			}
			n, err := parseCount(c.Val())
			if err != nil {
				return cfg, c.Errf("%s: %v", dir, err)
			}
			switch dir {
			case "max-records":
				cfg.Limits.Records = n
			case "max-records-per-type":
				cfg.Limits.RecordsPerType = n
			case "max-types-per-name":
				cfg.Limits.TypesPerName = n
			}
			if c.NextArg() {
				return cfg, c.ArgErr()
			}

		case "max-zone-size":
			if !c.NextArg() {
				return cfg, c.ArgErr()
			}
			n, err := parseSize(c.Val())
			if err != nil {
				return cfg, c.Errf("max-zone-size: %v", err)
			}
			cfg.Limits.Bytes = n
			if c.NextArg() {
				return cfg, c.ArgErr()
			}

		case "min-refresh-time", "max-refresh-time", "min-retry-time", "max-retry-time", "min-expire-time", "max-expire-time":
			if !c.NextArg() {
				return cfg, c.ArgErr()
			}
			d, err := parseDuration(c.Val())
			if err != nil {
				return cfg, c.Errf("%s: %v", dir, err)
			}
			*map[string]*time.Duration{
				"min-refresh-time": &cfg.Timers.MinRefresh, "max-refresh-time": &cfg.Timers.MaxRefresh,
				"min-retry-time": &cfg.Timers.MinRetry, "max-retry-time": &cfg.Timers.MaxRetry,
				"min-expire-time": &cfg.Timers.MinExpire, "max-expire-time": &cfg.Timers.MaxExpire,
			}[dir] = d
			if c.NextArg() {
				return cfg, c.ArgErr()
			}

		case "dir":
			if !c.NextArg() {
				return cfg, c.ArgErr()
			}
			cfg.Dir = c.Val()
			if c.NextArg() {
				return cfg, c.ArgErr()
			}

		case "notify-from":
			args := c.RemainingArgs()
			if len(args) == 0 {
				return cfg, c.ArgErr()
			}
			for _, a := range args {
				pfx, err := parsePrefix(a)
				if err != nil {
					return cfg, c.Errf("notify-from: %v", err)
				}
				cfg.Notify.From = append(cfg.Notify.From, pfx)
			}

		case "notify-require-tsig":
			if c.NextArg() {
				return cfg, c.ArgErr()
			}
			cfg.Notify.RequireTSIG = true

		case "notify-refused":
			if !c.NextArg() {
				return cfg, c.ArgErr()
			}
			switch c.Val() {
			case "drop":
				cfg.Notify.Drop = true
			case "refuse":
				cfg.Notify.Drop = false
			default:
				return cfg, c.Errf("notify-refused wants drop or refuse, not %q", c.Val())
			}
			if c.NextArg() {
				return cfg, c.ArgErr()
			}

		case "notify-rate":
			if !c.NextArg() {
				return cfg, c.ArgErr()
			}
			r, err := strconv.ParseFloat(c.Val(), 64)
			if err != nil || r <= 0 {
				return cfg, c.Errf("notify-rate: bad rate %q: want NOTIFYs per second, more than 0", c.Val())
			}
			cfg.Notify.Rate = r
			if c.NextArg() {
				return cfg, c.ArgErr()
			}

		case "transfers-in":
			if !c.NextArg() {
				return cfg, c.ArgErr()
			}
			n, err := strconv.Atoi(c.Val())
			if err != nil || n < 1 {
				return cfg, c.Errf("transfers-in: bad number %q: want 1 or more", c.Val())
			}
			cfg.Workers = n
			if c.NextArg() {
				return cfg, c.ArgErr()
			}

		case "webhook":
			args := c.RemainingArgs()
			if len(args) < 1 || len(args) > 2 {
				return cfg, c.Errf("webhook wants URL [SECRET], got %d arguments", len(args))
			}
			u, err := url.Parse(args[0])
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return cfg, c.Errf("webhook: bad URL %q: want http:// or https://", args[0])
			}
			cfg.Alerts.Webhook = args[0]
			if len(args) == 2 {
				cfg.Alerts.Secret = args[1]
			}

		case "api":
			args := c.RemainingArgs()
			if len(args) < 1 || len(args) > 2 {
				return cfg, c.Errf("api wants ADDRESS [TOKEN], got %d arguments", len(args))
			}
			host, port, err := net.SplitHostPort(args[0])
			if n, perr := strconv.Atoi(port); err != nil || perr != nil || n < 0 || n > 65535 {
				return cfg, c.Errf("api: bad address %q: want HOST:PORT", args[0])
			}
			cfg.API.Addr = args[0]
			if len(args) == 2 {
				cfg.API.Token = args[1]
			}
			if ip, err := netip.ParseAddr(host); (err != nil || !ip.IsLoopback()) && cfg.API.Token == "" {
				return cfg, c.Errf("api: listening on %s, beyond loopback, needs a TOKEN", args[0])
			}

		case "override":
			args := c.RemainingArgs()
			if len(args) < 3 {
				return cfg, c.Errf("override wants NAME [TTL] TYPE VALUE, got %d arguments", len(args))
			}
			if cfg.Overrides == nil {
				cfg.Overrides = overrides{}
			}
			line := strings.Join(args, " ")
			if err := parseOverrides(cfg.Overrides, strings.NewReader(line), c.File(), cfg.Zones[0], cfg.Zones); err != nil {
				return cfg, c.Errf("override %q: %v", line, err)
			}

		case "override-file":
			f, path, err := openArg(c, "override-file")
			if err != nil {
				return cfg, err
			}
			if cfg.Overrides == nil {
				cfg.Overrides = overrides{}
			}
			err = parseOverrides(cfg.Overrides, f, path, cfg.Zones[0], cfg.Zones)
			f.Close()
			if err != nil {
				return cfg, c.Errf("override-file: %v", err)
			}

		case "dnssec":
			args := c.RemainingArgs()
			if len(args) == 0 {
				return cfg, c.ArgErr()
			}
			switch args[0] {
			case "presigned":
				if _, err := parseValidate(args[1:]); err != nil {
					return cfg, c.Err(err.Error())
				}
			case "sign", "multi-signer":
				dc, err := dnssec.ParseArgs(args[0], args[1:])
				if err != nil {
					return cfg, c.Err(err.Error())
				}
				if dc.KeyDir != "" && !filepath.IsAbs(dc.KeyDir) {
					if root := dnsserver.GetConfig(c).Root; root != "" {
						args = append(args, "keys", filepath.Join(root, dc.KeyDir))
					}
				}
			default:
				return cfg, c.Errf("dnssec wants presigned, sign or multi-signer, not %q", args[0])
			}
			cfg.DNSSEC = DNSSECConfig{Mode: args[0], Args: args[1:]}

		case "fallthrough":
			cfg.Fall.SetZonesFromArgs(c.RemainingArgs())

		default:
			return cfg, c.Errf("unknown property %q", dir)
		}
	}

	if len(cfg.Peers) == 0 {
		return cfg, c.Err("at least one peer is required")
	}
	if cfg.DNSSEC.Mode == "presigned" && len(cfg.Overrides) > 0 {
		return cfg, c.Err("override records cannot be used with dnssec presigned: the primary's signatures do not cover them")
	}
	t := cfg.Timers
	for _, b := range []struct {
		name   string
		lo, hi time.Duration
	}{{"refresh", t.MinRefresh, t.MaxRefresh}, {"retry", t.MinRetry, t.MaxRetry}, {"expire", t.MinExpire, t.MaxExpire}} {
		if b.hi > 0 && b.lo > b.hi {
			return cfg, c.Errf("min-%s-time %s is more than max-%s-time %s", b.name, b.lo, b.name, b.hi)
		}
	}
	for _, r := range refs {
		k, ok := cfg.Keys[r.name]
		if !ok {
			return cfg, fmt.Errorf("%s:%d - Error during parsing: peer %s uses unknown tsig key %s", r.file, r.line, cfg.Peers[r.peer].Addr, r.name)
		}
		cfg.Peers[r.peer].Key = &k
	}
	return cfg, nil
}

// parsePeer reads `peer ADDRESS [tsig KEY] [ixfr|no-ixfr]`, where the options may also stand in
// a block after the address, one per line.
func parsePeer(c *caddy.Controller, cfg *Config) (*keyRef, error) {
	args := c.RemainingArgs()
	if len(args) == 0 {
		return nil, c.Err("peer wants an ADDRESS")
	}
	addr, err := parsePeerAddr(args[0])
	if err != nil {
		return nil, c.Err(err.Error())
	}
	for _, p := range cfg.Peers {
		if p.Addr == addr {
			return nil, c.Errf("peer %s is listed twice", addr)
		}
	}
	p := engine.Peer{Addr: addr}
	var ref *keyRef

	type token struct {
		val  string
		line int
	}
	option := func(opts []token) error {
		for i := 0; i < len(opts); i++ {
			switch opts[i].val {
			case "ixfr":
				p.IXFR = true
			case "no-ixfr", "axfr":
				p.IXFR = false
			case "tsig":
				if i+1 >= len(opts) {
					return c.Err("peer option tsig wants a KEY name")
				}
				i++
				ref = &keyRef{peer: len(cfg.Peers), name: dns.CanonicalName(opts[i].val), file: c.File(), line: opts[i].line}
			default:
				return c.Errf("unknown peer option %q", opts[i].val)
			}
		}
		return nil
	}
	var inline []token
	for _, a := range args[1:] {
		inline = append(inline, token{a, c.Line()})
	}
	if err := option(inline); err != nil {
		return nil, err
	}
	// The options block is read token by token rather than with NextBlock, which cannot tell
	// a block that opens here from the next directive. ";" may separate options on one line.
	if c.NextArg() {
		if c.Val() != "{" {
			return nil, c.Errf("unexpected %q after peer options", c.Val())
		}
		var opts []token
		closed := false
		for c.Next() {
			if c.Val() == "}" {
				closed = true
				break
			}
			if c.Val() != ";" {
				opts = append(opts, token{c.Val(), c.Line()})
			}
		}
		if !closed {
			return nil, c.Err("peer block is not closed")
		}
		if err := option(opts); err != nil {
			return nil, err
		}
	}
	cfg.Peers = append(cfg.Peers, p)
	return ref, nil
}

// newKey builds a TSIG key from the Corefile's `tsig NAME ALGORITHM SECRET`.
func newKey(name, algorithm, secret string) (xfr.Key, error) {
	if _, ok := dns.IsDomainName(name); !ok {
		return xfr.Key{}, fmt.Errorf("bad tsig key name %q", name)
	}
	alg, err := xfr.ParseAlgorithm(algorithm)
	if err != nil {
		return xfr.Key{}, err
	}
	raw, err := base64.StdEncoding.DecodeString(secret)
	if err != nil || len(raw) == 0 {
		return xfr.Key{}, fmt.Errorf("tsig key %s: secret is not valid base64", name)
	}
	return xfr.Key{Name: dns.CanonicalName(name), Algorithm: alg, Secret: raw}, nil
}

// openArg opens the file the directive's one argument names, relative to the root plugin's
// directory when it is not absolute.
func openArg(c *caddy.Controller, dir string) (*os.File, string, error) {
	args := c.RemainingArgs()
	if len(args) != 1 {
		return nil, "", c.Errf("%s wants one PATH, got %d arguments", dir, len(args))
	}
	path := args[0]
	if !filepath.IsAbs(path) {
		if root := dnsserver.GetConfig(c).Root; root != "" {
			path = filepath.Join(root, path)
		}
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, "", c.Errf("%s: %v", dir, err)
	}
	return f, path, nil
}

// DefaultValidateMargin is how long the signatures of a pre-signed zone must stay valid for a new
// version to be served under `dnssec presigned validate`.
const DefaultValidateMargin = 24 * time.Hour

// parseValidate reads the options of `dnssec presigned [validate [MARGIN]]`: whether to validate
// each new version before serving it, and how long its signatures must stay valid; 0 for no
// validation.
func parseValidate(args []string) (time.Duration, error) {
	switch {
	case len(args) == 0:
		return 0, nil
	case args[0] != "validate" || len(args) > 2:
		return 0, fmt.Errorf("dnssec presigned takes only validate [MARGIN], got %q", strings.Join(args, " "))
	case len(args) == 1:
		return DefaultValidateMargin, nil
	}
	d, err := parseDuration(args[1])
	if err != nil {
		return 0, fmt.Errorf("dnssec presigned validate: %v", err)
	}
	return d, nil
}
