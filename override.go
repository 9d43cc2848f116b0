package cfsecondary

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/cfsecondary/cfsecondary/zone"

	"github.com/coredns/coredns/plugin/pkg/upstream"
	"github.com/coredns/coredns/request"

	"github.com/miekg/dns"
)

// An override replaces the address records a primary sends for one name with the operator's own
// (Cloudflare's "Secondary DNS Override"): A and AAAA records, or a CNAME. It applies only while
// the primary has the name, so it survives every transfer and IXFR that keeps the name, and lapses
// when the primary deletes it. A CNAME at the apex cannot be served as a CNAME; it is flattened
// into the A and AAAA records of its target, and hides the transferred apex addresses.
type override struct {
	name  string   // lower case, fully qualified
	addrs []dns.RR // A and AAAA records
	cname *dns.CNAME
}

// defaultOverrideTTL is the TTL of an override that names none: short, like Cloudflare's
// proxied records (300 s), so that removing an override takes effect soon.
const defaultOverrideTTL = 300

// overrides are a zone's overrides by owner name, lower case.
type overrides map[string]*override

// add puts rr, an A, AAAA or CNAME record inside one of zones, among the overrides.
func (o overrides) add(rr dns.RR, zones []string) error {
	h := rr.Header()
	h.Name = strings.ToLower(h.Name)
	if h.Class != dns.ClassINET {
		return fmt.Errorf("override %s: class must be IN", h.Name)
	}
	in := false
	for _, z := range zones {
		in = in || dns.IsSubDomain(z, h.Name)
	}
	if !in {
		return fmt.Errorf("override %s: not in the zones %s", h.Name, strings.Join(zones, " "))
	}
	ov := o[h.Name]
	if ov == nil {
		ov = &override{name: h.Name}
		o[h.Name] = ov
	}
	switch r := rr.(type) {
	case *dns.A, *dns.AAAA:
		if ov.cname != nil {
			return fmt.Errorf("override %s: a CNAME and addresses at one name", h.Name)
		}
		ov.addrs = append(ov.addrs, rr)
	case *dns.CNAME:
		if ov.cname != nil || len(ov.addrs) > 0 {
			return fmt.Errorf("override %s: a CNAME must be the only override at its name", h.Name)
		}
		ov.cname = r
	default:
		return fmt.Errorf("override %s: type %s cannot override; only A, AAAA and CNAME can", h.Name, dns.TypeToString[h.Rrtype])
	}
	return nil
}

// parseOverrides reads overrides in RFC 1035 master format, relative to origin.
func parseOverrides(o overrides, r io.Reader, file, origin string, zones []string) error {
	zp := dns.NewZoneParser(r, origin, file)
	zp.SetIncludeAllowed(false)
	zp.SetDefaultTTL(defaultOverrideTTL)
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		if err := o.add(rr, zones); err != nil {
			return err
		}
	}
	return zp.Err()
}

// forZone returns the overrides under origin, or nil.
func (o overrides) forZone(origin string) overrides {
	var out overrides
	for name, ov := range o {
		if dns.IsSubDomain(origin, name) {
			if out == nil {
				out = overrides{}
			}
			out[name] = ov
		}
	}
	return out
}

// answer answers req from the override, over the zone's data. It reports false when the
// override does not apply: the primary does not have the name, or the type is not one the
// override replaces.
func (ov *override) answer(ctx context.Context, state request.Request, data *zone.Zone, req zone.Request) (zone.Result, bool) {
	if !data.HasName(ov.name) {
		return zone.Result{}, false // lapsed: the primary deleted the name
	}
	apex := ov.name == data.Origin()
	res := zone.Result{Authoritative: true}
	switch {
	case ov.cname != nil && !apex:
		// A CNAME excludes every other type at its name.
		if req.Type == dns.TypeRRSIG || req.Type == dns.TypeNSEC {
			return zone.Result{}, false
		}
		res.Answer = []dns.RR{ov.cname}
		if req.Type == dns.TypeCNAME {
			return res, true
		}
		if dns.IsSubDomain(data.Origin(), ov.cname.Target) {
			next := data.Lookup(zone.Request{Name: ov.cname.Target, Type: req.Type, DO: req.DO, TCP: req.TCP})
			res.Rcode = next.Rcode
			res.Answer = append(res.Answer, next.Answer...)
			res.Ns, res.Extra = next.Ns, next.Extra
		}
		return res, true

	case req.Type != dns.TypeA && req.Type != dns.TypeAAAA:
		return zone.Result{}, false

	case ov.cname != nil: // at the apex: flattened
		res.Answer = ov.flatten(ctx, state, data, req.Type)

	default:
		for _, rr := range ov.addrs {
			if rr.Header().Rrtype == req.Type {
				res.Answer = append(res.Answer, rr)
			}
		}
	}
	if len(res.Answer) == 0 {
		res.Ns = []dns.RR{negativeSOA(data)}
	}
	return res, true
}

// flatten resolves the target of an apex CNAME override to its addresses of type t, owned by the
// apex: from the zone when the target is in it, else through the server's own plugin chain.
func (ov *override) flatten(ctx context.Context, state request.Request, data *zone.Zone, t uint16) []dns.RR {
	var found []dns.RR
	if dns.IsSubDomain(data.Origin(), ov.cname.Target) {
		found = data.Lookup(zone.Request{Name: ov.cname.Target, Type: t}).Answer
	} else if m, err := upstream.New().Lookup(ctx, state, ov.cname.Target, t); err == nil {
		found = m.Answer
	}
	var out []dns.RR
	for _, rr := range found {
		if rr.Header().Rrtype != t {
			continue
		}
		c := dns.Copy(rr)
		c.Header().Name = ov.name
		c.Header().Ttl = min(c.Header().Ttl, ov.cname.Hdr.Ttl)
		out = append(out, c)
	}
	return out
}

// negativeSOA is the zone's SOA as a negative answer carries it, with the RFC 2308 TTL.
func negativeSOA(data *zone.Zone) dns.RR {
	soa := dns.Copy(data.SOA()).(*dns.SOA)
	soa.Hdr.Ttl = min(soa.Hdr.Ttl, soa.Minttl)
	return soa
}
