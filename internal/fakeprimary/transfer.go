package fakeprimary

import (
	"time"

	"github.com/miekg/dns"
)

// transfer sends the zone as an AXFR response, misbehaving as mode says.
// It returns false when the connection must be closed.
func (s *Server) transfer(w *Writer, req *dns.Msg, mode Mode, records []dns.RR) bool {
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
	if !mode.NoFinalSOA {
		end := dns.Copy(soa).(*dns.SOA)
		if mode.WrongEndSerial {
			end.Serial++
		}
		list = append(list, end)
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
		if mode.CloseAfter > 0 && num > mode.CloseAfter {
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
			m.Question = []dns.Question{{Name: "wrong." + s.zone, Qtype: dns.TypeAXFR, Qclass: dns.ClassINET}}
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
	return !mode.NoFinalSOA
}
