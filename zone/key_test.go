package zone

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// canonical compares two names as RFC 4034 6.1 says, written the slow and
// obvious way to check the keys against.
func canonical(a, b string) int {
	la, lb := labels(a), labels(b)
	for i := 0; i < len(la) && i < len(lb); i++ {
		if c := bytes.Compare(la[i], lb[i]); c != 0 {
			return c
		}
	}
	return len(la) - len(lb)
}

// labels returns the labels of name, root side first, lower-cased.
func labels(name string) [][]byte {
	buf := make([]byte, 256)
	n, err := dns.PackDomainName(name, buf, 0, nil, false)
	if err != nil {
		panic(err)
	}
	var ls [][]byte
	for off := 0; off < n && buf[off] != 0; off += int(buf[off]) + 1 {
		ls = append(ls, bytes.ToLower(buf[off+1:off+1+int(buf[off])]))
	}
	slices.Reverse(ls)
	return ls
}

func key(name string) string {
	var k keyBuf
	if !k.set(name) {
		panic("bad name " + name)
	}
	return string(k.b[:k.n])
}

func TestKey(t *testing.T) {
	for _, tc := range []struct{ name, key string }{
		{".", ""},
		{"org.", "org\x00"},
		{"www.Example.ORG.", "org\x00example\x00www\x00"},
		{`a\.b.org.`, "org\x00a.b\x00"},
		{`\000\001\002.org.`, "org\x00\x01\x01\x01\x02\x02\x00"},
		{`*.org.`, "org\x00*\x00"},
	} {
		if got := key(tc.name); got != tc.key {
			t.Errorf("key(%q) = %q, want %q", tc.name, got, tc.key)
		}
	}
}

// TestKeyOrder sorts the example of RFC 4034 6.1, plus names with the
// octets that need escaping, by key.
func TestKeyOrder(t *testing.T) {
	want := []string{
		"example.",
		"a.example.",
		"yljkjljk.a.example.",
		"Z.a.example.",
		"zABC.a.EXAMPLE.",
		"z.example.",
		`\000.z.example.`,
		`\000\000.z.example.`,
		`\001.z.example.`,
		`*.z.example.`,
		`a.z.example.`,
		`b.a.z.example.`,
		`a\000.z.example.`,
		`a\001.z.example.`,
		`\200.z.example.`,
	}
	got := slices.Clone(want)
	rand.Shuffle(len(got), func(i, j int) { got[i], got[j] = got[j], got[i] })
	slices.SortFunc(got, func(a, b string) int { return strings.Compare(key(a), key(b)) })
	if !slices.Equal(got, want) {
		t.Errorf("sorted by key:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestKeyOrderRandom compares key order to canonical order on random names
// made of the octets where things go wrong.
func TestKeyOrderRandom(t *testing.T) {
	alphabet := []byte{0, 1, 2, '*', '-', 'A', 'Z', 'a', 'z', 0xff}
	name := func() string {
		var b strings.Builder
		for range 1 + rand.IntN(4) {
			for range 1 + rand.IntN(3) {
				b.WriteString(escape(alphabet[rand.IntN(len(alphabet))]))
			}
			b.WriteByte('.')
		}
		return b.String()
	}
	sign := func(x int) int { return min(max(x, -1), 1) }
	for range 20000 {
		a, b := name(), name()
		if got, want := sign(strings.Compare(key(a), key(b))), sign(canonical(a, b)); got != want {
			t.Fatalf("%q vs %q: key order %d, canonical %d", a, b, got, want)
		}
	}
}

func escape(c byte) string {
	if c < '!' || c > '~' {
		return `\` + string([]byte{'0' + c/100, '0' + c/10%10, '0' + c%10})
	}
	return string(c)
}

func TestKeyAncestors(t *testing.T) {
	var k keyBuf
	k.set("a.b.c.")
	want := []string{"", "c\x00", "c\x00b\x00", "c\x00b\x00a\x00"}
	for i, w := range want {
		if got := k.rel(i, 0); got != w {
			t.Errorf("prefix(%d) = %q, want %q", i, got, w)
		}
	}
	if p := parentKey(k.rel(k.labels, 0)); p != want[2] {
		t.Errorf("parentKey = %q, want %q", p, want[2])
	}
	if p := parentKey("c\x00"); p != "" {
		t.Errorf("parentKey of a TLD = %q, want the root", p)
	}
}

// packRef is the reference for keyBuf.pack.
func packRef(name string) ([]byte, bool) {
	buf := make([]byte, maxWire)
	n, err := dns.PackDomainName(name, buf, 0, nil, false)
	if err != nil || name == "" {
		return nil, false
	}
	if name == "." {
		return []byte{0}, true
	}
	return buf[:n], true
}

func checkPack(t *testing.T, name string) {
	var k keyBuf
	ok := k.set(name)
	want, refOK := packRef(name)
	switch {
	case ok && !refOK && !nonASCII(name):
		// dns.IsFqdn miscounts backslashes after a multi-byte rune.
		t.Fatalf("set(%q) accepted a name PackDomainName rejects", name)
	case ok && !refOK:
	case ok && !bytes.Equal(k.wire[:k.wlen], want):
		t.Fatalf("set(%q): wire %q, want %q", name, k.wire[:k.wlen], want)
	case !ok && refOK && !strings.Contains(name, `\`):
		// Only escapes may differ: pack rejects \D and \DD, and \DDD above 255.
		t.Fatalf("set(%q) rejected a name PackDomainName accepts", name)
	}
}

func TestKeyPack(t *testing.T) {
	for _, name := range []string{
		".", "org.", "a.b.c.", `a\.b.c.`, `a\\.b.`, `\065.org.`, `\256.org.`, `\1.org.`, `a\`, `a\.`,
		"", "org", "..", ".org.", "a..b.", strings.Repeat("a", 63) + ".", strings.Repeat("a", 64) + ".",
		strings.Repeat("a.", 127), strings.Repeat("a.", 128),
		strings.Repeat(strings.Repeat("a", 63)+".", 3) + strings.Repeat("b", 61) + ".", // 255 octets
		strings.Repeat(strings.Repeat("a", 63)+".", 3) + strings.Repeat("b", 62) + ".", // 256
	} {
		checkPack(t, name)
	}
}

func FuzzKey(f *testing.F) {
	for _, s := range []string{".", "www.example.org.", `a\.b\000.`, `\\.`, "a..", `\255\256.`} {
		f.Add(s)
	}
	f.Fuzz(checkPack)
}

func nonASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return true
		}
	}
	return false
}
