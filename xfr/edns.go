package xfr

import (
	"errors"

	"github.com/miekg/dns"
)

// EDNSBufSize is the UDP payload size our requests advertise: the DNS Flag
// Day 2020 value, which avoids fragmentation.
const EDNSBufSize = 1232

// newOPT returns the OPT record of our requests: no DO bit, and an empty
// EXPIRE option asking the primary how long its copy stays valid (RFC 7314
// §2). Signed requests carry it before the TSIG RR, as RFC 8945 wants.
func newOPT() *dns.OPT {
	o := &dns.OPT{Hdr: dns.RR_Header{Name: ".", Rrtype: dns.TypeOPT}}
	o.SetUDPSize(EDNSBufSize)
	o.Option = []dns.EDNS0{&dns.EDNS0_EXPIRE{Code: dns.EDNS0EXPIRE, Empty: true}}
	return o
}

// expireOf returns the EXPIRE option of m in seconds, or -1 when m has
// none (or an empty one, which only a query should carry).
func expireOf(m *dns.Msg) int64 {
	o := m.IsEdns0()
	if o == nil {
		return -1
	}
	for _, e := range o.Option {
		if x, ok := e.(*dns.EDNS0_EXPIRE); ok && !x.Empty {
			return int64(x.Expire)
		}
	}
	return -1
}

// ednsRetry runs do with EDNS unless opt.NoEDNS, and once more without
// when the answer was FORMERR or NOTIMP without an OPT record: the mark of
// a server that does not understand EDNS (RFC 6891 §7). Nothing is
// remembered; a caller that meets such a primary often sets NoEDNS.
func ednsRetry(opt Options, do func(edns bool) error) error {
	if opt.NoEDNS {
		return do(false)
	}
	err := do(true)
	var re *RcodeError
	if errors.As(err, &re) && re.Msg == 1 && !re.edns &&
		(re.Rcode == dns.RcodeFormatError || re.Rcode == dns.RcodeNotImplemented) {
		return do(false)
	}
	return err
}
