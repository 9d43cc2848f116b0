package dnssec

import (
	"fmt"
	"strconv"
	"time"

	"github.com/miekg/dns"
)

// Denial is how the nonexistence of names and types is proven.
type Denial uint8

const (
	// DenialCompact is RFC 9824's Compact Denial of Existence, as Cloudflare
	// serves it: one NSEC at the query name, NXDOMAIN answered NOERROR with
	// the NXNAME type in the bitmap. One signature per answer, nothing of the
	// zone's contents disclosed. The default.
	DenialCompact Denial = iota
	// DenialNSEC3 is RFC 5155 with the parameters of RFC 9276 (SHA-1, no
	// salt, no extra iterations, no opt-out): a precomputed chain per zone
	// version and closest-encloser proofs.
	DenialNSEC3
)

func (d Denial) String() string {
	if d == DenialNSEC3 {
		return "nsec3"
	}
	return "compact"
}

// Options tune a Signer. The zero value is the default of each field.
type Options struct {
	Denial Denial

	// Validity is how long a new signature is valid, from its inception:
	// 14 days by default.
	Validity time.Duration
	// Refresh: a cached signature with less than this left is signed again;
	// by default a quarter of Validity.
	Refresh time.Duration
	// Backdate sets inceptions this far in the past, for validators whose
	// clocks are behind: 1 hour by default.
	Backdate time.Duration
	// Jitter spreads expirations: each signature expires up to this much
	// before Backdate+Validity, so that signatures made together (after a
	// transfer, a start) are not refreshed together. Validity/16 by default.
	Jitter time.Duration

	// MultiSigner serves the union of our DNSKEYs and those of the
	// transferred zone's apex (the other providers', RFC 8901 model 2), and
	// publishes CDS/CDNSKEY only while another provider's KSK is among them.
	MultiSigner bool

	// DNSKEYTTL is the TTL of the DNSKEY, CDS, CDNSKEY and NSEC3PARAM RRsets
	// we publish, 3600 by default. In multi-signer mode the TTL of the
	// transferred DNSKEY RRset, when there is one, wins.
	DNSKEYTTL uint32

	// CacheSize bounds the number of signatures kept: 200000 by default
	// (about 60 MB with ECDSA keys).
	CacheSize int

	// Now is the clock, for tests; time.Now by default.
	Now func() time.Time
}

const (
	defaultValidity  = 14 * 24 * time.Hour
	defaultBackdate  = time.Hour
	defaultDNSKEYTTL = 3600
	defaultCacheSize = 200000
)

// withDefaults fills in the zero fields and checks the result.
func (o Options) withDefaults() (Options, error) {
	if o.Validity == 0 {
		o.Validity = defaultValidity
	}
	if o.Refresh == 0 {
		o.Refresh = o.Validity / 4
	}
	if o.Backdate == 0 {
		o.Backdate = defaultBackdate
	}
	if o.Jitter == 0 {
		o.Jitter = o.Validity / 16
	}
	if o.DNSKEYTTL == 0 {
		o.DNSKEYTTL = defaultDNSKEYTTL
	}
	if o.CacheSize == 0 {
		o.CacheSize = defaultCacheSize
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	switch {
	case o.Validity < time.Hour:
		return o, fmt.Errorf("dnssec: signature validity %s is less than an hour", o.Validity)
	case o.Refresh <= 0 || o.Jitter < 0 || o.Backdate < 0:
		return o, fmt.Errorf("dnssec: refresh, jitter and backdate must not be negative")
	case o.Refresh+o.Jitter >= o.Validity:
		return o, fmt.Errorf("dnssec: refresh %s plus jitter %s leave nothing of the validity %s", o.Refresh, o.Jitter, o.Validity)
	case o.Denial > DenialNSEC3:
		return o, fmt.Errorf("dnssec: unknown denial of existence %d", o.Denial)
	}
	return o, nil
}

// Config is what the Corefile says about signing one block's zones.
type Config struct {
	Options
	Algorithm uint8  // of keys generated on first start: ECDSAP256SHA256 by default
	KeyDir    string // where the keys are; "" for the zones' dir
}

// ParseArgs reads the arguments of the Corefile directive
//
//	dnssec sign|multi-signer [ecdsa|ed25519] [compact|nsec3] [keys DIR] [validity DURATION]
//
// mode is "sign" or "multi-signer"; args are the words after it.
func ParseArgs(mode string, args []string) (Config, error) {
	c := Config{Algorithm: dns.ECDSAP256SHA256}
	switch mode {
	case "sign":
	case "multi-signer":
		c.MultiSigner = true
	default:
		return c, fmt.Errorf("dnssec: %q is not a signing mode (sign or multi-signer)", mode)
	}
	seen := map[string]bool{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		word := a
		switch a {
		case "ecdsa", "ecdsap256sha256", "ed25519":
			word = "algorithm"
		case "compact", "nsec3":
			word = "denial"
		}
		if seen[word] {
			return c, fmt.Errorf("dnssec: %s given twice", word)
		}
		seen[word] = true
		switch a {
		case "ecdsa", "ecdsap256sha256", "ed25519":
			c.Algorithm, _ = ParseAlgorithm(a)
		case "compact":
			c.Denial = DenialCompact
		case "nsec3":
			c.Denial = DenialNSEC3
		case "keys":
			if i+1 == len(args) {
				return c, fmt.Errorf("dnssec: keys wants a directory")
			}
			i++
			c.KeyDir = args[i]
		case "validity":
			if i+1 == len(args) {
				return c, fmt.Errorf("dnssec: validity wants a duration")
			}
			i++
			d, err := parseDuration(args[i])
			if err != nil {
				return c, err
			}
			c.Validity = d
		default:
			return c, fmt.Errorf("dnssec: unknown argument %q (want ecdsa, ed25519, compact, nsec3, keys DIR or validity DURATION)", a)
		}
	}
	if _, err := c.Options.withDefaults(); err != nil {
		return c, err
	}
	return c, nil
}

// parseDuration reads a Go duration or a number of days with a "d" suffix
// ("14d"), since signature validities are counted in days.
func parseDuration(s string) (time.Duration, error) {
	if n := len(s); n > 1 && s[n-1] == 'd' {
		days, err := strconv.Atoi(s[:n-1])
		if err == nil && days > 0 && days < 3650 {
			return time.Duration(days) * 24 * time.Hour, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("dnssec: bad validity %q: want a duration such as 14d or 336h", s)
	}
	return d, nil
}
