package dnssec

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cfsecondary/cfsecondary/zone"

	"github.com/miekg/dns"
)

// signedFixture reads a zone signed by BIND's dnssec-signzone (zone/testdata/signed), after
// edit has had its way with the records, and returns it with a time inside its signatures'
// validity, so the test does not depend on the day it runs.
func signedFixture(t *testing.T, file string, edit func([]dns.RR) []dns.RR) (z *zone.Zone, now, expires time.Time) {
	t.Helper()
	f, err := os.Open("../zone/testdata/signed/" + file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rrs []dns.RR
	zp := dns.NewZoneParser(f, "dnssec.test.", "")
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		rrs = append(rrs, rr)
		if sig, ok := rr.(*dns.RRSIG); ok && now.IsZero() {
			now = time.Unix(int64(sig.Inception), 0).Add(time.Hour)
			expires = time.Unix(int64(sig.Expiration), 0)
		}
	}
	if err := zp.Err(); err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		rrs = edit(rrs)
	}
	b := zone.NewBuilder("dnssec.test.", zone.Limits{})
	for _, rr := range rrs {
		if err := b.Add(rr); err != nil {
			t.Fatal(err)
		}
	}
	z, err = b.Zone()
	if err != nil {
		t.Fatal(err)
	}
	return z, now, expires
}

// without drops the records for which drop is true.
func without(drop func(dns.RR) bool) func([]dns.RR) []dns.RR {
	return func(rrs []dns.RR) []dns.RR {
		var out []dns.RR
		for _, rr := range rrs {
			if !drop(rr) {
				out = append(out, rr)
			}
		}
		return out
	}
}

func TestValidate(t *testing.T) {
	corruptFirst := func(typ uint16) func([]dns.RR) []dns.RR {
		return func(rrs []dns.RR) []dns.RR {
			for _, rr := range rrs {
				if sig, ok := rr.(*dns.RRSIG); ok && sig.TypeCovered == typ && sig.Hdr.Name == "www.dnssec.test." {
					b := []byte(sig.Signature)
					b[5] ^= 'A' ^ 'B'
					sig.Signature = string(b)
					return rrs
				}
			}
			t.Fatalf("no RRSIG over %s at www", dns.TypeToString[typ])
			return rrs
		}
	}
	tests := []struct {
		name    string
		file    string
		edit    func([]dns.RR) []dns.RR
		margin  time.Duration
		names   []string
		late    bool // an hour before the signatures expire
		wantErr string
	}{
		{name: "NSEC zone as signed", file: "nsec.zone"},
		{name: "NSEC3 zone as signed", file: "nsec3.zone"},
		{name: "NSEC3 opt-out zone as signed", file: "nsec3-optout.zone"},
		{name: "a bad signature", file: "nsec.zone", edit: corruptFirst(dns.TypeA), wantErr: "www.dnssec.test. A"},
		{name: "a bad signature outside the names checked", file: "nsec.zone", edit: corruptFirst(dns.TypeA), names: []string{"dnssec.test."}},
		{name: "a bad signature among the names checked", file: "nsec.zone", edit: corruptFirst(dns.TypeA), names: []string{"WWW.dnssec.test."}, wantErr: "www.dnssec.test. A"},
		{name: "an unsigned RRset", file: "nsec.zone", edit: without(func(rr dns.RR) bool {
			sig, ok := rr.(*dns.RRSIG)
			return ok && sig.TypeCovered == dns.TypeMX
		}), wantErr: "MX: not signed"},
		{name: "signatures about to expire", file: "nsec.zone", late: true, margin: 24 * time.Hour, wantErr: "expires at"},
		{name: "signatures valid for longer than the margin", file: "nsec.zone", late: true, margin: time.Minute},
		{name: "an NSEC missing", file: "nsec.zone", edit: without(func(rr dns.RR) bool {
			return rr.Header().Name == "www.dnssec.test." && (rr.Header().Rrtype == dns.TypeNSEC || (rr.Header().Rrtype == dns.TypeRRSIG && rr.(*dns.RRSIG).TypeCovered == dns.TypeNSEC))
		}), wantErr: "www.dnssec.test. has no NSEC"},
		{name: "an NSEC3 missing", file: "nsec3.zone", edit: func(rrs []dns.RR) []dns.RR {
			var victim string
			return without(func(rr dns.RR) bool {
				if rr.Header().Rrtype == dns.TypeNSEC3 && victim == "" {
					victim = rr.Header().Name
				}
				return victim != "" && rr.Header().Name == victim
			})(rrs)
		}, wantErr: "NSEC3 chain broken"},
		{name: "no DNSKEY", file: "nsec.zone", edit: without(func(rr dns.RR) bool { return rr.Header().Rrtype == dns.TypeDNSKEY }), wantErr: "no DNSKEY"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			z, now, expires := signedFixture(t, tc.file, tc.edit)
			if tc.late {
				now = expires.Add(-time.Hour)
			}
			err := Validate(z, tc.names, now, tc.margin)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("Validate: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.Is(err, ErrValidation)):
				t.Fatalf("Validate = %v, want an ErrValidation saying %q", err, tc.wantErr)
			}
		})
	}
}
