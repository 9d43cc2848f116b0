// Command zonegen writes a synthetic zone in RFC 1035 master format for load tests and
// benchmarks: about N records of mixed types (A, AAAA, MX, TXT, CNAME), with wildcards and
// delegations with glue, the same for the same arguments.
//
//	zonegen -origin example.com. -records 1000000 -serial 1 > example.com.zone
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
)

func main() {
	origin := flag.String("origin", "example.com.", "zone name, fully qualified")
	records := flag.Int("records", 1000, "number of records, approximately (at least 10)")
	serial := flag.Uint("serial", 1, "SOA serial")
	flag.Parse()

	w := bufio.NewWriterSize(os.Stdout, 1<<20)
	defer w.Flush()
	o := *origin
	fmt.Fprintf(w, "$ORIGIN %s\n$TTL 3600\n", o)
	fmt.Fprintf(w, "@ IN SOA ns1.%s hostmaster.%s %d 3600 600 1209600 300\n", o, o, *serial)
	fmt.Fprintf(w, "@ IN NS ns1.%s\n@ IN NS ns2.%s\n", o, o)
	fmt.Fprintf(w, "ns1 IN A 192.0.2.1\nns2 IN A 192.0.2.2\n@ IN A 192.0.2.10\n")
	n := 7
	// Each group of 10 names carries 16 records: most names have an A, some an AAAA, MX, TXT;
	// one in ten is a CNAME, one in a hundred a wildcard, one in a hundred a delegation with glue.
	for i := 0; n < *records; i++ {
		name := fmt.Sprintf("h%d", i)
		switch {
		case i%100 == 50:
			fmt.Fprintf(w, "*.w%d IN A 198.51.%d.%d\n", i, (i/256)%256, i%256)
			fmt.Fprintf(w, "*.w%d IN TXT \"wildcard %d\"\n", i, i)
			n += 2
		case i%100 == 99:
			fmt.Fprintf(w, "d%d IN NS ns.d%d\nd%d IN NS ns2.d%d\nns.d%d IN A 203.0.%d.%d\nns2.d%d IN AAAA 2001:db8:d::%x\n", i, i, i, i, i, (i/256)%256, i%256, i, i%65536)
			n += 4
		case i%10 == 3:
			fmt.Fprintf(w, "%s IN CNAME h%d\n", name, i-1)
			n++
		default:
			fmt.Fprintf(w, "%s IN A 10.%d.%d.%d\n", name, (i>>16)&255, (i>>8)&255, i&255)
			n++
			if i%2 == 0 {
				fmt.Fprintf(w, "%s IN AAAA 2001:db8:%x:%x::1\n", name, (i>>16)&0xffff, i&0xffff)
				n++
			}
			if i%5 == 0 {
				fmt.Fprintf(w, "%s IN MX 10 mail.%s\n%s IN TXT \"v=spf1 -all id=%d\"\n", name, o, name, i)
				n += 2
			}
		}
	}
}
