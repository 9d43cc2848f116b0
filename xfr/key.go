package xfr

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"hash"
	"strings"

	"github.com/miekg/dns"
)

// Key is a TSIG key. Name and Algorithm are fully qualified and lower case;
// Algorithm is one of dns.HmacMD5, dns.HmacSHA1, dns.HmacSHA224,
// dns.HmacSHA256, dns.HmacSHA384 or dns.HmacSHA512.
type Key struct {
	Name      string
	Algorithm string
	Secret    []byte
}

// algorithms maps the short names people write in configuration to the
// canonical wire names. hmac-md5 is the odd one: its wire name is
// hmac-md5.sig-alg.reg.int. (RFC 2845).
var algorithms = []struct{ short, canonical string }{
	{"hmac-md5", dns.HmacMD5},
	{"hmac-sha1", dns.HmacSHA1},
	{"hmac-sha224", dns.HmacSHA224},
	{"hmac-sha256", dns.HmacSHA256},
	{"hmac-sha384", dns.HmacSHA384},
	{"hmac-sha512", dns.HmacSHA512},
}

// ParseAlgorithm returns the canonical name (a dns.Hmac* constant) of the
// TSIG algorithm s. It accepts the short names ("hmac-sha256"), with or
// without a trailing dot, in any case, and the wire names.
func ParseAlgorithm(s string) (string, error) {
	n := strings.TrimSuffix(strings.ToLower(s), ".")
	for _, a := range algorithms {
		if n == a.short || n+"." == a.canonical {
			return a.canonical, nil
		}
	}
	names := make([]string, len(algorithms))
	for i, a := range algorithms {
		names[i] = a.short
	}
	return "", fmt.Errorf("unknown TSIG algorithm %q (supported: %s)", s, strings.Join(names, ", "))
}

// newHash returns the hash behind a canonical algorithm name.
func newHash(alg string) (func() hash.Hash, bool) {
	switch alg {
	case dns.HmacMD5:
		return md5.New, true
	case dns.HmacSHA1:
		return sha1.New, true
	case dns.HmacSHA224:
		return sha256.New224, true
	case dns.HmacSHA256:
		return sha256.New, true
	case dns.HmacSHA384:
		return sha512.New384, true
	case dns.HmacSHA512:
		return sha512.New, true
	}
	return nil, false
}

// check reports why k cannot be used for signing or verifying.
func (k *Key) check() error {
	if k == nil {
		return fmt.Errorf("no key")
	}
	if _, ok := newHash(k.Algorithm); !ok {
		return fmt.Errorf("key %s: unknown algorithm %q", k.Name, k.Algorithm)
	}
	if _, ok := dns.IsDomainName(k.Name); !ok || !dns.IsFqdn(k.Name) {
		return fmt.Errorf("key %q: name is not a fully qualified domain name", k.Name)
	}
	if len(k.Secret) == 0 {
		return fmt.Errorf("key %s: empty secret", k.Name)
	}
	return nil
}

// mac returns a fresh HMAC for k. k must have passed check.
func (k *Key) mac() hash.Hash {
	h, _ := newHash(k.Algorithm)
	return hmac.New(h, k.Secret)
}
