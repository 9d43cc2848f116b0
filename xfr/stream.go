package xfr

import (
	"fmt"
	"strings"

	"github.com/miekg/dns"
)

// maxOutOfZoneNames bounds Result.OutOfZoneNames.
const maxOutOfZoneNames = 5

// stream checks the messages of one AXFR or IXFR response, in order. For
// AXFR, and for an IXFR answered AXFR-style, it hands the records to the
// sink; for an incremental IXFR answer it collects the deltas. It knows
// nothing about connections, so it can be fed arbitrary bytes by tests and
// fuzzers.
//
// The message checks (ID, flags, rcode, TSIG, question) and the record
// checks (owner in the zone, class, meta types, SOA owner) are shared; only
// what an SOA means differs between the two framings.
type stream struct {
	zone   string // lower-case FQDN
	qtype  uint16 // dns.TypeAXFR or dns.TypeIXFR
	id     uint16
	verify *Verifier // nil without TSIG
	sink   Sink
	ix     *ixfrState // nil for AXFR

	soa  *dns.SOA // the opening SOA
	done bool     // the end of the answer has been seen
	stop bool     // done, and the rest of the answer is not read (IXFR up to date)
	res  Result
}

func newStream(zone string, id uint16, v *Verifier, sink Sink) *stream {
	return &stream{zone: strings.ToLower(dns.Fqdn(zone)), qtype: dns.TypeAXFR, id: id, verify: v, sink: sink, res: Result{Expire: -1}}
}

// add checks one message (its raw wire, without the TCP length) and passes
// its records on. It returns done once the message with the end of the
// answer has been accepted.
func (s *stream) add(wire []byte) (done bool, err error) {
	s.res.Messages++
	n := s.res.Messages
	s.res.Bytes += int64(len(wire)) + 2
	if s.done {
		return true, &ProtocolError{Msg: n, Reason: "message after the final SOA"}
	}
	m := new(dns.Msg)
	if err := m.Unpack(wire); err != nil {
		return false, &ProtocolError{Msg: n, Reason: "malformed message: " + err.Error()}
	}
	if m.Id != s.id {
		return false, &ProtocolError{Msg: n, Reason: fmt.Sprintf("ID %d does not match request ID %d", m.Id, s.id)}
	}
	if !m.Response || m.Opcode != dns.OpcodeQuery {
		return false, &ProtocolError{Msg: n, Reason: fmt.Sprintf("not a response to a query (QR=%t, opcode %s)", m.Response, dns.OpcodeToString[m.Opcode])}
	}
	if m.Rcode != dns.RcodeSuccess {
		// A TSIG error the server put in its TSIG RR says more than the
		// NOTAUTH that usually comes with it.
		if t := m.IsTsig(); t != nil && t.Error != 0 && s.verify != nil {
			return false, &TSIGError{Code: t.Error, Msg: n, Reason: fmt.Sprintf("reported by peer on message %d", n)}
		}
		return false, &RcodeError{Rcode: m.Rcode, Msg: n, edns: m.IsEdns0() != nil}
	}
	signed := false
	if s.verify != nil {
		if signed, err = s.verify.Verify(wire); err != nil {
			return false, err
		}
	}
	if m.Truncated {
		return false, &ProtocolError{Msg: n, Reason: "TC bit set"}
	}
	if err := s.question(m, n); err != nil {
		return false, err
	}
	if n == 1 {
		// Only now that the message is known to be signed (the first
		// one must be, with a key) is its EXPIRE option believed.
		s.res.Expire = expireOf(m)
		if len(m.Answer) == 0 {
			err := error(&ProtocolError{Msg: n, Reason: "first message has no answer records, want the zone's SOA"})
			if s.ix != nil {
				err = &fallbackError{fmt.Errorf("%w: %w", ErrEmptyIXFR, err)}
			}
			return false, err
		}
	}
	for i, rr := range m.Answer {
		if s.stop {
			break
		}
		if s.done {
			return false, &ProtocolError{Msg: n, Reason: fmt.Sprintf("%d record(s) after the final SOA", len(m.Answer)-i)}
		}
		if err := s.record(rr, n); err != nil {
			return false, err
		}
	}
	if s.done && s.verify != nil && !signed {
		return false, s.verify.Finish()
	}
	return s.done, nil
}

func (s *stream) question(m *dns.Msg, n int) error {
	switch len(m.Question) {
	case 0:
		return nil
	case 1:
		q := m.Question[0]
		if q.Qtype == s.qtype && q.Qclass == dns.ClassINET && strings.EqualFold(q.Name, s.zone) {
			return nil
		}
		return &ProtocolError{Msg: n, Reason: fmt.Sprintf("question %s %s %s, want %s IN %s", q.Name, dns.Class(q.Qclass), dns.Type(q.Qtype), s.zone, dns.Type(s.qtype))}
	}
	return &ProtocolError{Msg: n, Reason: fmt.Sprintf("%d questions", len(m.Question))}
}

// record checks one answer record and passes it to the framing.
func (s *stream) record(rr dns.RR, n int) error {
	h := rr.Header()
	if s.soa == nil {
		soa, ok := rr.(*dns.SOA)
		if !ok || !strings.EqualFold(h.Name, s.zone) || h.Class != dns.ClassINET {
			return &ProtocolError{Msg: n, Reason: fmt.Sprintf("first record is %s %s %s, want the SOA of %s", h.Name, dns.Class(h.Class), dns.Type(h.Rrtype), s.zone)}
		}
		s.soa = soa
		s.res.Serial = soa.Serial
		if s.ix != nil {
			return s.ixfrFirst(soa)
		}
		return s.pass(rr, n)
	}
	if s.ix != nil && s.ix.kind == ixUndecided {
		if err := s.ixfrDecide(rr, n); err != nil {
			return err
		}
	}
	if !dns.IsSubDomain(s.zone, h.Name) {
		// Out-of-zone data is not ours to serve; RFC 5936 3.3 lets a
		// secondary ignore it. Keep a few names for the log.
		s.res.OutOfZone++
		if len(s.res.OutOfZoneNames) < maxOutOfZoneNames {
			s.res.OutOfZoneNames = append(s.res.OutOfZoneNames, h.Name)
		}
		return nil
	}
	if h.Class != dns.ClassINET {
		return &ProtocolError{Msg: n, Reason: fmt.Sprintf("record %s %s has class %s, want IN", h.Name, dns.Type(h.Rrtype), dns.Class(h.Class))}
	}
	switch h.Rrtype {
	case dns.TypeOPT, dns.TypeTSIG, dns.TypeTKEY, dns.TypeAXFR, dns.TypeIXFR, dns.TypeANY, dns.TypeMAILA, dns.TypeMAILB:
		return &ProtocolError{Msg: n, Reason: fmt.Sprintf("meta record %s %s in answer", h.Name, dns.Type(h.Rrtype))}
	case dns.TypeSOA:
		if !strings.EqualFold(h.Name, s.zone) {
			return s.fallback(&ProtocolError{Msg: n, Reason: fmt.Sprintf("SOA for %s inside zone %s", h.Name, s.zone)})
		}
	}
	if s.ix != nil && s.ix.kind == ixIncremental {
		return s.ixfrRecord(rr, n)
	}
	if soa, ok := rr.(*dns.SOA); ok {
		// The apex SOA again ends the transfer (RFC 5936 2.2); anything
		// after it is rejected.
		if soa.Serial != s.soa.Serial {
			return &ProtocolError{Msg: n, Reason: fmt.Sprintf("SOA serial %d mid-stream or at the end, want %d as at the start", soa.Serial, s.soa.Serial)}
		}
		s.done = true
		return nil
	}
	return s.pass(rr, n)
}

func (s *stream) pass(rr dns.RR, n int) error {
	if err := s.sink.Add(rr); err != nil {
		return fmt.Errorf("message %d: sink: %w", n, err)
	}
	s.res.Records++
	return nil
}

// fallback marks err as one after which an IXFR should be retried as
// AXFR; for AXFR it returns err as it is.
func (s *stream) fallback(err error) error {
	if s.ix == nil {
		return err
	}
	return &fallbackError{err}
}

// truncated is the error for a stream that ended before the final SOA.
func (s *stream) truncated(err error) error {
	if s.lone() {
		return s.loneSOA(err)
	}
	if err == nil {
		return fmt.Errorf("%w: connection closed after %d messages, before the final SOA", ErrTruncated, s.res.Messages)
	}
	return fmt.Errorf("%w: after %d messages, before the final SOA: %w", ErrTruncated, s.res.Messages, err)
}
