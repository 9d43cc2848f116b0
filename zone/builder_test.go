package zone

import (
	"errors"
	"strings"
	"testing"
	"unsafe"

	"github.com/miekg/dns"
)

const soaLine = "@ 3600 IN SOA ns1 hostmaster 1 7200 3600 1209600 300\n"

// buildErr builds text with lim and returns the first error, from Add or
// from Zone.
func buildErr(t *testing.T, lim Limits, text string) error {
	t.Helper()
	b := NewBuilder(testOrigin, lim)
	for _, rr := range parse(t, testOrigin, text) {
		if err := b.Add(rr); err != nil {
			return err
		}
	}
	_, err := b.Zone()
	return err
}

func TestBuilderErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		lim   Limits
		text  string
		is    error
		match string // the message must contain this
	}{
		{
			name: "no SOA", text: "@ IN NS ns1\nns1 IN A 192.0.2.1\n",
			is: ErrInvalid, match: "example.org.: no SOA record at the apex",
		},
		{
			name: "empty", text: "",
			is: ErrInvalid, match: "no SOA record at the apex",
		},
		{
			name: "two SOAs", text: soaLine + "@ IN SOA ns2 hostmaster 2 7200 3600 1209600 300\n",
			is: ErrInvalid, match: "example.org.: 2 SOA records at the apex",
		},
		{
			name: "SOA below apex", text: soaLine + "www IN SOA ns1 hostmaster 1 7200 3600 1209600 300\n",
			is: ErrInvalid, match: "www.example.org.: SOA record below the apex",
		},
		{
			name: "CNAME and A", text: soaLine + "www IN CNAME x\nwww IN A 192.0.2.1\nwww IN TXT x\n",
			is: ErrInvalid, match: "www.example.org.: CNAME and other data (A, TXT)",
		},
		{
			name: "CNAME at apex", text: soaLine + "@ IN CNAME x\n",
			is: ErrInvalid, match: "CNAME and other data (SOA)",
		},
		{
			name: "two CNAMEs", text: soaLine + "www IN CNAME x\nwww IN CNAME y\n",
			is: ErrInvalid, match: "www.example.org.: 2 CNAME records",
		},
		{
			name: "two DNAMEs", text: soaLine + "dn IN DNAME x\ndn IN DNAME y\n",
			is: ErrInvalid, match: "dn.example.org.: 2 DNAME records",
		},
		{
			name: "class", text: soaLine + "www CH TXT x\n",
			is: ErrInvalid, match: "www.example.org. TXT: class CH, only IN is supported",
		},
		{
			name: "records", lim: Limits{Records: 3}, text: soaLine + "a IN A 192.0.2.1\nb IN A 192.0.2.1\nc IN A 192.0.2.1\n",
			is: ErrLimit, match: "example.org.: 4 records, more than 3 (max-records)",
		},
		{
			name: "records per type", lim: Limits{RecordsPerType: 2}, text: soaLine + "a IN A 192.0.2.1\na IN A 192.0.2.2\na IN AAAA ::1\na IN A 192.0.2.3\n",
			is: ErrLimit, match: "a.example.org. A: more than 2 records (max-records-per-type)",
		},
		{
			name: "RRSIGs per type", lim: Limits{RecordsPerType: 1}, text: soaLine +
				"a IN RRSIG A 13 3 3600 20300101000000 20200101000000 1 example.org. AAAA\n" +
				"a IN RRSIG A 13 3 3600 20300101000000 20200101000000 2 example.org. AAAA\n",
			is: ErrLimit, match: "a.example.org. RRSIG covering A: more than 1 records",
		},
		{
			name: "types per name", lim: Limits{TypesPerName: 2}, text: soaLine + "a IN A 192.0.2.1\na IN TXT x\na IN AAAA ::1\n",
			is: ErrLimit, match: "a.example.org.: adding AAAA makes more than 2 types (max-types-per-name)",
		},
		{
			name: "types per name, RRSIG", lim: Limits{TypesPerName: 2}, text: soaLine +
				"a IN A 192.0.2.1\na IN TXT x\n" +
				"a IN RRSIG A 13 3 3600 20300101000000 20200101000000 1 example.org. AAAA\n",
			is: ErrLimit, match: "adding RRSIG makes more than 2 types",
		},
		{
			name: "bytes", lim: Limits{Bytes: 100}, text: soaLine + "a IN A 192.0.2.1\nb IN A 192.0.2.1\n",
			is: ErrLimit, match: "bytes of records, more than 100 (zone-max-size)",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := buildErr(t, tc.lim, tc.text)
			if !errors.Is(err, tc.is) {
				t.Fatalf("got error %v, want one wrapping %v", err, tc.is)
			}
			if !strings.Contains(err.Error(), tc.match) {
				t.Errorf("error %q does not say %q", err, tc.match)
			}
		})
	}
}

func TestBuilderAllowed(t *testing.T) {
	for _, tc := range []struct {
		name string
		lim  Limits
		text string
	}{
		{"CNAME with DNSSEC", DefaultLimits(), soaLine +
			"www IN CNAME x\n" +
			"www IN RRSIG CNAME 13 3 3600 20300101000000 20200101000000 1 example.org. AAAA\n" +
			"www IN NSEC z.example.org. CNAME RRSIG NSEC\n"},
		{"DNAME with other data", DefaultLimits(), soaLine + "dn IN DNAME x\ndn IN A 192.0.2.1\n"},
		{"at the limits", Limits{Records: 4, RecordsPerType: 2, TypesPerName: 2}, soaLine +
			"a IN A 192.0.2.1\na IN A 192.0.2.2\n" +
			"a IN RRSIG A 13 3 3600 20300101000000 20200101000000 1 example.org. AAAA\n"},
		{"unlimited", Limits{}, soaLine + strings.Repeat("a IN TXT x\na IN TXT y\n", 200)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := buildErr(t, tc.lim, tc.text); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestBuilderOutOfZone(t *testing.T) {
	b := NewBuilder("Example.ORG.", DefaultLimits())
	for _, rr := range parse(t, testOrigin, soaLine+"www IN A 192.0.2.1\n") {
		if err := b.Add(rr); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"example.com.", "org.", "xexample.org.", "."} {
		err := b.Add(&dns.A{Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeA, Class: dns.ClassINET}})
		if !errors.Is(err, ErrOutOfZone) {
			t.Errorf("Add(%s): got %v, want ErrOutOfZone", name, err)
		}
	}
	z, err := b.Zone() // out-of-zone RRs are skipped, not fatal
	if err != nil {
		t.Fatal(err)
	}
	if z.Len() != 2 || z.Origin() != "example.org." {
		t.Errorf("Len %d, Origin %q; want 2, example.org.", z.Len(), z.Origin())
	}
}

func TestBuilderSticky(t *testing.T) {
	b := NewBuilder(testOrigin, Limits{Records: 1})
	rrs := parse(t, testOrigin, soaLine+"a IN A 192.0.2.1\n")
	if err := b.Add(rrs[0]); err != nil {
		t.Fatal(err)
	}
	if err := b.Add(rrs[1]); !errors.Is(err, ErrLimit) {
		t.Fatalf("got %v, want ErrLimit", err)
	}
	if _, err := b.Zone(); !errors.Is(err, ErrLimit) {
		t.Errorf("Zone after a failed Add: got %v, want ErrLimit", err)
	}

	b = NewBuilder(testOrigin, Limits{})
	b.Add(rrs[0])
	if _, err := b.Zone(); err != nil {
		t.Fatal(err)
	}
	if err := b.Add(rrs[1]); err == nil {
		t.Error("Add after Zone succeeded")
	}
	if _, err := b.Zone(); err == nil {
		t.Error("second Zone succeeded")
	}

	if _, err := NewBuilder("a..b.", Limits{}).Zone(); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad origin: got %v, want ErrInvalid", err)
	}
}

func TestBuilderDuplicates(t *testing.T) {
	z := build(t, testOrigin, soaLine+`
www 300 IN A 192.0.2.1
www 300 IN A 192.0.2.1
WWW 600 IN A 192.0.2.1
www 300 IN A 192.0.2.2
@ 3600 IN SOA ns1 hostmaster 1 7200 3600 1209600 300
`)
	if z.Len() != 3 {
		t.Errorf("Len = %d, want 3 (SOA and two A)", z.Len())
	}
}

func TestBuilderTTL(t *testing.T) {
	z := build(t, testOrigin, soaLine+`
up 300 IN A 192.0.2.1
up 100 IN A 192.0.2.2
up 200 IN A 192.0.2.3
down 100 IN A 192.0.2.1
down 300 IN A 192.0.2.2
dup 300 IN A 192.0.2.1
dup 100 IN A 192.0.2.1
other 500 IN TXT x
other 400 IN A 192.0.2.1
`)
	// dup: a duplicate with a lower TTL lowers it, though it is dropped.
	for name, want := range map[string]uint32{"up": 100, "down": 100, "dup": 100} {
		res := z.Lookup(Request{Name: name + ".example.org.", Type: dns.TypeA})
		if len(res.Answer) == 0 {
			t.Fatalf("%s: no answer", name)
		}
		for _, rr := range res.Answer {
			if rr.Header().Ttl != want {
				t.Errorf("%s: TTL %d, want %d", rr.Header().Name, rr.Header().Ttl, want)
			}
		}
	}
	// Only the RRset is normalised, not the name.
	res := z.Lookup(Request{Name: "other.example.org.", Type: dns.TypeTXT})
	if ttl := res.Answer[0].Header().Ttl; ttl != 500 {
		t.Errorf("TXT TTL %d, want 500", ttl)
	}
}

// TestBuilderSharedOwner checks that all RRs of a name share one string.
func TestBuilderSharedOwner(t *testing.T) {
	z := build(t, testOrigin, soaLine+"www IN A 192.0.2.1\nWWW IN A 192.0.2.2\nwww IN TXT x\n")
	z.Walk(func(rrs []dns.RR) bool {
		p := unsafe.StringData(rrs[0].Header().Name)
		for _, rr := range rrs[1:] {
			if unsafe.StringData(rr.Header().Name) != p {
				t.Errorf("%s: owner not shared with %s", rr, rrs[0])
			}
		}
		return true
	})
}

func TestZoneAccessors(t *testing.T) {
	z := testZone(t)
	if z.Origin() != "example.org." || z.Serial() != 2024010101 || z.SOA().Ns != "ns1.example.org." {
		t.Errorf("Origin %q, Serial %d, SOA %s", z.Origin(), z.Serial(), z.SOA())
	}
	n, size := 0, int64(0)
	z.Walk(func(rrs []dns.RR) bool {
		n += len(rrs)
		for _, rr := range rrs {
			size += int64(dns.Len(rr))
		}
		return true
	})
	if z.Len() != n || z.Bytes() != size {
		t.Errorf("Len %d, Bytes %d; Walk saw %d RRs, %d bytes", z.Len(), z.Bytes(), n, size)
	}
}
