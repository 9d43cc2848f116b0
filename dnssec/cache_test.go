package dnssec

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"
	"weak"

	"github.com/cfsecondary/cfsecondary/zone"

	"github.com/miekg/dns"
)

// TestHashRRset: the cache key ignores the owner's case and the order of
// the RRs, and changes with the TTL, the data and the owner.
func TestHashRRset(t *testing.T) {
	rr := func(s string) dns.RR {
		r, err := dns.NewRR(s)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	a := []dns.RR{rr("www.example.com. 300 IN A 192.0.2.1"), rr("www.example.com. 300 IN A 192.0.2.2")}
	base0, base1, ok := hashRRset("www.example.com.", a)
	if !ok {
		t.Fatal("cannot hash")
	}
	same := [][]dns.RR{
		{rr("WWW.Example.com. 300 IN A 192.0.2.1"), rr("WWW.Example.com. 300 IN A 192.0.2.2")},
		{a[1], a[0]},
	}
	for _, set := range same {
		if h0, h1, _ := hashRRset(set[0].Header().Name, set); h0 != base0 || h1 != base1 {
			t.Errorf("%v hashes differently", set)
		}
	}
	differ := [][]dns.RR{
		{rr("www.example.com. 301 IN A 192.0.2.1"), rr("www.example.com. 301 IN A 192.0.2.2")},
		{rr("www.example.com. 300 IN A 192.0.2.1"), rr("www.example.com. 300 IN A 192.0.2.3")},
		{rr("www.example.com. 300 IN A 192.0.2.1")},
		{rr("w2.example.com. 300 IN A 192.0.2.1"), rr("w2.example.com. 300 IN A 192.0.2.2")},
	}
	for _, set := range differ {
		if h0, h1, _ := hashRRset(set[0].Header().Name, set); h0 == base0 || h1 == base1 {
			t.Errorf("%v hashes the same", set)
		}
	}
	if h0, _, _ := hashRRset("*.example.com.", a); h0 == base0 {
		t.Errorf("signed as another owner, same hash")
	}
}

// TestCacheBounded: the cache holds at most its size, evicting the
// signatures not used lately; answers stay right.
func TestCacheBounded(t *testing.T) {
	z := buildZone(t, testOrigin, testZone)
	s := newTestSigner(t, testKeys(t, testOrigin, dns.ED25519), Options{CacheSize: 512})
	for i := range 5000 {
		s.Answer(z, zone.Request{Name: fmt.Sprintf("n%d.example.com.", i), Type: dns.TypeA, DO: true})
	}
	st := s.Stats()
	if st.Entries > 512 {
		t.Fatalf("%d entries in a cache of 512", st.Entries)
	}
	if st.Signed < 5000 || st.Misses < 5000 {
		t.Errorf("stats %+v", st)
	}
	v := &validator{t: t, anchors: s.DS(), now: time.Now()}
	v.trust(s.Answer(z, zone.Request{Name: testOrigin, Type: dns.TypeDNSKEY, DO: true}).Answer)
	for _, q := range queryTable {
		checkCase(t, v, s, q, DenialCompact, s.Answer(z, zone.Request{Name: q.name, Type: q.qtype, DO: true}))
	}
}

// TestConcurrent answers from many goroutines while new versions of the
// zone are swapped in, for the race detector; the same RRset asked at once
// is signed once.
func TestConcurrent(t *testing.T) {
	for _, denial := range []Denial{DenialCompact, DenialNSEC3} {
		t.Run(denial.String(), func(t *testing.T) {
			z := buildZone(t, testOrigin, testZone)
			s := newTestSigner(t, testKeys(t, testOrigin, dns.ECDSAP256SHA256), Options{Denial: denial})
			var cur sync.Mutex
			versions := []*zone.Zone{z}
			get := func() *zone.Zone {
				cur.Lock()
				defer cur.Unlock()
				return versions[len(versions)-1]
			}
			var wg sync.WaitGroup
			stop := make(chan struct{})
			wg.Add(1)
			go func() { // IXFRs: the serial goes up, a TXT record is added
				defer wg.Done()
				for i := range 20 {
					old := get()
					soa := dns.Copy(old.SOA()).(*dns.SOA)
					soa.Serial++
					txt, _ := dns.NewRR(fmt.Sprintf("t%d.example.com. 300 IN TXT \"v%d\"", i, i))
					nz, err := old.Apply([]dns.RR{old.SOA()}, []dns.RR{soa, txt})
					if err != nil {
						t.Error(err)
						return
					}
					s.Prepare(nz)
					cur.Lock()
					versions = append(versions, nz)
					cur.Unlock()
					time.Sleep(time.Millisecond)
				}
				close(stop)
			}()
			for g := range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					r := rand.New(rand.NewPCG(uint64(g), 1))
					for {
						select {
						case <-stop:
							return
						default:
						}
						q := queryTable[r.IntN(len(queryTable))]
						res := s.Answer(get(), zone.Request{Name: q.name, Type: q.qtype, DO: true, TCP: r.IntN(2) == 0})
						if len(res.Answer)+len(res.Ns) == 0 {
							t.Errorf("%s: empty answer", q.name)
							return
						}
					}
				}()
			}
			wg.Wait()
		})
	}
}

// TestSingleSignature: many queries missing on the same new RRset at once
// make one signature.
func TestSingleSignature(t *testing.T) {
	z := buildZone(t, testOrigin, testZone)
	s := newTestSigner(t, testKeys(t, testOrigin, dns.ECDSAP256SHA256), Options{})
	before := s.Stats().Signed
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			s.Answer(z, zone.Request{Name: "txt.example.com.", Type: dns.TypeTXT, DO: true})
		}()
	}
	close(start)
	wg.Wait()
	if n := s.Stats().Signed - before; n != 1 {
		t.Errorf("%d signatures made for one RRset", n)
	}
}

// TestVersionsNotKeptAlive: the Signer does not keep a replaced version of
// the zone alive (the engine hands the memory of big versions back), and
// forgets what it derived from it once it is gone.
func TestVersionsNotKeptAlive(t *testing.T) {
	s := newTestSigner(t, testKeys(t, testOrigin, dns.ECDSAP256SHA256), Options{Denial: DenialNSEC3})
	z1 := buildZone(t, testOrigin, testZone)
	s.Answer(z1, zone.Request{Name: "nope.example.com.", Type: dns.TypeA, DO: true})
	soa := dns.Copy(z1.SOA()).(*dns.SOA)
	soa.Serial++
	z2, err := z1.Apply([]dns.RR{z1.SOA()}, []dns.RR{soa})
	if err != nil {
		t.Fatal(err)
	}
	s.Answer(z2, zone.Request{Name: "nope.example.com.", Type: dns.TypeA, DO: true})
	if s.prev.Load() == nil || s.cur.Load() == nil {
		t.Fatal("versions not kept while their zones live")
	}
	old := weak.Make(z1)
	z1 = nil
	for i := 0; i < 100 && (old.Value() != nil || s.prev.Load() != nil); i++ {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if old.Value() != nil {
		t.Fatal("the replaced zone is still alive")
	}
	if s.prev.Load() != nil {
		t.Error("the replaced version is still kept")
	}
	if v := s.cur.Load(); v == nil || v.zone.Value() != z2 {
		t.Error("the current version was dropped")
	}
	runtime.KeepAlive(z2)
}
