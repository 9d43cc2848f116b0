package dnssec

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cfsecondary/cfsecondary/zone"

	"github.com/miekg/dns"
)

// TestEnsureKeys: a first start generates a KSK and a ZSK in dir, the next
// loads the same ones; the default algorithm is ECDSA P-256.
func TestEnsureKeys(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	first, err := EnsureKeys(dir, "Example.COM", dns.ECDSAP256SHA256)
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != 2 || !first[0].KSK() || first[1].KSK() || first[0].DNSKEY.Algorithm != dns.ECDSAP256SHA256 {
		t.Fatalf("generated %v", first)
	}
	if first[0].DNSKEY.Flags != 257 || first[1].DNSKEY.Flags != 256 {
		t.Errorf("flags %d and %d, want 257 and 256", first[0].DNSKEY.Flags, first[1].DNSKEY.Flags)
	}
	second, err := EnsureKeys(dir, "example.com.", dns.ED25519)
	if err != nil {
		t.Fatal(err)
	}
	if len(second) != 2 || second[0].Tag != first[0].Tag || second[1].Tag != first[1].Tag {
		t.Fatalf("second start: %v, want the keys of the first %v", second, first)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	if len(files) != 4 {
		t.Errorf("files %v, want two .key and two .private", files)
	}
	// Other zones' keys in the same directory are not ours.
	if k, err := LoadKeys(dir, "example.net."); err != nil || len(k) != 0 {
		t.Errorf("keys of example.net: %v, %v", k, err)
	}
	// No directory: no keys, no error.
	if k, err := LoadKeys(filepath.Join(dir, "none"), "example.com."); err != nil || len(k) != 0 {
		t.Errorf("missing dir: %v, %v", k, err)
	}
	if _, _, err := GenerateKeys(dir, "example.com.", dns.RSASHA256); err == nil {
		t.Errorf("generated an RSA key")
	}
}

// TestLoadKeysErrors: a key that cannot be used is an error, not a silently
// unsigned zone.
func TestLoadKeysErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		spoil func(t *testing.T, k *Key)
		want  string
	}{
		{"no private", func(t *testing.T, k *Key) { os.Remove(k.File + ".private") }, "private key"},
		{"wrong private", func(t *testing.T, k *Key) {
			other := testKeys(t, "example.com.", dns.ECDSAP256SHA256)[0]
			data, _ := os.ReadFile(other.File + ".private")
			os.WriteFile(k.File+".private", data, 0o600)
		}, "does not belong"},
		{"garbage key", func(t *testing.T, k *Key) {
			os.WriteFile(k.File+".key", []byte("example.com. IN DNSKEY x y z\n"), 0o644)
		}, "dnssec"},
		{"bad time", func(t *testing.T, k *Key) {
			data, _ := os.ReadFile(k.File + ".private")
			os.WriteFile(k.File+".private", append(data, "Inactive: tomorrow\n"...), 0o600)
		}, "bad Inactive time"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			ksk, _, err := GenerateKeys(dir, "example.com.", dns.ECDSAP256SHA256)
			if err != nil {
				t.Fatal(err)
			}
			tc.spoil(t, ksk)
			if _, err := LoadKeys(dir, "example.com."); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}

// TestKeyTiming: BIND's timing metadata decides which keys are published
// and which sign, as dnssec-settime sets it for a rollover.
func TestKeyTiming(t *testing.T) {
	dir := t.TempDir()
	ksk, zsk, err := GenerateKeys(dir, "example.com.", dns.ED25519)
	if err != nil {
		t.Fatal(err)
	}
	_, next, err := GenerateKeys(dir, "example.com.", dns.ED25519) // a second ZSK
	if err != nil {
		t.Fatal(err)
	}
	_, gone, err := GenerateKeys(dir, "example.com.", dns.ED25519) // a third, deleted
	if err != nil {
		t.Fatal(err)
	}
	// The extra KSKs from the two calls: make them deleted too.
	appendTiming := func(k *Key, line string) {
		f, err := os.OpenFile(k.File+".private", os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString(line + "\n")
		f.Close()
	}
	past := time.Now().Add(-time.Hour).UTC().Format("20060102150405")
	future := time.Now().Add(time.Hour).UTC().Format("20060102150405")
	keys, err := LoadKeys(dir, "example.com.")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if k.KSK() && k.Tag != ksk.Tag {
			appendTiming(k, "Delete: "+past)
		}
	}
	appendTiming(next, "Activate: "+future) // published, not yet signing
	appendTiming(gone, "Delete: "+past)     // gone
	appendTiming(zsk, "Inactive: "+future)  // still signing

	keys, err = LoadKeys(dir, "example.com.")
	if err != nil {
		t.Fatal(err)
	}
	s := newTestSigner(t, keys, Options{})
	z := buildZone(t, testOrigin, testZone)
	res := s.Answer(z, zone.Request{Name: testOrigin, Type: dns.TypeDNSKEY, DO: true})
	published := map[uint16]bool{}
	for _, rr := range res.Answer {
		if k, ok := rr.(*dns.DNSKEY); ok {
			published[k.KeyTag()] = true
		}
	}
	if len(published) != 3 || !published[ksk.Tag] || !published[zsk.Tag] || !published[next.Tag] {
		t.Fatalf("published %v, want KSK %d, ZSKs %d and %d", published, ksk.Tag, zsk.Tag, next.Tag)
	}
	res = s.Answer(z, zone.Request{Name: "www.example.com.", Type: dns.TypeA, DO: true})
	var signers []uint16
	for _, rr := range res.Answer {
		if sig, ok := rr.(*dns.RRSIG); ok {
			signers = append(signers, sig.KeyTag)
		}
	}
	if len(signers) != 1 || signers[0] != zsk.Tag {
		t.Fatalf("signed by %v, want the active ZSK %d only", signers, zsk.Tag)
	}
}

// TestNewSignerChecks: keys must be for the zone, one algorithm, at least
// one active; a CSK signs everything.
func TestNewSignerChecks(t *testing.T) {
	ec := testKeys(t, testOrigin, dns.ECDSAP256SHA256)
	ed := testKeys(t, testOrigin, dns.ED25519)
	if _, err := NewSigner("example.org.", ec, Options{}); err == nil {
		t.Errorf("keys of another zone accepted")
	}
	if _, err := NewSigner(testOrigin, []*Key{ec[0], ed[1]}, Options{}); err == nil {
		t.Errorf("two algorithms accepted")
	}
	if _, err := NewSigner(testOrigin, nil, Options{}); err == nil {
		t.Errorf("no keys accepted")
	}
	if _, err := NewSigner(testOrigin, ec, Options{Validity: time.Minute}); err == nil {
		t.Errorf("a validity of a minute accepted")
	}
	// A single KSK is a CSK: it signs the data and the DNSKEY RRset.
	s := newTestSigner(t, ec[:1], Options{})
	z := buildZone(t, testOrigin, testZone)
	v := &validator{t: t, anchors: s.DS(), now: time.Now()}
	v.trust(s.Answer(z, zone.Request{Name: testOrigin, Type: dns.TypeDNSKEY, DO: true}).Answer)
	for _, q := range queryTable {
		checkCase(t, v, s, q, DenialCompact, s.Answer(z, zone.Request{Name: q.name, Type: q.qtype, DO: true}))
	}
}

func TestParseArgs(t *testing.T) {
	for _, tc := range []struct {
		mode string
		args string
		want Config
		err  string
	}{
		{"sign", "", Config{Algorithm: dns.ECDSAP256SHA256}, ""},
		{"sign", "ed25519 nsec3", Config{Algorithm: dns.ED25519, Options: Options{Denial: DenialNSEC3}}, ""},
		{"multi-signer", "ecdsa compact keys /var/keys validity 21d", Config{Algorithm: dns.ECDSAP256SHA256, KeyDir: "/var/keys",
			Options: Options{MultiSigner: true, Validity: 21 * 24 * time.Hour}}, ""},
		{"sign", "validity 240h", Config{Algorithm: dns.ECDSAP256SHA256, Options: Options{Validity: 240 * time.Hour}}, ""},
		{"sign", "rsa", Config{}, "unknown argument"},
		{"sign", "nsec3 compact", Config{}, "denial given twice"},
		{"sign", "keys", Config{}, "keys wants a directory"},
		{"sign", "validity soon", Config{}, "bad validity"},
		{"sign", "validity 30m", Config{}, "less than an hour"},
		{"presigned", "", Config{}, "not a signing mode"},
	} {
		var args []string
		if tc.args != "" {
			args = strings.Fields(tc.args)
		}
		got, err := ParseArgs(tc.mode, args)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s %s: error %v, want %q", tc.mode, tc.args, err, tc.err)
			}
			continue
		}
		if err != nil || got.Algorithm != tc.want.Algorithm || got.KeyDir != tc.want.KeyDir || got.Denial != tc.want.Denial ||
			got.MultiSigner != tc.want.MultiSigner || got.Validity != tc.want.Validity {
			t.Errorf("%s %s: %+v, %v; want %+v", tc.mode, tc.args, got, err, tc.want)
		}
	}
}
