package cfsecondary

import (
	"sync"

	"github.com/cfsecondary/cfsecondary/zone"

	"github.com/coredns/coredns/request"

	"github.com/miekg/dns"
)

// writeWire answers r with a response written straight from the zone's packed records
// (zone.AppendResponse), skipping dns.Msg and its packing, which is most of the cost of a query.
// It reports false, having written nothing, when the answer has to take the dns.Msg path:
//
//   - a plugin before this one wraps the response writer (log, cache, dnstap, prometheus and
//     the like): it wants to see a dns.Msg, so only the server's own writer will do;
//   - the query is TSIG-signed (the server signs replies in WriteMsg), or asks for EDNS EXPIRE
//     or an EDNS version other than 0;
//   - the zone cannot write the answer itself (see zone.AppendResponse), or it is NXDOMAIN and
//     fallthrough applies to the name.
func writeWire(w dns.ResponseWriter, r *dns.Msg, opt *dns.OPT, req zone.Request, qname string, z *servedZone, data *zone.Zone) bool {
	if _, bare := w.(*request.ScrubWriter); !bare || r.IsTsig() != nil {
		return false
	}
	q := zone.WireQuery{
		ID: r.Id, RD: r.RecursionDesired, CD: r.CheckingDisabled,
		Name: req.Name, Type: req.Type, DO: req.DO, TCP: req.TCP,
	}
	if opt != nil {
		if opt.Version() != 0 || hasExpireOption(opt) {
			return false
		}
		q.EDNS, q.UDPSize = true, opt.UDPSize()
	}
	bp := wireBufs.Get().(*[]byte)
	msg, rcode, ok := data.AppendResponse((*bp)[:0], q)
	ok = ok && !(rcode == dns.RcodeNameError && z.fall.Through(qname))
	if ok {
		w.Write(msg)
	}
	*bp = msg[:0] // keep a buffer that grew
	wireBufs.Put(bp)
	return ok
}

// wireBufs hold response buffers: a UDP answer fits the first size, a bigger one grows its own.
var wireBufs = sync.Pool{New: func() any {
	b := make([]byte, 0, 1232)
	return &b
}}
