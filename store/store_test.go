package store

import (
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/cfsecondary/cfsecondary/zone"
)

func TestBaseName(t *testing.T) {
	for _, tc := range []struct {
		origin, want string
	}{
		{"example.org.", "example.org"},
		{"example.org", "example.org"},
		{"Example.ORG.", "example.org"},
		{`\069xample.org.`, "example.org"},
		{".", "root"},
		{"root.", "%72oot"},
		{"ROOT", "%72oot"},
		{"root.example.", "root.example"},
		{"a/b.example.", "a%2fb.example"},
		{`a\.b.example.`, "a%2eb.example"},
		{`\..example.`, "%2e.example"},
		{`a\032b.example.`, "a%20b.example"},
		{`a\ b.example.`, "a%20b.example"},
		{"100%.example.", "100%25.example"},
		{"_tcp.x-y.example.", "_tcp.x-y.example"},
		{`\000\255.example.`, "%00%ff.example"},
		{`..\/..\/etc.`, ""}, // empty labels: not a name
		{"", ""},
		{"a..b.", ""},
	} {
		got, err := baseName(tc.origin)
		if tc.want == "" {
			if err == nil {
				t.Errorf("baseName(%q) = %q, want an error", tc.origin, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("baseName(%q) = %q, %v; want %q", tc.origin, got, err, tc.want)
		}
	}
}

// TestBaseNameUnique checks that names that differ give files that differ,
// that none can leave the directory or pass for a temp file, and that
// names too long for a file name are shortened.
func TestBaseNameUnique(t *testing.T) {
	long := strings.Repeat(`\255`, 63)
	names := []string{
		".", "root.", "a.b.", `a\.b.`, "a%2eb.", `a\%2eb.`, "ab.", "a-b.", "a_b.",
		`a\/b.`, "a/b.", "a%2fb.", "..a.", "x.", "x.zone.", "x.state.", "zone.x.",
		long + "." + long + "." + long + ".",
		long + "." + long + ".a" + strings.Repeat("b", 62) + ".",
		long + "." + long + ".c" + strings.Repeat("b", 62) + ".",
	}
	seen := map[string]string{}
	for _, n := range names {
		if _, ok := dns.IsDomainName(n); !ok {
			continue
		}
		b, err := baseName(n)
		if err != nil {
			continue
		}
		if other, ok := seen[b]; ok && !sameName(other, n) {
			t.Errorf("%q and %q both map to %q", other, n, b)
		}
		seen[b] = n
		if strings.ContainsAny(b, "/\\\x00") || strings.HasPrefix(b, ".") || b == ".." || len(b) > maxBase {
			t.Errorf("baseName(%q) = %q", n, b)
		}
	}
	s := &Store{dir: "/var/lib/zones"}
	if got := s.ZonePath("example.org."); got != "/var/lib/zones/example.org.zone" {
		t.Errorf("ZonePath = %q", got)
	}
	if got := s.StatePath("Example.Org"); got != "/var/lib/zones/example.org.state" {
		t.Errorf("StatePath = %q", got)
	}
	if got := s.ZonePath("."); got != "/var/lib/zones/root.zone" {
		t.Errorf("ZonePath(.) = %q", got)
	}
}

func TestOpen(t *testing.T) {
	t.Run("relative path", func(t *testing.T) {
		t.Chdir(t.TempDir())
		s, err := Open("zones")
		if err != nil {
			t.Fatal(err)
		}
		if !filepath.IsAbs(s.Dir()) || filepath.Base(s.Dir()) != "zones" {
			t.Errorf("Dir = %q", s.Dir())
		}
	})
	t.Run("creates the directory", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "a", "b")
		s, err := Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		if s.Dir() != dir {
			t.Errorf("Dir = %q, want %q", s.Dir(), dir)
		}
		fi, err := os.Stat(dir)
		if err != nil || !fi.IsDir() || fi.Mode().Perm()&0o700 != 0o700 {
			t.Fatalf("directory: %v %v", fi, err)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Errorf("Open left %v", entries)
		}
	})
	t.Run("a file in place of the directory", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "zones")
		if err := os.WriteFile(file, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, dir := range []string{file, filepath.Join(file, "sub")} {
			_, err := Open(dir)
			if err == nil || !strings.Contains(err.Error(), "not a directory") {
				t.Errorf("Open(%s) = %v, want a 'not a directory' error", dir, err)
			}
		}
	})
	t.Run("no directory", func(t *testing.T) {
		if _, err := Open(""); err == nil {
			t.Error("Open(\"\") did not fail")
		}
	})
	t.Run("removes stale temp files", func(t *testing.T) {
		dir := t.TempDir()
		stale := []string{".example.org.zone.tmp-123", ".example.org.state.tmp-9", ".probe.tmp-77"}
		keep := []string{"example.org.zone", "example.org.state", "example.org.zone.corrupt-1", ".hidden", "tmp-1"}
		for _, n := range append(stale, keep...) {
			if err := os.WriteFile(filepath.Join(dir, n), []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := Open(dir); err != nil {
			t.Fatal(err)
		}
		for _, n := range stale {
			if _, err := os.Stat(filepath.Join(dir, n)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%s: %v, want it removed", n, err)
			}
		}
		for _, n := range keep {
			if _, err := os.Stat(filepath.Join(dir, n)); err != nil {
				t.Errorf("%s: %v, want it kept", n, err)
			}
		}
	})
}

// TestOpenDuringSave: a second Open of the directory in this process (a
// CoreDNS reload) leaves the temp file of a save in progress alone.
func TestOpenDuringSave(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	z := bigZone(t, "example.org.", 1, 100)
	paused, resume := make(chan struct{}), make(chan struct{})
	hook = func(p string) {
		if p == "rename" {
			close(paused)
			<-resume
		}
	}
	defer func() { hook = nil }()
	done := make(chan error)
	go func() { done <- s.SaveZone(z) }()
	<-paused
	if _, err := Open(dir); err != nil {
		t.Fatal(err)
	}
	close(resume)
	if err := <-done; err != nil {
		t.Fatalf("SaveZone during Open: %v", err)
	}
	if _, _, err := s.Load("example.org.", zone.Limits{}); err != nil {
		t.Fatal(err)
	}
}

func TestSaveLoad(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	const origin = "example.org."
	if _, _, err := s.Load(origin, zone.Limits{}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Load of nothing: %v, want ErrNotFound", err)
	}
	// A state without a zone is not a zone.
	if err := s.SaveState(State{Zone: origin, Serial: 1}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Load(origin, zone.Limits{}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Load with only a state: %v, want ErrNotFound", err)
	}
	for serial := uint32(1); serial <= 3; serial++ {
		z := bigZone(t, origin, serial, 100+int(serial))
		if err := s.SaveZone(z); err != nil {
			t.Fatal(err)
		}
		got, _, err := s.Load(origin, zone.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		sameZone(t, got, z)
	}
	entries, _ := os.ReadDir(s.Dir())
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if strings.Join(names, " ") != "example.org.state example.org.zone" {
		t.Errorf("directory holds %v", names)
	}
	fi, err := os.Stat(s.ZonePath(origin))
	if err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("zone file mode %v, %v; want 0644", fi.Mode(), err)
	}
}

func TestState(t *testing.T) {
	const origin = "example.org."
	now := time.Date(2026, 1, 2, 3, 4, 5, 600, time.UTC)
	full := State{
		Zone:        origin,
		Serial:      42,
		Peer:        "192.0.2.1:53",
		LastCheck:   now,
		LastSuccess: now.Add(-time.Minute),
		ExpireAt:    now.Add(14 * 24 * time.Hour),
		NextRefresh: now.Add(2 * time.Hour),
	}
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, s *Store) // after the zone (serial 42) is saved
		want  State
	}{
		{"saved", func(t *testing.T, s *Store) { mustSaveState(t, s, full) }, full},
		{"zone name in another spelling", func(t *testing.T, s *Store) {
			st := full
			st.Zone = "EXAMPLE.org"
			mustSaveState(t, s, st)
		}, full},
		{"none", func(t *testing.T, s *Store) {}, State{Zone: origin, Serial: 42}},
		{"other serial keeps only the peer", func(t *testing.T, s *Store) {
			st := full
			st.Serial = 41
			mustSaveState(t, s, st)
		}, State{Zone: origin, Serial: 42, Peer: "192.0.2.1:53"}},
		{"not JSON", func(t *testing.T, s *Store) {
			write(t, s.StatePath(origin), "{\"zone\": \"example.org.\", \"serial\": 4")
		}, State{Zone: origin, Serial: 42}},
		{"empty", func(t *testing.T, s *Store) { write(t, s.StatePath(origin), "") }, State{Zone: origin, Serial: 42}},
		{"bad time", func(t *testing.T, s *Store) {
			write(t, s.StatePath(origin), `{"zone": "example.org.", "serial": 42, "last_check": "yesterday"}`)
		}, State{Zone: origin, Serial: 42}},
		{"another zone's", func(t *testing.T, s *Store) {
			st := full
			st.Zone = "example.net."
			mustSaveState(t, s, st)
			if err := os.Rename(s.StatePath("example.net."), s.StatePath(origin)); err != nil {
				t.Fatal(err)
			}
		}, State{Zone: origin, Serial: 42}},
		{"huge", func(t *testing.T, s *Store) {
			write(t, s.StatePath(origin), `{"zone": "example.org.", "serial": 42, "peer": "`+strings.Repeat("x", maxState)+`"}`)
		}, State{Zone: origin, Serial: 42}},
		{"a directory", func(t *testing.T, s *Store) {
			if err := os.Mkdir(s.StatePath(origin), 0o755); err != nil {
				t.Fatal(err)
			}
		}, State{Zone: origin, Serial: 42}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Open(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			if err := s.SaveZone(bigZone(t, origin, 42, 10)); err != nil {
				t.Fatal(err)
			}
			tc.setup(t, s)
			_, st, err := s.Load(origin, zone.Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if !sameState(st, tc.want) {
				t.Errorf("state\n %+v\nwant\n %+v", st, tc.want)
			}
		})
	}
	t.Run("bad zone name", func(t *testing.T) {
		s, err := Open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		if err := s.SaveState(State{}); err == nil {
			t.Error("SaveState without a zone name did not fail")
		}
	})
}

func sameState(a, b State) bool {
	return a.Zone == b.Zone && a.Serial == b.Serial && a.Peer == b.Peer &&
		a.LastCheck.Equal(b.LastCheck) && a.LastSuccess.Equal(b.LastSuccess) &&
		a.ExpireAt.Equal(b.ExpireAt) && a.NextRefresh.Equal(b.NextRefresh)
}

func mustSaveState(t *testing.T, s *Store, st State) {
	t.Helper()
	if err := s.SaveState(st); err != nil {
		t.Fatal(err)
	}
}

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// reseal gives body (a zone file without its trailer) a trailer that
// matches it, so that a test reaches the checks after the checksum.
func reseal(body []byte, origin string, serial uint32, records int) []byte {
	crc := crc32.Checksum(body, castagnoli)
	return fmt.Appendf(slices0(body), "; end of zone %s serial %d records %d crc32c %08x\n", origin, serial, records, crc)
}

func slices0(b []byte) []byte { return append([]byte(nil), b...) }

func TestCorrupt(t *testing.T) {
	const origin = "example.org."
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	z := bigZone(t, origin, 42, 60)
	if err := s.SaveZone(z); err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile(s.ZonePath(origin))
	if err != nil {
		t.Fatal(err)
	}
	cut := bytes.LastIndexByte(good[:len(good)-1], '\n') + 1
	body := good[:cut] // without the trailer
	lines := strings.SplitAfter(string(body), "\n")
	lines = lines[:len(lines)-1] // the last is empty
	n := z.Len()
	replace := func(old, new string) []byte {
		if !bytes.Contains(body, []byte(old)) {
			t.Fatalf("no %q in the file", old)
		}
		return bytes.Replace(body, []byte(old), []byte(new), 1)
	}
	other := func(origin string) []byte {
		dir := t.TempDir()
		s, err := Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.SaveZone(bigZone(t, origin, 42, 60)); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(s.ZonePath(origin))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}

	type tcase struct {
		name string
		data []byte
		lim  zone.Limits
		want string // in the error
	}
	cases := []tcase{
		{"empty", nil, zone.Limits{}, "truncated"},
		{"no trailer", body, zone.Limits{}, "last line is not the trailer"},
		{"no newline at the end", good[:len(good)-1], zone.Limits{}, "does not end with a newline"},
		{"garbage", []byte("\x00\x01garbage\n\xff\n"), zone.Limits{}, "truncated"},
		{"garbage after the trailer", append(slices0(good), "x\n"...), zone.Limits{}, "last line is not the trailer"},
		{"trailer: wrong serial", bytes.Replace(good, []byte("serial 42 records"), []byte("serial 43 records"), 1), zone.Limits{}, "SOA serial 42, the trailer says 43"},
		{"trailer: more records", bytes.Replace(good, fmt.Appendf(nil, "records %d ", n), fmt.Appendf(nil, "records %d ", n+1), 1), zone.Limits{}, fmt.Sprintf("%d records, the trailer counts %d", n, n+1)},
		{"trailer: fewer records", bytes.Replace(good, fmt.Appendf(nil, "records %d ", n), fmt.Appendf(nil, "records %d ", n-1), 1), zone.Limits{}, "more records than"},
		{"trailer: malformed", append(slices0(body), "; end of zone example.org. serial x\n"...), zone.Limits{}, "malformed trailer"},
		{"trailer: other zone", reseal(body, "example.net.", 42, n), zone.Limits{}, "not example.org."},
		{"another zone's file", other("example.net."), zone.Limits{}, "not example.org."},
		{"a bit flipped", bytes.Replace(good, []byte("10.0.0.1\n"), []byte("10.0.0.3\n"), 1), zone.Limits{}, "checksum"},
		{"a line lost", []byte(strings.Join(append(lines[:10:10], lines[11:]...), "") + string(good[cut:])), zone.Limits{}, "records, the trailer counts"},
		{"parse error", reseal(replace("\tA\t10.0.0.1\n", "\tA\t10.0.0.300\n"), origin, 42, n), zone.Limits{}, fmt.Sprintf("at line: %d:", lineOf(body, "\t10.0.0.1\n"))},
		{"garbage line", reseal([]byte(strings.Join(lines[:20], "")+"}{ garbage\n"+strings.Join(lines[20:], "")), origin, 42, n), zone.Limits{}, "at line: 21:"},
		{"$INCLUDE", reseal([]byte(strings.Join(lines[:20], "")+"$INCLUDE /etc/passwd\n"+strings.Join(lines[20:], "")), origin, 42, n), zone.Limits{}, "$INCLUDE"},
		{"$GENERATE", reseal([]byte(strings.Join(lines[:20], "")+"$GENERATE 1-1000 h$ A 10.0.0.$\n"+strings.Join(lines[20:], "")), origin, 42, n), zone.Limits{}, "more records than"},
		{"no SOA", reseal([]byte(lines[0]+lines[1]+strings.Join(lines[3:], "")), origin, 42, n-1), zone.Limits{}, "no SOA"},
		{"record out of zone", reseal([]byte(strings.Join(lines, "")+"www.example.net.\t3600\tIN\tA\t192.0.2.1\n"), origin, 42, n+1), zone.Limits{}, "not in zone"},
		{"CNAME and other data", reseal([]byte(strings.Join(lines, "")+"host0.example.org.\t3600\tIN\tCNAME\texample.org.\n"), origin, 42, n+1), zone.Limits{}, "CNAME and other data"},
		{"duplicate", reseal([]byte(strings.Join(lines, "")+lines[5]), origin, 42, n+1), zone.Limits{}, "duplicates"},
		{"over the limits", good, zone.Limits{Records: 10}, "max-records"},
	}
	// A file cut short anywhere.
	for i := 0; i < len(good); i++ {
		cases = append(cases, tcase{fmt.Sprintf("cut at %d", i), good[:i], zone.Limits{}, ""})
	}

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			write(t, s.ZonePath(origin), string(tc.data))
			mustSaveState(t, s, State{Zone: origin, Serial: 42})
			before, _ := filepath.Glob(filepath.Join(dir, "*.corrupt-*"))
			_, _, err := s.Load(origin, tc.lim)
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Load: %v, want ErrCorrupt", err)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), s.ZonePath(origin)) {
				t.Errorf("error %q does not say %q and the file", err, tc.want)
			}
			if tc.name == "over the limits" && !errors.Is(err, zone.ErrLimit) {
				t.Errorf("error %q does not wrap zone.ErrLimit", err)
			}
			for _, p := range []string{s.ZonePath(origin), s.StatePath(origin)} {
				if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("%s still there: %v", p, err)
				}
			}
			after, _ := filepath.Glob(filepath.Join(dir, "*.corrupt-*"))
			if len(before) == 0 && len(after) != 2 {
				t.Errorf("set aside: %v, want the zone and state files", after)
			}
			if !strings.Contains(err.Error(), "set aside as "+s.ZonePath(origin)+".corrupt-") {
				t.Errorf("error %q does not say where the file went", err)
			}
			if _, _, err := s.Load(origin, tc.lim); !errors.Is(err, ErrNotFound) {
				t.Errorf("second Load: %v, want ErrNotFound", err)
			}
			if t.Failed() {
				t.Logf("file:\n%s", tc.data)
			}
			if !strings.HasPrefix(tc.name, "cut at") {
				t.Logf("%v", err)
			}
		})
	}
	t.Run("set-aside files", func(t *testing.T) {
		m, _ := filepath.Glob(filepath.Join(dir, "example.org.zone.corrupt-*"))
		m2, _ := filepath.Glob(filepath.Join(dir, "example.org.state.corrupt-*"))
		if len(m) == 0 || len(m2) == 0 {
			t.Errorf("set-aside files: %v %v", m, m2)
		}
	})
}

// lineOf returns the number of the line of b that holds s.
func lineOf(b []byte, s string) int {
	i := bytes.Index(b, []byte(s))
	if i < 0 {
		return -1
	}
	return bytes.Count(b[:i], []byte{'\n'}) + 1
}

// TestParseLineNumbers checks that a parse error deep in a big file, far
// past the first of the chunks that are parsed in parallel, gives the
// line in the file.
func TestParseLineNumbers(t *testing.T) {
	const origin = "example.org."
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	z := bigZone(t, origin, 1, 60000)
	if err := s.SaveZone(z); err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile(s.ZonePath(origin))
	if err != nil {
		t.Fatal(err)
	}
	if len(good) < 2*chunkSize {
		t.Fatalf("file of %d bytes is not several chunks", len(good))
	}
	cut := bytes.LastIndexByte(good[:len(good)-1], '\n') + 1
	for _, ip := range []string{"10.0.0.1\n", "10.0.160.0\n", "10.0.180.0\n"} {
		body := good[:cut]
		line := lineOf(body, "\t"+ip)
		if line < 0 {
			t.Fatalf("no %q", ip)
		}
		bad := bytes.Replace(body, []byte("\t"+ip), []byte("\t"+strings.TrimSuffix(ip, "\n")+"x\n"), 1)
		write(t, s.ZonePath(origin), string(reseal(bad, origin, 1, z.Len())))
		_, _, err := s.Load(origin, zone.Limits{})
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), fmt.Sprintf("at line: %d:", line)) {
			t.Errorf("error %v, want one at line %d", err, line)
		}
	}
}

// TestSaveZoneRefusesWhatItCannotKeep: an RR whose rdata was cut short
// (miekg/dns accepts that) and that no text form keeps makes SaveZone fail
// and leaves the saved version alone.
func TestSaveZoneRefusesWhatItCannotKeep(t *testing.T) {
	const origin = "example.org."
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	v1 := bigZone(t, origin, 1, 50)
	if err := s.SaveZone(v1); err != nil {
		t.Fatal(err)
	}
	// NSEC3 rdata that ends after the salt length: no salt, no next hash.
	h := dns.RR_Header{Name: "x.example.org.", Rrtype: dns.TypeNSEC3, Class: dns.ClassINET, Ttl: 300, Rdlength: 5}
	bad, _, err := dns.UnpackRRWithHeader(h, []byte{1, 0, 0, 0, 8}, 0)
	if err != nil {
		t.Fatal(err)
	}
	rrs := append(bigRRs(origin, 2, 50), bad)
	err = s.SaveZone(build(t, origin, rrs))
	if err == nil || !strings.Contains(err.Error(), "x.example.org.") {
		t.Fatalf("SaveZone: %v, want an error about x.example.org.", err)
	}
	got, _, err := s.Load(origin, zone.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	sameZone(t, got, v1)
	if m, _ := filepath.Glob(filepath.Join(s.Dir(), ".*")); len(m) != 0 {
		t.Errorf("temp files left: %v", m)
	}
}

// TestConcurrent saves and loads several zones at once, for the race
// detector.
func TestConcurrent(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 4 {
		origin := fmt.Sprintf("z%d.example.", i%2)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for serial := uint32(1); serial <= 5; serial++ {
				z := bigZone(t, origin, serial, 200)
				if err := s.SaveZone(z); err != nil {
					t.Error(err)
					return
				}
				if err := s.SaveState(State{Zone: origin, Serial: serial}); err != nil {
					t.Error(err)
					return
				}
				if _, _, err := s.Load(origin, zone.Limits{}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}
