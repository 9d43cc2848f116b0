// Package testutil holds checks shared by the project's tests.
package testutil

import (
	"fmt"
	"slices"
	"strings"

	"github.com/coredns/coredns/plugin/test"

	"github.com/miekg/dns"
)

// CheckResponse is test.SortAndCheck without the sorting: the rcode and flags the case names,
// and sections holding the wanted RRsets in the wanted order (a CNAME chain is read in order),
// records within one RRset in any order. The OPT pseudo-record is not compared.
func CheckResponse(m *dns.Msg, tc test.Case) error {
	if m.Rcode != tc.Rcode {
		return fmt.Errorf("rcode is %s, want %s", dns.RcodeToString[m.Rcode], dns.RcodeToString[tc.Rcode])
	}
	if m.Authoritative != tc.Authoritative {
		return fmt.Errorf("aa flag is %t, want %t", m.Authoritative, tc.Authoritative)
	}
	if m.AuthenticatedData != tc.AuthenticatedData {
		return fmt.Errorf("ad flag is %t, want %t", m.AuthenticatedData, tc.AuthenticatedData)
	}
	for _, sec := range []struct {
		name      string
		got, want []dns.RR
	}{{"answer", m.Answer, tc.Answer}, {"authority", m.Ns, tc.Ns}, {"additional", m.Extra, tc.Extra}} {
		got, want := rrsetOrder(sec.got), rrsetOrder(sec.want)
		if !slices.Equal(got, want) {
			return fmt.Errorf("%s section:\n got  %q\n want %q", sec.name, got, want)
		}
	}
	return nil
}

// rrsetOrder renders records as text, sorted within each run of one owner and type.
func rrsetOrder(rrs []dns.RR) []string {
	var kept []dns.RR
	for _, rr := range rrs {
		if rr.Header().Rrtype != dns.TypeOPT {
			kept = append(kept, rr)
		}
	}
	out := make([]string, len(kept))
	for i, rr := range kept {
		out[i] = rr.String()
	}
	for i := 0; i < len(kept); {
		j := i + 1
		for j < len(kept) && strings.EqualFold(kept[j].Header().Name, kept[i].Header().Name) && kept[j].Header().Rrtype == kept[i].Header().Rrtype {
			j++
		}
		slices.Sort(out[i:j])
		i = j
	}
	return out
}
