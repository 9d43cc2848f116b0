package engine

import (
	"testing"
	"time"

	"github.com/cfsecondary/cfsecondary/internal/fakeprimary"
	"github.com/cfsecondary/cfsecondary/xfr"

	"github.com/miekg/dns"
)

func TestIntervalsFor(t *testing.T) {
	soa := func(refresh, retry, expire uint32) *dns.SOA {
		return &dns.SOA{Refresh: refresh, Retry: retry, Expire: expire}
	}
	tests := []struct {
		name    string
		soa     *dns.SOA
		refresh time.Duration
		want    intervals
	}{
		{"as the SOA says", soa(3600, 600, 1209600), 0, intervals{time.Hour, 10 * time.Minute, 1209600 * time.Second}},
		{"refresh and retry below BIND's minimums", soa(60, 10, 1209600), 0, intervals{300 * time.Second, 500 * time.Second, 1209600 * time.Second}},
		{"refresh above the maximum; expire raised to refresh plus retry", soa(100000000, 600, 1209600), 0, intervals{4 * 7 * 24 * time.Hour, 10 * time.Minute, 4*7*24*time.Hour + 10*time.Minute}},
		{"expire below refresh plus retry", soa(3600, 600, 60), 0, intervals{time.Hour, 10 * time.Minute, time.Hour + 10*time.Minute}},
		{"expire above 24 weeks", soa(3600, 600, 1<<31), 0, intervals{time.Hour, 10 * time.Minute, 24 * 7 * 24 * time.Hour}},
		{"configured refresh wins, unclamped", soa(3600, 600, 1209600), 30 * time.Second, intervals{30 * time.Second, 10 * time.Minute, 1209600 * time.Second}},
		{"zero everywhere stays above the floor", soa(0, 0, 0), 0, intervals{300 * time.Second, 500 * time.Second, 800 * time.Second}},
	}
	for _, tc := range tests {
		if got := intervalsFor(tc.soa, tc.refresh, DefaultTimers()); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func TestJitterNeverLate(t *testing.T) {
	for range 1000 {
		d := jitter(time.Hour)
		if d > time.Hour || d < 54*time.Minute {
			t.Fatalf("jitter(1h) = %s, want within [54m, 1h]", d)
		}
	}
	if jitter(5*time.Second) != 5*time.Second {
		t.Error("short timers must not be jittered")
	}
}

// TestEDNSExpire follows RFC 7314 §4: after a transfer the option replaces the SOA EXPIRE; after
// an up-to-date check the timer becomes max(option, time left); the SOA EXPIRE caps both.
func TestEDNSExpire(t *testing.T) {
	const origin = "expire.test."
	primary := fakeprimary.Start(t, origin, fakeprimary.Zone(origin, 1, 3), fakeprimary.WithMode(fakeprimary.Mode{Expire: 5000}))
	e := New(0)
	z := e.Add(origin, Settings{Peers: []Peer{{Addr: primary.Addr}}, Refresh: time.Hour, Timers: DefaultTimers(), Limits: DefaultTestLimits, Xfr: xfr.Options{}}, nil)
	e.Start()
	t.Cleanup(e.Stop)
	waitFor(t, "the zone", func() bool { return z.Data() != nil })
	left := func() time.Duration { d, _ := z.ExpiresIn(time.Now()); return d }
	near := func(what string, d, want time.Duration) {
		t.Helper()
		if d > want || d < want-5*time.Second {
			t.Errorf("%s: expires in %s, want about %s", what, d, want)
		}
	}
	near("after the transfer, the option (5000 s) replaces the SOA EXPIRE (604800 s)", left(), 5000*time.Second)

	check := func(expire int64) {
		t.Helper()
		queries := primary.SOAQueries()
		primary.SetMode(fakeprimary.Mode{Expire: expire})
		e.Check(z)
		waitFor(t, "the check", func() bool { return primary.SOAQueries() > queries && z.LastError() == "" })
		time.Sleep(20 * time.Millisecond)
	}
	check(1000)
	near("an up-to-date check with a smaller option keeps the time left", left(), 5000*time.Second)
	check(9000)
	near("a larger option extends it", left(), 9000*time.Second)
	check(10000000)
	near("the SOA EXPIRE caps it", left(), 604800*time.Second)
	check(0) // no option: the SOA EXPIRE
	near("without the option, the SOA EXPIRE", left(), 604800*time.Second)
}
