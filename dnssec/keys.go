package dnssec

import (
	"bufio"
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// A Key is one of our DNSSEC keys: the DNSKEY we publish and the private key
// that signs with it.
type Key struct {
	DNSKEY *dns.DNSKEY
	Signer crypto.Signer
	Tag    uint16 // DNSKEY.KeyTag(), computed once

	// File is the path of the key's files without the ".key" or ".private"
	// extension, "" for a key that does not come from files.
	File string

	// The timing metadata of BIND's .private file (dnssec-keygen -P/-A/-I/-D,
	// dnssec-settime), zero when not set. They are evaluated when the
	// Signer is made: a key is published from Publish until Delete and signs
	// from Activate until Inactive. Keys without them are published and active.
	Publish, Activate, Inactive, Delete time.Time
}

// KSK reports whether k is a key-signing key: the SEP flag (flags 257).
func (k *Key) KSK() bool { return k.DNSKEY.Flags&dns.SEP != 0 }

// published reports whether k belongs in the DNSKEY RRset at t.
func (k *Key) published(t time.Time) bool {
	if !k.Publish.IsZero() && t.Before(k.Publish) {
		return false
	}
	return k.Delete.IsZero() || t.Before(k.Delete)
}

// active reports whether k signs at t. A key that signs is published too.
func (k *Key) active(t time.Time) bool {
	if !k.published(t) {
		return false
	}
	if !k.Activate.IsZero() && t.Before(k.Activate) {
		return false
	}
	return k.Inactive.IsZero() || t.Before(k.Inactive)
}

func (k *Key) String() string {
	role := "ZSK"
	if k.KSK() {
		role = "KSK"
	}
	return fmt.Sprintf("%s %d %s", role, k.Tag, dns.AlgorithmToString[k.DNSKEY.Algorithm])
}

// Algorithms that can sign. ECDSAP256SHA256 and ED25519 are the ones we
// generate; keys of the others are accepted when dnssec-keygen made them.
var signingAlgorithms = map[uint8]bool{
	dns.RSASHA256:       true,
	dns.RSASHA512:       true,
	dns.ECDSAP256SHA256: true,
	dns.ECDSAP384SHA384: true,
	dns.ED25519:         true,
}

// ParseAlgorithm turns a name used in the Corefile (ecdsa, ecdsap256sha256,
// ed25519, or a mnemonic or number of RFC 8624) into an algorithm number we
// can generate keys for.
func ParseAlgorithm(s string) (uint8, error) {
	switch strings.ToLower(s) {
	case "ecdsa", "ecdsap256sha256", "ecdsa256", "p256", "13":
		return dns.ECDSAP256SHA256, nil
	case "ed25519", "15":
		return dns.ED25519, nil
	}
	return 0, fmt.Errorf("unsupported key algorithm %q: want ecdsa (ECDSAP256SHA256) or ed25519", s)
}

// fileName is the zone part of a key file name: the zone name as
// dnssec-keygen writes it (lower case here, fully qualified), with any octet
// outside [a-z0-9-_.] escaped as %xx so that no name can leave the directory.
func fileName(origin string) string {
	origin = strings.ToLower(dns.Fqdn(origin))
	var b strings.Builder
	for i := 0; i < len(origin); i++ {
		c := origin[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_', c == '.':
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02x", c)
		}
	}
	return b.String()
}

// LoadKeys reads the keys of zone from dir: every pair of BIND key files
// K<zone>+<alg>+<tag>.key and .private, as dnssec-keygen writes them (and
// GenerateKeys too). A .key file whose DNSKEY is for another zone is
// skipped; any other problem (a missing or unreadable .private, a private key
// that does not match its DNSKEY, an algorithm that cannot sign) is an
// error, because serving a zone with a key we cannot use breaks it. No
// keys, or no dir, is not an error: the result is empty.
func LoadKeys(dir, zone string) ([]*Key, error) {
	origin := strings.ToLower(dns.Fqdn(zone))
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("dnssec: keys of %s: %v", origin, err)
	}
	prefixes := []string{"k" + origin + "+", "k" + fileName(origin) + "+"}
	var keys []*Key
	for _, e := range entries {
		name := e.Name()
		lower := strings.ToLower(name)
		if !strings.HasSuffix(lower, ".key") || e.IsDir() {
			continue
		}
		if !strings.HasPrefix(lower, prefixes[0]) && !strings.HasPrefix(lower, prefixes[1]) {
			continue
		}
		base := filepath.Join(dir, name[:len(name)-len(".key")])
		k, err := readKey(base, origin)
		if err != nil {
			return nil, err
		}
		if k != nil {
			keys = append(keys, k)
		}
	}
	sortKeys(keys)
	return keys, nil
}

// sortKeys puts KSKs first, then orders by tag, so that signatures and the
// DNSKEY RRset come out the same way on every start.
func sortKeys(keys []*Key) {
	sort.SliceStable(keys, func(i, j int) bool {
		if keys[i].KSK() != keys[j].KSK() {
			return keys[i].KSK()
		}
		return keys[i].Tag < keys[j].Tag
	})
}

// readKey reads base.key and base.private. It returns nil, nil for a key of
// another zone.
func readKey(base, origin string) (*Key, error) {
	pub, err := os.ReadFile(base + ".key")
	if err != nil {
		return nil, fmt.Errorf("dnssec: %v", err)
	}
	dnskey, err := parseDNSKEY(pub, base+".key")
	if err != nil {
		return nil, err
	}
	if !strings.EqualFold(dnskey.Hdr.Name, origin) {
		return nil, nil
	}
	if dnskey.Protocol != 3 || dnskey.Flags&dns.ZONE == 0 {
		return nil, fmt.Errorf("dnssec: %s.key: not a zone key (flags %d, protocol %d)", base, dnskey.Flags, dnskey.Protocol)
	}
	if !signingAlgorithms[dnskey.Algorithm] {
		return nil, fmt.Errorf("dnssec: %s.key: algorithm %d cannot sign here", base, dnskey.Algorithm)
	}
	priv, err := os.ReadFile(base + ".private")
	if err != nil {
		return nil, fmt.Errorf("dnssec: private key of %s.key: %v", base, err)
	}
	k, err := newKey(dnskey, priv, base+".private")
	if err != nil {
		return nil, err
	}
	k.File = base
	return k, nil
}

// parseDNSKEY reads the DNSKEY of a .key file: comments, and possibly a
// $TTL, around one DNSKEY record.
func parseDNSKEY(data []byte, file string) (*dns.DNSKEY, error) {
	zp := dns.NewZoneParser(bytes.NewReader(data), ".", file)
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		if k, ok := rr.(*dns.DNSKEY); ok {
			return k, nil
		}
	}
	if err := zp.Err(); err != nil {
		return nil, fmt.Errorf("dnssec: %v", err)
	}
	return nil, fmt.Errorf("dnssec: %s: no DNSKEY record", file)
}

// newKey pairs a DNSKEY with the text of its .private file.
func newKey(dnskey *dns.DNSKEY, private []byte, file string) (*Key, error) {
	pk, err := dnskey.ReadPrivateKey(bytes.NewReader(private), file)
	if err != nil {
		return nil, fmt.Errorf("dnssec: %s: %v", file, err)
	}
	signer, ok := pk.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("dnssec: %s: unsupported private key", file)
	}
	if !matches(dnskey, signer) {
		return nil, fmt.Errorf("dnssec: %s: the private key does not belong to the DNSKEY %d", file, dnskey.KeyTag())
	}
	k := &Key{DNSKEY: dnskey, Signer: signer, Tag: dnskey.KeyTag()}
	if err := readTiming(k, private); err != nil {
		return nil, fmt.Errorf("dnssec: %s: %v", file, err)
	}
	return k, nil
}

// matches reports whether the private key's public half is the DNSKEY's.
// miekg/dns takes the public key from the DNSKEY for ECDSA and RSA, so a
// private scalar from another key would slip through: check by deriving.
func matches(k *dns.DNSKEY, s crypto.Signer) bool {
	c := &dns.DNSKEY{Hdr: k.Hdr, Flags: k.Flags, Protocol: k.Protocol, Algorithm: k.Algorithm}
	switch p := s.(type) {
	case ed25519.PrivateKey:
		pub := p.Public().(ed25519.PublicKey)
		c.PublicKey = toBase64(pub)
	case *ecdsa.PrivateKey:
		priv, err := p.ECDH()
		if err != nil {
			return false
		}
		pub, err := p.PublicKey.ECDH()
		return err == nil && priv.PublicKey().Equal(pub)
	case *rsa.PrivateKey:
		return p.Validate() == nil
	default:
		return false
	}
	return c.PublicKey == k.PublicKey
}

// readTiming reads BIND's timing fields from a .private file.
func readTiming(k *Key, private []byte) error {
	sc := bufio.NewScanner(bytes.NewReader(private))
	for sc.Scan() {
		field, value, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		var dst *time.Time
		switch strings.TrimSpace(field) {
		case "Publish":
			dst = &k.Publish
		case "Activate":
			dst = &k.Activate
		case "Inactive":
			dst = &k.Inactive
		case "Delete":
			dst = &k.Delete
		default:
			continue
		}
		v := strings.TrimSpace(value)
		if v == "0" || v == "" { // "never", as dnssec-settime -I none writes it
			continue
		}
		t, err := time.Parse("20060102150405", v)
		if err != nil {
			return fmt.Errorf("bad %s time %q", strings.TrimSpace(field), v)
		}
		*dst = t
	}
	return sc.Err()
}

// GenerateKeys makes a KSK (flags 257) and a ZSK (flags 256) for zone with
// algorithm alg (ECDSAP256SHA256 or ED25519) and writes them to dir in
// BIND's format, as dnssec-keygen does, so that BIND's tools read them and
// LoadKeys finds them again. The .private files are readable by the owner
// only. Each file is written to a temporary name, synced and renamed, so a
// crash never leaves half a key.
func GenerateKeys(dir, zone string, alg uint8) (ksk, zsk *Key, err error) {
	origin := strings.ToLower(dns.Fqdn(zone))
	if alg != dns.ECDSAP256SHA256 && alg != dns.ED25519 {
		return nil, nil, fmt.Errorf("dnssec: cannot generate keys of algorithm %d: use ECDSAP256SHA256 (13) or ED25519 (15)", alg)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, fmt.Errorf("dnssec: %v", err)
	}
	ksk, err = generateKey(dir, origin, alg, dns.ZONE|dns.SEP, 0)
	if err != nil {
		return nil, nil, err
	}
	zsk, err = generateKey(dir, origin, alg, dns.ZONE, ksk.Tag)
	if err != nil {
		return nil, nil, err
	}
	return ksk, zsk, nil
}

// generateKey makes one key whose tag is not avoid and whose files do not
// exist yet in dir.
func generateKey(dir, origin string, alg uint8, flags uint16, avoid uint16) (*Key, error) {
	for range 16 {
		dnskey := &dns.DNSKEY{
			Hdr:       dns.RR_Header{Name: origin, Rrtype: dns.TypeDNSKEY, Class: dns.ClassINET, Ttl: 3600},
			Flags:     flags,
			Protocol:  3,
			Algorithm: alg,
		}
		pk, err := dnskey.Generate(256)
		if err != nil {
			return nil, fmt.Errorf("dnssec: generating a key: %v", err)
		}
		tag := dnskey.KeyTag()
		if tag == avoid {
			continue
		}
		base := filepath.Join(dir, fmt.Sprintf("K%s+%03d+%05d", fileName(origin), alg, tag))
		if _, err := os.Lstat(base + ".key"); err == nil {
			continue // a key with this tag exists: tags must differ
		}
		now := time.Now().UTC()
		stamp := now.Format("20060102150405")
		human := now.Format("Mon Jan _2 15:04:05 2006")
		role := "zone-signing"
		if flags&dns.SEP != 0 {
			role = "key-signing"
		}
		private := dnskey.PrivateKeyString(pk) +
			"Created: " + stamp + "\nPublish: " + stamp + "\nActivate: " + stamp + "\n"
		public := fmt.Sprintf("; This is a %s key, keyid %d, for %s\n; Created: %s (%s)\n; Publish: %s (%s)\n; Activate: %s (%s)\n%s IN DNSKEY %d %d %d %s\n",
			role, tag, origin, stamp, human, stamp, human, stamp, human,
			origin, dnskey.Flags, dnskey.Protocol, dnskey.Algorithm, dnskey.PublicKey)
		// The .private first: a .key never exists without its private half.
		if err := writeFile(base+".private", []byte(private), 0o600); err != nil {
			return nil, err
		}
		if err := writeFile(base+".key", []byte(public), 0o644); err != nil {
			os.Remove(base + ".private")
			return nil, err
		}
		k, err := newKey(dnskey, []byte(private), base+".private")
		if err != nil {
			return nil, err
		}
		k.File = base
		return k, nil
	}
	return nil, errors.New("dnssec: could not generate a key with a free key tag")
}

// writeFile writes data to path atomically: a temporary file in the same
// directory, synced, renamed over path, and the directory synced.
func writeFile(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".dnssec-key-*")
	if err != nil {
		return fmt.Errorf("dnssec: %v", err)
	}
	tmp := f.Name()
	fail := func(err error) error {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("dnssec: writing %s: %v", path, err)
	}
	if err := f.Chmod(perm); err != nil {
		return fail(err)
	}
	if _, err := f.Write(data); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("dnssec: writing %s: %v", path, err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// EnsureKeys returns the keys of zone in dir, generating a KSK and a ZSK of
// algorithm alg on first start, when dir has none. Keys found in dir are used
// whatever their algorithm: the files, once there, win over the Corefile.
func EnsureKeys(dir, zone string, alg uint8) ([]*Key, error) {
	keys, err := LoadKeys(dir, zone)
	if err != nil || len(keys) > 0 {
		return keys, err
	}
	ksk, zsk, err := GenerateKeys(dir, zone, alg)
	if err != nil {
		return nil, err
	}
	return []*Key{ksk, zsk}, nil
}

func toBase64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
