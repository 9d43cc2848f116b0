package cfsecondary

import (
	"context"
	"net"
	"net/netip"
	"strings"

	"github.com/cfsecondary/cfsecondary/zone"

	"github.com/coredns/coredns/plugin"

	"github.com/miekg/dns"
)

// ServeDNS implements plugin.Handler: queries for the zones are answered from the snapshot
// being served, NOTIFYs go to the engine, everything else goes to the next plugin.
func (s *Secondary) ServeDNS(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
	if len(r.Question) != 1 {
		return plugin.NextOrFailure(s.Name(), s.Next, ctx, w, r)
	}
	q := r.Question[0]
	qname := strings.ToLower(q.Name)
	z := s.zoneFor(qname)
	if z == nil || q.Qclass != dns.ClassINET {
		return plugin.NextOrFailure(s.Name(), s.Next, ctx, w, r)
	}

	switch r.Opcode {
	case dns.OpcodeQuery:
	case dns.OpcodeNotify:
		return s.notify(w, r, z)
	default:
		return dns.RcodeNotImplemented, nil
	}

	switch q.Qtype {
	case dns.TypeAXFR, dns.TypeIXFR:
		// The transfer plugin, when configured, answers these before we are reached.
		return dns.RcodeRefused, nil
	}

	data := z.Data()
	if data == nil {
		// Never an empty NOERROR before the first transfer: resolvers would cache it.
		return writeServfail(w, r, dns.ExtendedErrorCodeNotReady, "zone not yet transferred")
	}

	var do bool
	if opt := r.IsEdns0(); opt != nil {
		do = opt.Do()
	}
	res := data.Lookup(zone.Request{Name: q.Name, Type: q.Qtype, DO: do, TCP: isTCP(w)})
	if res.Rcode == dns.RcodeNameError && z.fall.Through(qname) {
		return plugin.NextOrFailure(s.Name(), s.Next, ctx, w, r)
	}

	m := new(dns.Msg)
	m.SetReply(r)
	m.Authoritative = res.Authoritative
	m.Rcode = res.Rcode
	m.Answer, m.Ns, m.Extra = res.Answer, res.Ns, res.Extra
	w.WriteMsg(m)
	return dns.RcodeSuccess, nil
}

// notify answers a NOTIFY (RFC 1996) and, when it comes from one of the zone's primaries, asks
// the engine for an SOA check. The check runs in the engine's goroutine, never in this one.
func (s *Secondary) notify(w dns.ResponseWriter, r *dns.Msg, z *servedZone) (int, error) {
	from := remoteAddr(w)
	if !z.IsPeer(from) {
		log.Warningf("zone %s: NOTIFY from %s refused: not a primary of the zone", z.Origin, from)
		return dns.RcodeRefused, nil // the server writes the REFUSED
	}
	m := new(dns.Msg)
	m.SetReply(r)
	m.Authoritative = true
	w.WriteMsg(m)
	log.Infof("zone %s: NOTIFY from %s", z.Origin, from)
	z.Check()
	return dns.RcodeSuccess, nil
}

// writeServfail answers SERVFAIL with an Extended DNS Error (RFC 8914) when the client speaks
// EDNS, so an operator's dig shows why.
func writeServfail(w dns.ResponseWriter, r *dns.Msg, ede uint16, text string) (int, error) {
	m := new(dns.Msg)
	m.SetRcode(r, dns.RcodeServerFailure)
	if opt := r.IsEdns0(); opt != nil {
		m.SetEdns0(opt.UDPSize(), opt.Do())
		m.IsEdns0().Option = append(m.IsEdns0().Option, &dns.EDNS0_EDE{InfoCode: ede, ExtraText: text})
	}
	w.WriteMsg(m)
	// Written here, so the server must not write another error: report success to the chain.
	return dns.RcodeSuccess, nil
}

func isTCP(w dns.ResponseWriter) bool {
	_, ok := w.RemoteAddr().(*net.TCPAddr)
	return ok
}

func remoteAddr(w dns.ResponseWriter) netip.Addr {
	switch a := w.RemoteAddr().(type) {
	case *net.UDPAddr:
		ip, _ := netip.AddrFromSlice(a.IP)
		return ip.Unmap()
	case *net.TCPAddr:
		ip, _ := netip.AddrFromSlice(a.IP)
		return ip.Unmap()
	}
	return netip.Addr{}
}
