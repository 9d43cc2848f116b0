package xfr

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// ErrFallback is wrapped by every IXFR error after which the caller should
// transfer the zone by AXFR from the same peer: the primary answered
// NOTIMP, FORMERR or REFUSED, or an empty answer, or a single SOA newer than
// ours (a "retry over TCP" answer, and we are on TCP), or a broken chain of
// deltas, or more changes than Options.MaxIXFRRecords. Errors that say
// nothing about IXFR itself (SERVFAIL and other rcodes, TSIG failures, a
// connection lost mid-stream, timeouts) do not wrap it: the caller retries
// later as with AXFR.
var ErrFallback = errors.New("ixfr: fall back to AXFR")

// ErrEmptyIXFR is wrapped, with ErrFallback, by the error for an IXFR
// answered NOERROR without any record: the mark of a primary that does not
// do IXFR, like the NOTIMP, FORMERR and REFUSED rcodes (*RcodeError).
var ErrEmptyIXFR = errors.New("empty IXFR answer")

// fallbackError is an error that wraps ErrFallback and the cause, so that
// errors.As still finds a *ProtocolError or *RcodeError.
type fallbackError struct{ err error }

func (e *fallbackError) Error() string   { return e.err.Error() + " (fall back to AXFR)" }
func (e *fallbackError) Unwrap() []error { return []error{ErrFallback, e.err} }

// Delta is one change of an incremental answer: the zone at From becomes
// the zone at To by deleting Del and adding Add (RFC 1995 §4). Del and Add
// never contain the SOAs; records outside the zone are dropped.
type Delta struct {
	From, To *dns.SOA
	Del, Add []dns.RR
}

// IXFRResult describes an IXFR. Exactly one of UpToDate, Full and
// len(Deltas) > 0 holds after a nil error.
type IXFRResult struct {
	// Result: Serial is the primary's current serial (the first SOA of
	// the answer). Records counts the records handed to the sink for a
	// Full answer, or the records in Del and Add of all Deltas.
	Result
	// UpToDate: the answer's first SOA is not newer than ours, so there
	// is nothing to do (RFC 1995 §2, BIND's rule: serial <= requested).
	UpToDate bool
	// Full: an AXFR-style answer, whose records went to the sink exactly
	// as AXFR sends them.
	Full bool
	// Deltas of an incremental answer, oldest first; the first starts at
	// our serial, each starts where the previous one ended, and the last
	// ends at Serial.
	Deltas []Delta
}

// serialNewer reports whether serial a is newer than b in RFC 1982 serial
// arithmetic. A difference of exactly 2^31 is undefined there and is not
// taken as newer.
func serialNewer(a, b uint32) bool {
	d := a - b
	return d != 0 && d < 1<<31
}

// IXFR asks p over TCP for the changes to zone since have, the SOA being
// served (RFC 1995); the query carries have in its authority section. The
// answer is checked as AXFR answers are (ID, question zone/IXFR/IN, TSIG,
// timeouts, records outside the zone dropped and counted) and is one of:
//
//   - a single SOA not newer than have: UpToDate;
//   - an AXFR-style answer: its records go to sink as AXFR's do, Full;
//   - an incremental answer: its deltas are checked to chain from have's
//     serial to the current one, kept in memory, and returned in Deltas.
//     Nothing goes to sink.
//
// A single SOA newer than have is RFC 1995's "ask over TCP" answer, which
// makes no sense on TCP: when the primary closes the connection after it,
// or sends nothing more for Options.IdleTimeout, IXFR fails with
// ErrFallback.
//
// As with AXFR, the result is good only with a nil error; nothing is to be
// applied before. Errors start with "ixfr from ADDR:"; those wrapping
// ErrFallback mean the caller should use AXFR instead (see ErrFallback),
// the others are AXFR's, and a connection lost mid-answer is ErrTruncated.
func IXFR(ctx context.Context, p Peer, zone string, have *dns.SOA, opt Options, sink Sink) (IXFRResult, error) {
	start := time.Now()
	opt = opt.withDefaults()
	var res IXFRResult
	var err error
	if have == nil {
		err = errors.New("no SOA to ask for changes since")
	} else {
		err = ednsRetry(opt, func(edns bool) error {
			res, err = ixfr(ctx, p, zone, have, opt, edns, sink)
			return err
		})
	}
	res.Duration = time.Since(start)
	if err != nil {
		var re *RcodeError
		if errors.As(err, &re) && !errors.Is(err, ErrFallback) {
			switch re.Rcode {
			case dns.RcodeNotImplemented, dns.RcodeFormatError, dns.RcodeRefused:
				err = &fallbackError{err}
			}
		}
		return IXFRResult{Result: res.Result}, fmt.Errorf("ixfr from %s: %w", p.Addr, err)
	}
	return res, nil
}

func ixfr(ctx context.Context, p Peer, zone string, have *dns.SOA, opt Options, edns bool, sink Sink) (IXFRResult, error) {
	req := newRequest(zone, dns.TypeIXFR, edns)
	ns := dns.Copy(have).(*dns.SOA)
	ns.Hdr.Name, ns.Hdr.Rrtype, ns.Hdr.Class = req.Question[0].Name, dns.TypeSOA, dns.ClassINET
	req.Ns = []dns.RR{ns}

	s := newStream(zone, req.Id, nil, sink)
	s.qtype = dns.TypeIXFR
	s.ix = &ixfrState{have: have.Serial, max: opt.MaxIXFRRecords}
	err := run(ctx, p, req, opt, s)
	res := IXFRResult{Result: s.res}
	if err != nil {
		return res, err
	}
	switch s.ix.kind {
	case ixUpToDate:
		res.UpToDate = true
	case ixFull:
		res.Full = true
	case ixIncremental:
		res.Deltas = s.ix.deltas
	}
	return res, nil
}

// What an IXFR answer turned out to be.
const (
	ixUndecided   = iota // only the first SOA seen
	ixUpToDate           // first SOA not newer than ours
	ixFull               // AXFR-style
	ixIncremental        // deltas
)

// ixfrState is the IXFR half of a stream.
type ixfrState struct {
	have    uint32 // serial we asked with
	max     int    // Options.MaxIXFRRecords
	kind    int
	deltas  []Delta
	adding  bool // the last delta's To SOA was seen: records are additions
	changes int
}

// ixfrFirst handles the answer's first SOA, the primary's current one.
func (s *stream) ixfrFirst(soa *dns.SOA) error {
	if !serialNewer(soa.Serial, s.ix.have) {
		// BIND's rule: nothing newer, so nothing to read; a server that
		// sends a whole zone anyway has told us all we need.
		s.ix.kind = ixUpToDate
		s.done, s.stop = true, true
	}
	return nil
}

// ixfrDecide looks at the second record of the answer (RFC 1995 §4): the
// SOA of our version starts an incremental answer, anything else makes it
// AXFR-style.
func (s *stream) ixfrDecide(rr dns.RR, n int) error {
	soa, ok := rr.(*dns.SOA)
	if ok && strings.EqualFold(soa.Hdr.Name, s.zone) {
		switch soa.Serial {
		case s.ix.have:
			s.ix.kind = ixIncremental
			return nil
		case s.soa.Serial:
			// AXFR-style answer of a zone that holds nothing but its SOA.
		default:
			return &fallbackError{&ProtocolError{Msg: n, Reason: fmt.Sprintf("delta 1 starts at serial %d, ours is %d", soa.Serial, s.ix.have)}}
		}
	}
	s.ix.kind = ixFull
	return s.pass(s.soa, n)
}

// ixfrRecord takes the next record of an incremental answer: an SOA (the
// start of a delta, its middle, or the end of the answer) or a change.
func (s *stream) ixfrRecord(rr dns.RR, n int) error {
	x := s.ix
	soa, ok := rr.(*dns.SOA)
	if !ok {
		x.changes++
		if x.max > 0 && x.changes > x.max {
			return &fallbackError{&ProtocolError{Msg: n, Reason: fmt.Sprintf("more than %d changes: AXFR is cheaper", x.max)}}
		}
		d := &x.deltas[len(x.deltas)-1]
		if x.adding {
			d.Add = append(d.Add, rr)
		} else {
			d.Del = append(d.Del, rr)
		}
		s.res.Records++
		return nil
	}
	bad := func(format string, args ...any) error {
		return &fallbackError{&ProtocolError{Msg: n, Reason: fmt.Sprintf(format, args...)}}
	}
	k := len(x.deltas)
	if k > 0 && !x.adding {
		// The new SOA of the delta being read.
		d := &x.deltas[k-1]
		if !serialNewer(soa.Serial, d.From.Serial) {
			return bad("delta %d goes from serial %d to %d, not forward", k, d.From.Serial, soa.Serial)
		}
		if serialNewer(soa.Serial, s.soa.Serial) {
			return bad("delta %d ends at serial %d, past the primary's current %d", k, soa.Serial, s.soa.Serial)
		}
		d.To = soa
		x.adding = true
		return nil
	}
	prev := x.have
	if k > 0 {
		prev = x.deltas[k-1].To.Serial
		if soa.Serial == s.soa.Serial && prev != soa.Serial {
			return bad("delta %d ends at serial %d, but the answer ends at %d", k, prev, soa.Serial)
		}
		if soa.Serial == s.soa.Serial {
			s.done = true
			return nil
		}
	}
	if soa.Serial != prev {
		return bad("delta %d starts at serial %d, previous ended at %d", k+1, soa.Serial, prev)
	}
	x.deltas = append(x.deltas, Delta{From: soa})
	x.adding = false
	return nil
}

// lone reports whether all an IXFR answer held so far is one message with
// only the primary's SOA, newer than ours.
func (s *stream) lone() bool {
	return s.ix != nil && s.ix.kind == ixUndecided && s.soa != nil && s.res.Messages == 1
}

// loneSOA is the error for an IXFR answer that ended, or stalled, after a
// single SOA newer than ours. RFC 1995 §2 gives that answer over UDP to say
// "ask over TCP"; over TCP it can only mean the primary will not send
// changes.
func (s *stream) loneSOA(err error) error {
	reason := fmt.Sprintf("answer is a single SOA of serial %d, newer than our %d, and nothing more", s.soa.Serial, s.ix.have)
	if err != nil {
		reason += " (" + err.Error() + ")"
	}
	return &fallbackError{&ProtocolError{Msg: 1, Reason: reason}}
}
