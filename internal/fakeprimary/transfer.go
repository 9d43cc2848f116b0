package fakeprimary

import (
	"time"

	"github.com/miekg/dns"
)

// transfer sends the zone as an AXFR response (or an IXFR response
// AXFR-style), misbehaving as mode says. It returns false when the
// connection must be closed.
func (s *Server) transfer(w *Writer, req *dns.Msg, mode Mode, records []dns.RR) bool {
	s.axfrStyle.Add(1)
	soa := records[0].(*dns.SOA)
	list := make([]dns.RR, 0, len(records)+mode.OutOfZone+2)
	list = append(list, soa)
	list = append(list, outOfZone(mode.OutOfZone)...)
	list = append(list, records[1:]...)
	if mode.MidSOA {
		// Not at the end of a message: there the client rightly takes it
		// for the end of the transfer.
		mid := max(1, len(list)/2)
		if mid%s.perMsg == s.perMsg-1 && mid > 1 {
			mid--
		}
		list = append(list[:mid], append([]dns.RR{dns.Copy(soa)}, list[mid:]...)...)
	}
	return s.send(w, req, mode, s.end(list, soa, mode)) && !mode.NoFinalSOA
}

// end appends the closing SOA to list, as mode says.
func (s *Server) end(list []dns.RR, soa *dns.SOA, mode Mode) []dns.RR {
	if mode.NoFinalSOA {
		return list
	}
	end := dns.Copy(soa).(*dns.SOA)
	if mode.WrongEndSerial {
		end.Serial++
	}
	return append(list, end)
}

// send writes list in messages of perMsg records, misbehaving as mode
// says. It returns false when it stopped early and the connection must be
// closed.
func (s *Server) send(w *Writer, req *dns.Msg, mode Mode, list []dns.RR) bool {
	qtype := req.Question[0].Qtype
	closeAfter := mode.CloseAfter
	if qtype == dns.TypeIXFR && mode.IXFRDropAfter > 0 && (closeAfter == 0 || mode.IXFRDropAfter < closeAfter) {
		closeAfter = mode.IXFRDropAfter
	}
	var chunks [][]dns.RR
	for len(list) > 0 {
		n := min(s.perMsg, len(list))
		chunks = append(chunks, list[:n])
		list = list[n:]
	}
	last := len(chunks)
	for i, chunk := range chunks {
		num := i + 1
		if mode.StallAfter > 0 && num > mode.StallAfter {
			w.Stall()
			return false
		}
		if closeAfter > 0 && num > closeAfter {
			return false
		}
		if mode.Delay > 0 {
			select {
			case <-time.After(mode.Delay):
			case <-s.done:
				return false
			}
		}
		m := new(dns.Msg)
		m.SetReply(req)
		m.Authoritative = true
		m.Compress = true
		m.Answer = chunk
		if num > 1 {
			// As BIND does: the question only in the first message.
			m.Question = nil
		}
		if num == mode.BadIDAt {
			m.Id++
		}
		if num == mode.BadQuestionAt {
			m.Question = []dns.Question{{Name: "wrong." + s.zone, Qtype: qtype, Qclass: dns.ClassINET}}
		}
		sign := mode.SignEvery <= 1 || (num-1)%mode.SignEvery == 0
		if num == 1 {
			sign = true
		}
		if num == last {
			sign = !mode.UnsignedLast
		}
		if err := w.WriteMsg(m, sign); err != nil {
			return false
		}
	}
	return true
}

// ixfr answers an IXFR query (RFC 1995) from the history of versions,
// oldest first, the current one last.
func (s *Server) ixfr(w *Writer, req *dns.Msg, mode Mode, history [][]dns.RR) bool {
	cur := history[len(history)-1]
	soa := cur[0].(*dns.SOA)
	var client *dns.SOA
	if len(req.Ns) == 1 {
		client, _ = req.Ns[0].(*dns.SOA)
	}
	if client == nil {
		// RFC 1995 §3: the query has our version's SOA in the authority
		// section. BIND answers FORMERR without it.
		w.reply(req, dns.RcodeFormatError)
		return true
	}
	s.lastIXFR.Store(client.Serial)
	switch mode.IXFR {
	case IXFRNotImp:
		w.reply(req, dns.RcodeNotImplemented)
		return true
	case IXFRFormErr:
		w.reply(req, dns.RcodeFormatError)
		return true
	case IXFRRefused:
		w.reply(req, dns.RcodeRefused)
		return true
	case IXFREmpty:
		m := new(dns.Msg)
		m.SetReply(req)
		m.Authoritative = true
		w.WriteMsg(m, true)
		return true
	case IXFRSingleSOA:
		s.send(w, req, mode, []dns.RR{soa})
		return false
	case IXFRAXFRStyle:
		return s.transfer(w, req, mode, cur)
	}
	if !serialNewer(soa.Serial, client.Serial) {
		s.ixfrs.Add(1)
		return s.send(w, req, mode, []dns.RR{soa})
	}
	from := -1
	for i := len(history) - 2; i >= 0; i-- {
		if serialOf(history[i]) == client.Serial {
			from = i
			break
		}
	}
	if from < 0 {
		return s.transfer(w, req, mode, cur)
	}
	s.ixfrs.Add(1)

	steps := []int{}
	for i := from; i < len(history); i++ {
		if mode.IXFR != IXFRCondensed || i == from || i == len(history)-1 {
			steps = append(steps, i)
		}
	}
	type delta struct {
		from, to *dns.SOA
		del, add []dns.RR
	}
	var deltas []delta
	for i := 1; i < len(steps); i++ {
		a, b := history[steps[i-1]], history[steps[i]]
		del, add := diff(a, b)
		deltas = append(deltas, delta{a[0].(*dns.SOA), b[0].(*dns.SOA), del, add})
	}
	deltas[0].add = append(outOfZone(mode.OutOfZone), deltas[0].add...)
	if mode.IXFR == IXFRBrokenChain {
		if len(deltas) > 1 {
			deltas = append(deltas[:1], deltas[2:]...)
		} else {
			to := dns.Copy(deltas[0].to).(*dns.SOA)
			to.Serial++
			deltas[0].to = to
		}
	}
	list := []dns.RR{soa}
	for _, d := range deltas {
		list = append(list, d.from)
		list = append(list, d.del...)
		list = append(list, d.to)
		list = append(list, d.add...)
	}
	return s.send(w, req, mode, s.end(list, soa, mode)) && !mode.NoFinalSOA
}

// diff returns the records of a missing from b, and those of b missing
// from a, SOAs (first in both) left out.
func diff(a, b []dns.RR) (del, add []dns.RR) {
	in := func(rrs []dns.RR) map[string]bool {
		m := make(map[string]bool, len(rrs))
		for _, rr := range rrs[1:] {
			m[rr.String()] = true
		}
		return m
	}
	ina, inb := in(a), in(b)
	for _, rr := range a[1:] {
		if !inb[rr.String()] {
			del = append(del, rr)
		}
	}
	for _, rr := range b[1:] {
		if !ina[rr.String()] {
			add = append(add, rr)
		}
	}
	return del, add
}

// serialNewer reports whether serial a is newer than b (RFC 1982).
func serialNewer(a, b uint32) bool {
	d := a - b
	return d != 0 && d < 1<<31
}
