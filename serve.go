package cfsecondary

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/cfsecondary/cfsecondary/zone"

	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/request"

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
	if z.Expired() {
		return writeServfail(w, r, dns.ExtendedErrorCodeInvalidData, "zone has expired")
	}

	opt := r.IsEdns0()
	do := opt != nil && opt.Do()
	req := zone.Request{Name: q.Name, Type: q.Qtype, DO: do, TCP: isTCP(w)}
	ov := z.overrides[qname]
	if ov == nil && z.signer == nil && writeWire(w, r, opt, req, qname, z, data) {
		return dns.RcodeSuccess, nil
	}
	return s.serveMsg(ctx, w, r, z, data, req, opt, qname, ov)
}

// serveMsg answers through a dns.Msg: overrides, online signing, fallthrough, and every answer
// writeWire leaves. It is a function of its own so that its locals do not weigh on the stack of
// the common path.
func (s *Secondary) serveMsg(ctx context.Context, w dns.ResponseWriter, r *dns.Msg, z *servedZone, data *zone.Zone, req zone.Request, opt *dns.OPT, qname string, ov *override) (int, error) {
	var res zone.Result
	overridden := false
	if ov != nil && z.mayOverride(data) {
		res, overridden = ov.answer(ctx, request.Request{W: w, Req: r}, data, req)
	}
	if !overridden {
		res = data.Lookup(req)
	}
	if res.Rcode == dns.RcodeNameError && z.fall.Through(qname) {
		return plugin.NextOrFailure(s.Name(), s.Next, ctx, w, r)
	}
	// Signed after fallthrough: compact denial turns NXDOMAIN into NOERROR.
	if z.signer != nil {
		res = z.signer.Sign(data, req, res)
	}

	m := new(dns.Msg)
	m.SetReply(r)
	m.Authoritative = res.Authoritative
	m.Rcode = res.Rcode
	m.Answer, m.Ns, m.Extra = res.Answer, res.Ns, res.Extra
	if opt != nil && hasExpireOption(opt) {
		m.Extra = append(m.Extra, expireOPT(opt, z))
	}
	w.WriteMsg(m)
	return dns.RcodeSuccess, nil
}

// mayOverride reports whether overrides apply to this version of the zone: not when it arrives
// signed and we do not sign it ourselves, since the primary's signatures would not cover them.
func (z *servedZone) mayOverride(data *zone.Zone) bool {
	if z.dnssec.Mode == "sign" || z.dnssec.Mode == "multi-signer" {
		return true
	}
	return !data.Signed()
}

func hasExpireOption(opt *dns.OPT) bool {
	for _, o := range opt.Option {
		if o.Option() == dns.EDNS0EXPIRE {
			return true
		}
	}
	return false
}

// expireOPT answers an EDNS EXPIRE query as a secondary must (RFC 7314 §3): with the time left
// on its expire timer, so a secondary of ours expires no later than we do.
func expireOPT(req *dns.OPT, z *servedZone) *dns.OPT {
	o := &dns.OPT{Hdr: dns.RR_Header{Name: ".", Rrtype: dns.TypeOPT}}
	o.SetUDPSize(req.UDPSize())
	o.SetDo(req.Do())
	if left, ok := z.ExpiresIn(time.Now()); ok {
		o.Option = append(o.Option, &dns.EDNS0_EXPIRE{Code: dns.EDNS0EXPIRE, Expire: uint32(left / time.Second)})
	}
	return o
}

// notify answers a NOTIFY (RFC 1996). One from a peer of the zone, or from an address the
// configuration allows, is answered with the same ID, opcode and AA, and makes the engine check
// the zone at once, in its own goroutine, never in this one. Anything else is refused (or
// dropped) and logged, and starts no work (§3.10).
func (s *Secondary) notify(w dns.ResponseWriter, r *dns.Msg, z *servedZone) (int, error) {
	from := remoteAddr(w)
	if t := r.IsTsig(); t != nil {
		if err := w.TsigStatus(); err != nil {
			log.Warningf("zone %s: NOTIFY from %s refused: TSIG %s: %v", z.Origin, from, t.Hdr.Name, err)
			notifyRefused(z.Origin, notifyTSIG) // metrics.go
			writeTsigError(w, r, t, err)
			return dns.RcodeSuccess, nil
		}
	}
	if reason := z.refuseNotify(r, from); reason != "" {
		log.Warningf("zone %s: NOTIFY from %s refused: %s", z.Origin, from, reason)
		notifyRefused(z.Origin, notifyPolicy) // metrics.go
		if z.notify.Drop {
			return dns.RcodeSuccess, nil // nothing written and nothing to write
		}
		return dns.RcodeRefused, nil // the server writes the REFUSED
	}
	if !z.limit.allow(time.Now()) {
		// Over the rate: no answer, so the primary sends it again later (RFC 1996 §3.6).
		log.Warningf("zone %s: NOTIFY from %s dropped: more than the NOTIFY rate", z.Origin, from)
		notifyRefused(z.Origin, notifyRate) // metrics.go
		return dns.RcodeSuccess, nil
	}
	notifyAccepted(z.Origin) // metrics.go
	m := new(dns.Msg)
	m.SetReply(r)
	m.Authoritative = true
	if t := r.IsTsig(); t != nil {
		m.SetTsig(t.Hdr.Name, t.Algorithm, 300, time.Now().Unix())
	}
	w.WriteMsg(m)

	var serial uint32
	var hasSerial bool
	if len(r.Answer) > 0 {
		if soa, ok := r.Answer[0].(*dns.SOA); ok {
			serial, hasSerial = soa.Serial, true // only a hint (§3.7): it never updates anything
		}
	}
	if s.engine.Notify(z.Zone, from, serial, hasSerial) {
		log.Infof("zone %s: NOTIFY from %s, checking the zone", z.Origin, from)
	} else {
		log.Debugf("zone %s: NOTIFY from %s for serial %d, which is served already", z.Origin, from, serial)
	}
	return dns.RcodeSuccess, nil
}

// refuseNotify says why a NOTIFY must be refused, or "" to accept it.
func (z *servedZone) refuseNotify(r *dns.Msg, from netip.Addr) string {
	if len(r.Question) != 1 || r.Question[0].Qtype != dns.TypeSOA {
		return "the question is not the zone's SOA"
	}
	keyName, isPeer := z.PeerKey(from)
	allowed := isPeer
	for _, p := range z.notify.From {
		allowed = allowed || p.Contains(from)
	}
	if !allowed {
		return "not a primary of the zone, nor in notify-from"
	}
	t := r.IsTsig()
	if z.notify.RequireTSIG && isPeer && keyName != "" {
		if t == nil {
			return "not TSIG-signed, and notify-require-tsig is set"
		}
		if !strings.EqualFold(t.Hdr.Name, keyName) {
			return fmt.Sprintf("signed with key %s, the peer's key is %s", t.Hdr.Name, keyName)
		}
	}
	return ""
}

// writeTsigError answers a request whose TSIG did not verify as RFC 8945 §5.2 says: NOTAUTH,
// with the TSIG error (BADKEY, BADSIG, BADTIME) and no MAC. It is written raw, because the
// server would otherwise sign it.
func writeTsigError(w dns.ResponseWriter, r *dns.Msg, t *dns.TSIG, err error) {
	code := uint16(dns.RcodeBadSig)
	switch err {
	case dns.ErrSecret, dns.ErrKeyAlg:
		code = dns.RcodeBadKey
	case dns.ErrTime:
		code = dns.RcodeBadTime
	}
	m := new(dns.Msg)
	m.SetRcode(r, dns.RcodeNotAuth)
	m.Extra = []dns.RR{&dns.TSIG{
		Hdr:       dns.RR_Header{Name: t.Hdr.Name, Rrtype: dns.TypeTSIG, Class: dns.ClassANY},
		Algorithm: t.Algorithm, TimeSigned: t.TimeSigned, Fudge: t.Fudge, OrigId: r.Id, Error: code,
	}}
	if wire, err := m.Pack(); err == nil {
		w.Write(wire)
	}
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
