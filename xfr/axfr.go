package xfr

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// Peer is a primary server.
type Peer struct {
	Addr string // "ip:port"
	Key  *Key   // nil: no TSIG
}

// Options tune a transfer. The zero value gives the defaults.
type Options struct {
	DialTimeout time.Duration    // default 5s; for QuerySOA also the wait for a UDP answer
	IdleTimeout time.Duration    // max wait for the next message, default 30s
	MaxDuration time.Duration    // whole transfer, default 2h (BIND max-transfer-time-in)
	MaxUnsigned int              // unsigned messages allowed between signed ones, default 99 (RFC 8945 5.3.1)
	Fudge       uint16           // default 300
	Now         func() time.Time // clock for TSIG; default time.Now

	// NoEDNS sends requests without an OPT record, for primaries that
	// choke on EDNS. Without it every request carries an OPT (UDP size
	// 1232) with an empty EXPIRE option (RFC 7314), and a FORMERR or
	// NOTIMP answer without OPT is retried once without EDNS.
	NoEDNS bool
	// MaxIXFRRecords bounds the changes (deleted plus added records) an
	// incremental IXFR answer may hold in memory; over it IXFR fails with
	// ErrFallback, as an AXFR is then cheaper. 0: no limit.
	MaxIXFRRecords int
}

func (o Options) withDefaults() Options {
	if o.DialTimeout <= 0 {
		o.DialTimeout = 5 * time.Second
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 30 * time.Second
	}
	if o.MaxDuration <= 0 {
		o.MaxDuration = 2 * time.Hour
	}
	if o.MaxUnsigned <= 0 {
		o.MaxUnsigned = DefaultMaxUnsigned
	}
	if o.Fudge == 0 {
		o.Fudge = DefaultFudge
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Result describes a transfer.
type Result struct {
	Serial         uint32
	Messages       int
	Records        int           // handed to the sink (after dropping out-of-zone)
	Bytes          int64         // bytes received, TCP length prefixes included
	OutOfZone      int           // records dropped because their owner is not at/below the zone
	OutOfZoneNames []string      // first few dropped owners, for the warning log
	Duration       time.Duration // from dial to the final message
	// Expire is the EDNS EXPIRE option of the first message (RFC 7314):
	// the seconds until the primary's own copy expires (its SOA EXPIRE
	// when it is the zone's origin). -1 when absent.
	Expire int64
}

// AXFR transfers zone from p over TCP and streams its records into sink:
// the SOA first, then the rest in the order received; the closing SOA is
// not passed on. Records outside the zone are dropped and counted.
//
// The transfer is good only if the error is nil; otherwise the sink holds a
// partial or unauthenticated zone that must be thrown away. Errors start
// with "axfr from ADDR:" and wrap *TSIGError, *RcodeError, *ProtocolError,
// ErrTruncated, ErrIdleTimeout, ErrMaxDuration, the context's error, or
// the sink's error.
func AXFR(ctx context.Context, p Peer, zone string, opt Options, sink Sink) (Result, error) {
	start := time.Now()
	opt = opt.withDefaults()
	var res Result
	err := ednsRetry(opt, func(edns bool) error {
		req := newRequest(zone, dns.TypeAXFR, edns)
		s := newStream(zone, req.Id, nil, sink)
		err := run(ctx, p, req, opt, s)
		res = s.res
		return err
	})
	res.Duration = time.Since(start)
	if err != nil {
		return res, fmt.Errorf("axfr from %s: %w", p.Addr, err)
	}
	return res, nil
}

// newRequest returns a query for zone and qtype, with an OPT record
// asking for EXPIRE when edns is set.
func newRequest(zone string, qtype uint16, edns bool) *dns.Msg {
	req := new(dns.Msg)
	req.Id = dns.Id()
	req.Question = []dns.Question{{Name: strings.ToLower(dns.Fqdn(zone)), Qtype: qtype, Qclass: dns.ClassINET}}
	if edns {
		req.Extra = append(req.Extra, newOPT())
	}
	return req
}

// run sends req to p over TCP, signed with p's key, and feeds the answer's
// messages to s until s has seen the end of the answer.
func run(ctx context.Context, p Peer, req *dns.Msg, opt Options, s *stream) error {
	ctx, cancel := context.WithTimeoutCause(ctx, opt.MaxDuration, fmt.Errorf("%w (%v)", ErrMaxDuration, opt.MaxDuration))
	defer cancel()

	wire, verify, err := sign(req, p.Key, opt)
	if err != nil {
		return err
	}
	s.id, s.verify = req.Id, verify

	conn, err := dial(ctx, p.Addr, opt.DialTimeout)
	if err != nil {
		return err
	}
	defer conn.Close()
	// Cancelling the context unblocks a pending read or write at once.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	// why: a failure caused by the context closing the connection should
	// say so, not "use of closed network connection".
	fail := func(err error) error {
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		return err
	}

	conn.SetWriteDeadline(time.Now().Add(opt.IdleTimeout))
	if err := writeMsg(conn, wire); err != nil {
		return fail(fmt.Errorf("send request: %w", err))
	}
	r := bufio.NewReaderSize(conn, 64<<10)
	for {
		conn.SetReadDeadline(time.Now().Add(opt.IdleTimeout))
		msg, err := readMsg(r)
		if err != nil {
			switch {
			case ctx.Err() != nil:
				return context.Cause(ctx)
			case errors.Is(err, os.ErrDeadlineExceeded):
				if s.lone() {
					return s.loneSOA(fmt.Errorf("no message for %v", opt.IdleTimeout))
				}
				return fmt.Errorf("%w: no message for %v after %d messages: %w", ErrIdleTimeout, opt.IdleTimeout, s.res.Messages, err)
			case errors.Is(err, io.EOF):
				return s.truncated(nil)
			case errors.Is(err, errZeroLength):
				return &ProtocolError{Msg: s.res.Messages + 1, Reason: err.Error()}
			}
			return s.truncated(err)
		}
		done, err := s.add(msg)
		if err != nil {
			return fail(err)
		}
		if done {
			// why: an SOA identical to the first, alone at the end of a message, reads as the
			// end even when a broken primary sends it mid-stream. A correct primary sends
			// nothing after the end, so bytes already waiting mean the "end" was not one.
			// An IXFR found up to date reads no further.
			if r.Buffered() > 0 && !s.stop {
				return &ProtocolError{Msg: s.res.Messages + 1, Reason: "data after the final SOA"}
			}
			return nil
		}
	}
}

// sign packs the request and, with a key, signs it and returns the
// verifier for the answers.
func sign(req *dns.Msg, k *Key, opt Options) ([]byte, *Verifier, error) {
	wire, err := req.Pack()
	if err != nil {
		return nil, nil, fmt.Errorf("pack request: %w", err)
	}
	if k == nil {
		return wire, nil, nil
	}
	signer, err := NewSigner(k, nil)
	if err != nil {
		return nil, nil, err
	}
	signer.Fudge, signer.Now = opt.Fudge, opt.Now
	if wire, err = signer.Sign(wire); err != nil {
		return nil, nil, err
	}
	v, err := NewVerifier(k, signer.MAC())
	if err != nil {
		return nil, nil, err
	}
	v.MaxUnsigned, v.Now = opt.MaxUnsigned, opt.Now
	return wire, v, nil
}

func dial(ctx context.Context, addr string, timeout time.Duration) (net.Conn, error) {
	d := net.Dialer{Timeout: timeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		if ctx.Err() != nil {
			return nil, context.Cause(ctx)
		}
		return nil, fmt.Errorf("dial: %w", err)
	}
	return conn, nil
}

var errZeroLength = errors.New("zero-length message")

// readMsg reads one length-prefixed DNS message from a TCP stream. An EOF
// in the middle of a message is io.ErrUnexpectedEOF; io.EOF only between
// messages.
func readMsg(r io.Reader) ([]byte, error) {
	var l [2]byte
	if _, err := io.ReadFull(r, l[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint16(l[:])
	if n == 0 {
		return nil, errZeroLength
	}
	// A fresh buffer per message: records unpacked from it may keep
	// references to it.
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return b, nil
}

// writeMsg writes one message with its 2-byte length in a single write.
func writeMsg(w io.Writer, msg []byte) error {
	if len(msg) > dns.MaxMsgSize {
		return fmt.Errorf("message of %d bytes too large for TCP", len(msg))
	}
	b := make([]byte, 2+len(msg))
	binary.BigEndian.PutUint16(b, uint16(len(msg)))
	copy(b[2:], msg)
	_, err := w.Write(b)
	return err
}
