package cfsecondary

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/cfsecondary/cfsecondary/engine"
	"github.com/cfsecondary/cfsecondary/xfr"
	"github.com/cfsecondary/cfsecondary/zone"

	"github.com/coredns/coredns/plugin/pkg/fall"
)

// Config is one cfsecondary block of the Corefile, validated: every zone it lists shares its
// peers, keys and timers, as a Cloudflare secondary zone links to account-wide peers and TSIGs.
type Config struct {
	Zones     []string           // fully qualified, lower case, no duplicates
	Peers     []engine.Peer      // primaries, tried in this order
	Keys      map[string]xfr.Key // TSIG keys by name (fully qualified, lower case)
	Refresh   time.Duration      // SOA check interval; 0 means the SOA REFRESH (Cloudflare's "zone refresh" overrides it)
	Timers    engine.Timers      // clamps on the SOA timers
	Limits    zone.Limits        // what a transfer may bring before it is rejected
	Xfr       xfr.Options        // transfer timeouts
	Dir       string             // where zones and their timers are kept; "" for the default
	Notify    NotifyPolicy
	Workers   int // zones refreshed or transferred at once; 0 for the default
	Alerts    AlertConfig
	API       APIConfig
	DNSSEC    DNSSECConfig
	Overrides overrides // by owner name, lower case
	Fall      fall.F
}

// DNSSECConfig is how the zones are secured: served as transferred (pre-signed, the default when
// the zone arrives signed), signed online by us for a hidden primary, or both providers signing
// (multi-signer, RFC 8901).
type DNSSECConfig struct {
	Mode string // "" (as transferred), "presigned", "sign" or "multi-signer"
	Args []string
}

// AlertConfig says where alerts are delivered besides the log and the metrics.
type AlertConfig struct {
	Webhook string // URL the alerts are POSTed to as JSON; "" for none
	Secret  string // signs each delivery (an HMAC-SHA256 header) when not ""
}

// APIConfig is the admin HTTP API and status page.
type APIConfig struct {
	Addr  string // host:port to listen on; "" for none
	Token string // bearer token; required unless Addr is a loopback address
}

// NotifyPolicy says whose NOTIFYs are acted on (RFC 1996 §3.10: only a zone's primaries), like
// Cloudflare's ACLs that add NOTIFY sources and BIND's allow-notify.
type NotifyPolicy struct {
	From        []netip.Prefix // accepted besides the zone's peers
	RequireTSIG bool           // a peer's NOTIFY must be signed with that peer's key
	Drop        bool           // send no answer to a refused NOTIFY, instead of REFUSED
	Rate        float64        // NOTIFYs acted on per second across the block's zones; 0: default
}

// DefaultDir is where zones are kept when no dir is configured, under CoreDNS's working
// directory (or the root plugin's).
const DefaultDir = "cfsecondary"

// DefaultNotifyRate bounds the NOTIFYs acted on per second; beyond it they are dropped without
// an answer, and the primary retransmits (RFC 1996 §3.6).
const DefaultNotifyRate = 100

// parsePeerAddr accepts "IP", "IP:PORT", "[IPv6]:PORT" and a bare IPv6 address; port 53 by
// default. Names are refused: a secondary that resolves its primaries' names through the DNS it
// serves can lock itself out.
func parsePeerAddr(s string) (string, error) {
	if ip, err := netip.ParseAddr(s); err == nil {
		return net.JoinHostPort(ip.String(), "53"), nil
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return "", fmt.Errorf("bad peer address %q: want IP or IP:PORT", s)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return "", fmt.Errorf("bad peer address %q: %q is not an IP address", s, host)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return "", fmt.Errorf("bad peer address %q: port %q out of range 1-65535", s, port)
	}
	return net.JoinHostPort(ip.String(), port), nil
}

// parseDuration reads a plain number of seconds ("300", the way zone timers are written) or a Go
// duration ("5m").
func parseDuration(s string) (time.Duration, error) {
	if n, err := strconv.ParseUint(s, 10, 32); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("bad duration %q: want seconds or a duration like 5m", s)
	}
	if d <= 0 {
		return 0, fmt.Errorf("bad duration %q: must be positive", s)
	}
	return d, nil
}

// parseSize reads a byte count with an optional k, m or g suffix (powers of 1024).
func parseSize(s string) (int64, error) {
	mult := int64(1)
	num := strings.ToLower(s)
	switch {
	case strings.HasSuffix(num, "k"):
		mult, num = 1<<10, num[:len(num)-1]
	case strings.HasSuffix(num, "m"):
		mult, num = 1<<20, num[:len(num)-1]
	case strings.HasSuffix(num, "g"):
		mult, num = 1<<30, num[:len(num)-1]
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("bad size %q: want bytes, optionally with k, m or g", s)
	}
	return n * mult, nil
}

// parseCount reads a non-negative limit; 0 means unlimited.
func parseCount(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("bad number %q: want 0 (unlimited) or more", s)
	}
	return n, nil
}

// parsePrefix reads an address range, or a single address as a range of one.
func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("bad address range %q", s)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("bad address %q", s)
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}
