package store

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/miekg/dns"
)

// maxBase bounds the length of a file name's base (before ".zone" or
// ".state"), leaving room for the temp prefix and the ".corrupt-<time>"
// suffix under the usual 255-byte limit of a directory entry.
const maxBase = 180

// baseName maps a zone name to the base of its file names: lower case, no
// trailing dot, the root zone as "root".
//
// It works on the wire form of the name, so "A.example.", "a.example" and
// "\097.example." give the same file, and every octet other than
// [a-z0-9-_] inside a label is escaped as %xx: a dot inside a label
// ("a\.b") becomes %2e and cannot pass for a label separator, and '/' can
// never reach the file system. Labels are joined by '.', none is empty, so
// the base never starts with '.' (the prefix of temp files, see atomic.go)
// and is never "." or "..". The zone "root." would take the root zone's
// name, so its 'r' is escaped: "%72oot".
//
// Names whose escaped form is too long for a file name (only possible with
// heavily escaped labels) are cut and given a hash of the whole; '~' never
// appears in an untruncated base, so these cannot collide with one.
func baseName(origin string) (string, error) {
	s, err := escapeName(origin)
	if err != nil {
		return "", err
	}
	if len(s) > maxBase {
		sum := sha256.Sum256([]byte(s))
		s = s[:maxBase-33] + "~" + hex.EncodeToString(sum[:16])
	}
	return s, nil
}

// escapeName is baseName without the length limit.
func escapeName(origin string) (string, error) {
	if origin == "" {
		return "", fmt.Errorf("store: empty zone name")
	}
	name := dns.Fqdn(origin)
	buf := make([]byte, 256)
	n, err := dns.PackDomainName(name, buf, 0, nil, false)
	if err != nil {
		return "", fmt.Errorf("store: bad zone name %q: %v", origin, err)
	}
	wire := buf[:n]
	if len(wire) == 1 {
		return "root", nil
	}
	var b strings.Builder
	const hexdigits = "0123456789abcdef"
	for i := 0; wire[i] != 0; {
		l := int(wire[i])
		if i > 0 {
			b.WriteByte('.')
		}
		for _, c := range wire[i+1 : i+1+l] {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			switch {
			case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_':
				b.WriteByte(c)
			default:
				b.WriteByte('%')
				b.WriteByte(hexdigits[c>>4])
				b.WriteByte(hexdigits[c&15])
			}
		}
		i += 1 + l
	}
	s := b.String()
	if s == "root" {
		s = "%72oot"
	}
	return s, nil
}
