// Package fakeprimary is a scriptable primary DNS server for tests. It
// serves SOA queries (UDP and TCP), AXFR and IXFR (TCP) of one zone on
// 127.0.0.1, signs with TSIG, answers EDNS EXPIRE, sends NOTIFY, and can be
// told to misbehave in the ways a secondary must survive: bad or missing
// signatures, broken SOA framing, wrong IDs or questions, error rcodes,
// dropped or stalled connections, broken IXFR delta chains, no EDNS.
//
// Every SetRecords keeps the previous version, so that IXFR queries get
// one delta per version since the client's.
//
// Signing uses xfr.Signer and xfr.Verifier, the code the client verifies
// with; the tests of package xfr also check it against miekg/dns.
package fakeprimary

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/cfsecondary/cfsecondary/xfr"
	"github.com/miekg/dns"
)

// Server is a fake primary for one zone.
type Server struct {
	Addr string // "127.0.0.1:port", the same port for UDP and TCP

	t      testing.TB
	zone   string
	key    *xfr.Key
	perMsg int
	ip     string // listen address; "" for 127.0.0.1

	mu      sync.Mutex
	records []dns.RR   // SOA first
	history [][]dns.RR // every version, oldest first, records last; never changed in place
	mode    Mode
	conns   map[net.Conn]struct{}
	closed  bool

	transfers   atomic.Int64
	queries     atomic.Int64
	axfrQueries atomic.Int64
	ixfrQueries atomic.Int64
	ixfrs       atomic.Int64 // IXFR answered incrementally or up to date
	axfrStyle   atomic.Int64 // whole zones sent, to AXFR or IXFR
	lastIXFR    atomic.Uint32

	tcp  net.Listener
	udp  net.PacketConn
	done chan struct{}
	wg   sync.WaitGroup
}

// Start starts a server for zone with the given records, which must hold
// the zone's SOA, and stops it when the test ends.
func Start(t testing.TB, zone string, records []dns.RR, opts ...Option) *Server {
	t.Helper()
	s := &Server{
		t:      t,
		zone:   strings.ToLower(dns.Fqdn(zone)),
		perMsg: 100,
		conns:  map[net.Conn]struct{}{},
		done:   make(chan struct{}),
	}
	for _, o := range opts {
		o(s)
	}
	if s.perMsg < 1 {
		t.Fatalf("fakeprimary: %d records per message", s.perMsg)
	}
	rrs, err := s.order(records)
	if err != nil {
		t.Fatalf("fakeprimary: %v", err)
	}
	s.records = rrs
	s.history = [][]dns.RR{rrs}
	if err := s.listen(); err != nil {
		t.Fatalf("fakeprimary: %v", err)
	}
	t.Cleanup(s.Close)
	s.wg.Add(2)
	go s.serveTCP()
	go s.serveUDP()
	return s
}

// listen binds TCP and UDP to the same free port; another process may
// grab the UDP port between the two binds, so try a few times.
func (s *Server) listen() error {
	var last error
	for range 20 {
		ip := s.ip
		if ip == "" {
			ip = "127.0.0.1"
		}
		l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
		if err != nil {
			return err
		}
		pc, err := net.ListenPacket("udp", l.Addr().String())
		if err != nil {
			l.Close()
			last = err
			continue
		}
		s.tcp, s.udp, s.Addr = l, pc, l.Addr().String()
		return nil
	}
	return fmt.Errorf("no port free for both UDP and TCP: %w", last)
}

// order checks that rrs hold exactly one SOA for the zone and puts it first.
func (s *Server) order(rrs []dns.RR) ([]dns.RR, error) {
	var soa dns.RR
	out := []dns.RR{nil}
	for _, rr := range rrs {
		if rr.Header().Rrtype == dns.TypeSOA && strings.EqualFold(rr.Header().Name, s.zone) {
			if soa != nil {
				return nil, errors.New("two SOA records for " + s.zone)
			}
			soa = rr
			continue
		}
		out = append(out, rr)
	}
	if soa == nil {
		return nil, errors.New("no SOA record for " + s.zone)
	}
	out[0] = soa
	return out, nil
}

// Close stops the server and waits for its goroutines. Start arranges for
// it to be called at the end of the test.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	close(s.done)
	s.tcp.Close()
	s.udp.Close()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// SetRecords replaces the zone, for example with one with a new serial.
// Transfers already running go on with the old records. The previous
// version stays in the history for IXFR, unless it has the same serial:
// a version is known by its serial, so it is replaced.
func (s *Server) SetRecords(rrs []dns.RR) {
	out, err := s.order(rrs)
	if err != nil {
		s.t.Errorf("fakeprimary: SetRecords: %v", err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	keep := len(s.history)
	if serialOf(s.records) == serialOf(out) {
		keep--
	}
	s.history = append(s.history[:keep:keep], out)
	s.records = out
}

// ClearHistory forgets the versions before the current one: IXFR queries
// from older serials then get the zone AXFR-style.
func (s *Server) ClearHistory() {
	s.mu.Lock()
	s.history = [][]dns.RR{s.records}
	s.mu.Unlock()
}

// Serials returns the serials of the versions IXFR can answer from,
// oldest first, the current one last.
func (s *Server) Serials() []uint32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]uint32, len(s.history))
	for i, v := range s.history {
		out[i] = serialOf(v)
	}
	return out
}

func serialOf(records []dns.RR) uint32 { return records[0].(*dns.SOA).Serial }

// Records returns the zone, SOA first.
func (s *Server) Records() []dns.RR {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]dns.RR(nil), s.records...)
}

// Serial returns the serial of the zone's SOA.
func (s *Server) Serial() uint32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.records[0].(*dns.SOA).Serial
}

// SetMode changes the behaviour for requests that arrive from now on.
func (s *Server) SetMode(m Mode) {
	s.mu.Lock()
	s.mode = m
	s.mu.Unlock()
}

// Transfers returns the number of AXFR and IXFR requests received so far,
// refused ones included.
func (s *Server) Transfers() int { return int(s.transfers.Load()) }

// AXFRQueries returns the number of AXFR requests received so far.
func (s *Server) AXFRQueries() int { return int(s.axfrQueries.Load()) }

// IXFRQueries returns the number of IXFR requests received so far, however
// they were answered.
func (s *Server) IXFRQueries() int { return int(s.ixfrQueries.Load()) }

// IXFRs returns the number of IXFR requests answered incrementally or with
// the single SOA that says "up to date".
func (s *Server) IXFRs() int { return int(s.ixfrs.Load()) }

// AXFRStyle returns the number of whole zones sent (or begun): answers to
// AXFR requests and IXFR requests answered AXFR-style.
func (s *Server) AXFRStyle() int { return int(s.axfrStyle.Load()) }

// LastIXFRSerial returns the serial in the authority SOA of the last IXFR
// request, 0 before any.
func (s *Server) LastIXFRSerial() uint32 { return s.lastIXFR.Load() }

// SOAQueries returns the number of SOA queries received so far.
func (s *Server) SOAQueries() int { return int(s.queries.Load()) }

func (s *Server) snapshot() (Mode, [][]dns.RR) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mode, s.history
}

func (s *Server) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *Server) untrack(c net.Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	c.Close()
}

func (s *Server) serveTCP() {
	defer s.wg.Done()
	for {
		c, err := s.tcp.Accept()
		if err != nil {
			return
		}
		if !s.track(c) {
			c.Close()
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer s.untrack(c)
			s.serveConn(c)
		}()
	}
}

// serveConn answers requests on one TCP connection until the client hangs
// up or a response script ends the connection.
func (s *Server) serveConn(c net.Conn) {
	for {
		raw, err := readMsg(c)
		if err != nil {
			return
		}
		w := &Writer{conn: c, TCP: true, s: s}
		if !s.handle(w, raw) || w.closed {
			return
		}
	}
}

func (s *Server) serveUDP() {
	defer s.wg.Done()
	buf := make([]byte, dns.MaxMsgSize)
	for {
		n, addr, err := s.udp.ReadFrom(buf)
		if err != nil {
			return
		}
		raw := append([]byte(nil), buf[:n]...)
		s.handle(&Writer{pc: s.udp, addr: addr, s: s}, raw)
	}
}

// handle answers one request. It returns false when the connection should
// be closed.
func (s *Server) handle(w *Writer, raw []byte) bool {
	req := new(dns.Msg)
	if err := req.Unpack(raw); err != nil || len(req.Question) != 1 {
		return false
	}
	mode, history := s.snapshot()
	records := history[len(history)-1]
	q := req.Question[0]
	switch q.Qtype {
	case dns.TypeAXFR:
		s.transfers.Add(1)
		s.axfrQueries.Add(1)
	case dns.TypeIXFR:
		s.transfers.Add(1)
		s.ixfrQueries.Add(1)
	case dns.TypeSOA:
		s.queries.Add(1)
	}
	if opt := req.IsEdns0(); opt != nil {
		// A server from before EDNS: it rejects the query before looking
		// at anything else, TSIG included, and knows no OPT to answer with.
		switch {
		case mode.EDNSFormErr:
			w.reply(req, dns.RcodeFormatError)
			return true
		case mode.EDNSNotImp:
			w.reply(req, dns.RcodeNotImplemented)
			return true
		}
		w.edns(opt, mode.Expire)
	}
	if !s.authenticate(w, req, raw, mode) {
		return true
	}
	if mode.Handler != nil {
		mode.Handler(w, req)
		return !w.TCP
	}
	if mode.Rcode != dns.RcodeSuccess {
		m := new(dns.Msg)
		m.SetRcode(req, mode.Rcode)
		w.WriteMsg(m, true)
		return true
	}
	if req.Opcode != dns.OpcodeQuery || q.Qclass != dns.ClassINET {
		w.reply(req, dns.RcodeNotImplemented)
		return true
	}
	switch {
	case q.Qtype == dns.TypeSOA && strings.EqualFold(q.Name, s.zone):
		s.answerSOA(w, req, mode, records[0])
		return true
	case (q.Qtype == dns.TypeAXFR || q.Qtype == dns.TypeIXFR) && strings.EqualFold(q.Name, s.zone):
		if !w.TCP {
			w.reply(req, dns.RcodeRefused)
			return true
		}
		if q.Qtype == dns.TypeIXFR {
			return s.ixfr(w, req, mode, history)
		}
		return s.transfer(w, req, mode, records)
	case !dns.IsSubDomain(s.zone, q.Name):
		w.reply(req, dns.RcodeRefused)
		return true
	}
	w.reply(req, dns.RcodeNotImplemented)
	return true
}

// authenticate checks the request's TSIG when the server has a key and sets
// up w's signer. It answers failures itself and then returns false.
func (s *Server) authenticate(w *Writer, req *dns.Msg, raw []byte, mode Mode) bool {
	t := req.IsTsig()
	if s.key == nil {
		if t == nil {
			return true
		}
		// We know no key at all: BADKEY, echoing the request's key name.
		s.tsigError(w, req, t, dns.RcodeBadKey, nil)
		return false
	}
	v, err := xfr.NewVerifier(s.key, nil)
	if err != nil {
		s.t.Errorf("fakeprimary: %v", err)
		return false
	}
	if _, err := v.Verify(raw); err != nil {
		var te *xfr.TSIGError
		errors.As(err, &te)
		switch {
		case te == nil || te.Code == 0:
			// Unsigned: policy says no, as BIND's allow-transfer does.
			w.reply(req, dns.RcodeRefused)
		case te.Code == dns.RcodeBadKey || te.Code == dns.RcodeBadSig || te.Code == dns.RcodeBadTime:
			s.tsigError(w, req, t, te.Code, v.MAC())
		default:
			w.reply(req, dns.RcodeFormatError)
		}
		return false
	}
	key := s.key
	if mode.SignKey != nil {
		key = mode.SignKey
	}
	signer, err := xfr.NewSigner(key, v.MAC())
	if err != nil {
		s.t.Errorf("fakeprimary: %v", err)
		return false
	}
	signer.Fudge = t.Fudge
	signer.Now = clock(mode.TimeShift)
	w.Signer = signer
	w.corruptAt = mode.CorruptMACAt
	return true
}

// tsigError answers NOTAUTH with a TSIG RR carrying code, in the name of
// the key the request used.
func (s *Server) tsigError(w *Writer, req *dns.Msg, t *dns.TSIG, code uint16, requestMAC []byte) {
	k := &xfr.Key{Name: strings.ToLower(dns.Fqdn(t.Hdr.Name)), Secret: []byte{0}}
	if alg, err := xfr.ParseAlgorithm(t.Algorithm); err == nil {
		k.Algorithm = alg
	} else {
		k.Algorithm = dns.HmacSHA256
	}
	if code == dns.RcodeBadTime {
		k = s.key
	}
	signer, err := xfr.NewSigner(k, requestMAC)
	if err != nil {
		s.t.Errorf("fakeprimary: %v", err)
		return
	}
	m := new(dns.Msg)
	m.SetRcode(req, dns.RcodeNotAuth)
	wire, err := m.Pack()
	if err == nil {
		wire, err = signer.SignError(wire, code)
	}
	if err != nil {
		s.t.Errorf("fakeprimary: %v", err)
		return
	}
	w.WriteRaw(wire)
}

func (s *Server) answerSOA(w *Writer, req *dns.Msg, mode Mode, soa dns.RR) {
	if !w.TCP && mode.UDPDrop {
		return
	}
	m := new(dns.Msg)
	m.SetReply(req)
	m.Authoritative = !mode.NoAA
	if !w.TCP && mode.UDPTruncate {
		m.Truncated = true
	} else {
		m.Answer = []dns.RR{soa}
	}
	if mode.BadIDAt == 1 {
		m.Id++
	}
	if mode.BadQuestionAt == 1 {
		m.Question[0].Name = "wrong." + s.zone
	}
	w.WriteMsg(m, true)
}

func readMsg(r io.Reader) ([]byte, error) {
	var l [2]byte
	if _, err := io.ReadFull(r, l[:]); err != nil {
		return nil, err
	}
	b := make([]byte, int(l[0])<<8|int(l[1]))
	_, err := io.ReadFull(r, b)
	return b, err
}
