package store

import (
	"bytes"

	"github.com/miekg/dns"
	"os"
	"testing"
	"time"

	"github.com/cfsecondary/cfsecondary/zone"
)

// BenchmarkSaveLoad1M saves and loads a zone of 1,000,000 records and
// reports each step in seconds (save-s, load-s) and the file size.
func BenchmarkSaveLoad1M(b *testing.B) {
	const n = 1_000_000
	z := bigZone(b, "example.org.", 1, n)
	s, err := Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	var save, load time.Duration
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		if err := s.SaveZone(z); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		got, _, err := s.Load("example.org.", zone.DefaultLimits())
		if err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		if got.Len() != z.Len() {
			b.Fatalf("loaded %d records, saved %d", got.Len(), z.Len())
		}
		save += t1.Sub(t0)
		load += t2.Sub(t1)
	}
	b.StopTimer()
	fi, _ := os.Stat(s.ZonePath("example.org."))
	b.ReportMetric(save.Seconds()/float64(b.N), "save-s")
	b.ReportMetric(load.Seconds()/float64(b.N), "load-s")
	b.ReportMetric(float64(fi.Size())/(1<<20), "MiB")
	b.ReportMetric(float64(z.Len()), "records")
}

// BenchmarkLoadParts splits loading 1,000,000 records into its parts, to
// show where the time goes: dns.ZoneParser alone on one core, the same
// split over all cores as Load does it, and zone.Builder alone.
func BenchmarkLoadParts(b *testing.B) {
	const n = 1_000_000
	rrs := bigRRs("example.org.", 1, n)
	s, err := Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	if err := s.SaveZone(build(b, "example.org.", rrs)); err != nil {
		b.Fatal(err)
	}
	path := s.ZonePath("example.org.")
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("parser-1core", func(b *testing.B) {
		for range b.N {
			zp := dns.NewZoneParser(bytes.NewReader(data), "example.org.", path)
			c := 0
			for _, ok := zp.Next(); ok; _, ok = zp.Next() {
				c++
			}
			if zp.Err() != nil || c != len(rrs) {
				b.Fatal(zp.Err(), c)
			}
		}
	})
	b.Run("parser-parallel", func(b *testing.B) {
		for range b.N {
			c := 0
			_, err := parseBody(bytes.NewReader(data), "example.org.", path, func(dns.RR) error { c++; return nil })
			if err != nil || c != len(rrs) {
				b.Fatal(err, c)
			}
		}
	})
	b.Run("builder", func(b *testing.B) {
		for range b.N {
			bd := zone.NewBuilder("example.org.", zone.DefaultLimits())
			for _, rr := range rrs {
				if err := bd.Add(rr); err != nil {
					b.Fatal(err)
				}
			}
			if _, err := bd.Zone(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
