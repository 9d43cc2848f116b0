package main

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
)

// bigZone models the names cmd/zonegen writes, so the query mix asks for names that exist (or
// surely do not). It mirrors zonegen's loop: name i is
//
//	i%100 == 50: *.wI A and TXT (a wildcard)
//	i%100 == 99: dI NS ns.dI, ns2.dI, with glue (a delegation)
//	i%10 == 3:   hI CNAME h(I-1)
//	otherwise:   hI A; AAAA when i is even; MX and TXT when i%5 == 0
type bigZone struct {
	origin string // "big.test."
	names  int    // zonegen's i runs over [0, names)
}

func newBigZone(origin string, records int) bigZone {
	n, i := 7, 0
	for ; n < records; i++ {
		switch {
		case i%100 == 50:
			n += 2
		case i%100 == 99:
			n += 4
		case i%10 == 3:
			n++
		default:
			n++
			if i%2 == 0 {
				n++
			}
			if i%5 == 0 {
				n += 2
			}
		}
	}
	return bigZone{origin: origin, names: i}
}

func plainHost(i int) bool { return i%100 != 50 && i%100 != 99 && i%10 != 3 }

// pick draws an i in [0, names) for which ok holds.
func (z bigZone) pick(r *rand.Rand, ok func(int) bool) int {
	for {
		if i := r.IntN(z.names); ok(i) {
			return i
		}
	}
}

// The query mix of the 1M-record zone, in percent. Every server gets the same file.
var bigMix = []struct {
	what    string
	percent int
}{
	{"A (existing name)", 30},
	{"AAAA (existing)", 10},
	{"MX (existing)", 10},
	{"TXT (existing)", 10},
	{"CNAME (A query for a CNAME, chain followed)", 10},
	{"NXDOMAIN", 10},
	{"wildcard (A or TXT under *.wN)", 10},
	{"referral (A below a delegation dN)", 10},
}

// writeBigQueries writes n dnsperf queries ("name TYPE" lines) for the big zone, with a fixed
// seed: the same file for every server and every run.
func writeBigQueries(path string, z bigZone, n int) error {
	r := rand.New(rand.NewPCG(1, 2))
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	o := z.origin
	for range n {
		p := r.IntN(100)
		switch {
		case p < 30:
			fmt.Fprintf(w, "h%d.%s A\n", z.pick(r, plainHost), o)
		case p < 40:
			fmt.Fprintf(w, "h%d.%s AAAA\n", z.pick(r, func(i int) bool { return plainHost(i) && i%2 == 0 }), o)
		case p < 50:
			fmt.Fprintf(w, "h%d.%s MX\n", z.pick(r, func(i int) bool { return plainHost(i) && i%5 == 0 }), o)
		case p < 60:
			fmt.Fprintf(w, "h%d.%s TXT\n", z.pick(r, func(i int) bool { return plainHost(i) && i%5 == 0 }), o)
		case p < 70:
			fmt.Fprintf(w, "h%d.%s A\n", z.pick(r, func(i int) bool { return i%10 == 3 }), o)
		case p < 80:
			fmt.Fprintf(w, "x%d.%s A\n", r.IntN(10*z.names), o)
		case p < 90:
			qt := "A"
			if r.IntN(2) == 0 {
				qt = "TXT"
			}
			fmt.Fprintf(w, "q%d.w%d.%s %s\n", r.IntN(1_000_000), z.pick(r, func(i int) bool { return i%100 == 50 }), o, qt)
		default:
			fmt.Fprintf(w, "www.d%d.%s A\n", z.pick(r, func(i int) bool { return i%100 == 99 }), o)
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// updateCommands returns the nsupdate commands of the k-th change: the A records of 10 names
// replaced (10 deleted, 10 added), so the zone keeps its size and every change is a new one.
func (z bigZone) updateCommands(k int) []string {
	var cmds []string
	i := (k * 10 * 7) % z.names
	for j := 0; j < 10; i = (i + 7) % z.names {
		if !plainHost(i) {
			continue
		}
		name := fmt.Sprintf("h%d.%s", i, z.origin)
		cmds = append(cmds,
			"update delete "+name+" A",
			fmt.Sprintf("update add %s 3600 A 172.16.%d.%d", name, k%256, j+1))
		j++
	}
	return cmds
}

// smallZoneName is the name of the i-th small zone.
func smallZoneName(i int) string { return fmt.Sprintf("z%d.test.", i) }

// writeSmallZone writes the i-th small zone: SOA, 2 NS with their A, an A, an AAAA, a TXT and a
// wildcard A (9 records).
func writeSmallZone(dir string, i int) (string, error) {
	o := smallZoneName(i)
	text := fmt.Sprintf(`$ORIGIN %s
$TTL 3600
@ IN SOA ns1.%s hostmaster.%s 1 3600 600 1209600 300
@ IN NS ns1.%s
@ IN NS ns2.%s
ns1 IN A 192.0.2.1
ns2 IN A 192.0.2.2
www IN A 10.%d.%d.%d
www IN AAAA 2001:db8::%x
@ IN TXT "zone %d"
*.wild IN A 198.51.%d.%d
`, o, o, o, o, o, (i>>16)&255, (i>>8)&255, i&255, i&0xffff, i, (i>>8)&255, i&255)
	path := filepath.Join(dir, strings.TrimSuffix(o, ".")+".zone")
	return path, os.WriteFile(path, []byte(text), 0o644)
}

// The query mix over the small zones: a random zone for each query, then one of its names.
var manyMix = []struct {
	what    string
	percent int
}{
	{"www A", 30},
	{"www AAAA", 20},
	{"apex TXT", 15},
	{"wildcard A (*.wild)", 20},
	{"ns1 A", 15},
}

func writeManyQueries(path string, zones, n int) error {
	r := rand.New(rand.NewPCG(3, 4))
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	for range n {
		o := smallZoneName(r.IntN(zones))
		switch p := r.IntN(100); {
		case p < 30:
			fmt.Fprintf(w, "www.%s A\n", o)
		case p < 50:
			fmt.Fprintf(w, "www.%s AAAA\n", o)
		case p < 65:
			fmt.Fprintf(w, "%s TXT\n", o)
		case p < 85:
			fmt.Fprintf(w, "q%d.wild.%s A\n", r.IntN(1_000_000), o)
		default:
			fmt.Fprintf(w, "ns1.%s A\n", o)
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
