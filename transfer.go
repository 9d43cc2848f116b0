package cfsecondary

import (
	"strings"

	"github.com/coredns/coredns/plugin/transfer"

	"github.com/miekg/dns"
)

// Transfer implements transfer.Transferer, so a `transfer { to ... }` block in the same server
// block re-serves the zones to downstream secondaries. The snapshot is immutable, so the walk
// needs no lock and a concurrent update does not disturb it.
func (s *Secondary) Transfer(origin string, serial uint32) (<-chan []dns.RR, error) {
	z, ok := s.zones[strings.ToLower(origin)]
	if !ok {
		return nil, transfer.ErrNotAuthoritative
	}
	data := z.Data()
	if data == nil {
		return nil, transfer.ErrNotAuthoritative
	}
	ch := make(chan []dns.RR, 4)
	go func() {
		defer close(ch)
		soa := data.SOA()
		if serial != 0 && serial == soa.Serial {
			// An IXFR from a client that is up to date: the single SOA says so (RFC 1995 §2).
			ch <- []dns.RR{soa}
			return
		}
		data.Walk(func(rrs []dns.RR) bool {
			ch <- rrs
			return true
		})
		ch <- []dns.RR{soa}
	}()
	return ch, nil
}
