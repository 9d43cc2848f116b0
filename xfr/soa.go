package xfr

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// errTC asks for a retry over TCP.
var errTC = errors.New("truncated UDP answer")

// SOAAnswer is the answer to an SOA query.
type SOAAnswer struct {
	SOA *dns.SOA
	// Expire is the answer's EDNS EXPIRE option in seconds (RFC 7314), or
	// -1 when absent.
	Expire int64
}

// QuerySOA asks p for the SOA of zone, as a secondary does before deciding
// to transfer. It asks over UDP and again over TCP when the UDP answer is
// truncated or does not come (or UDP fails outright). With p.Key the query
// is signed and the answer must verify. The answer must be authoritative
// (AA=1), NOERROR, and hold the SOA of exactly zone. Unless opt.NoEDNS the
// query asks for the EXPIRE option, and is asked again without EDNS when
// the primary answers FORMERR or NOTIMP without it.
func QuerySOA(ctx context.Context, p Peer, zone string, opt Options) (SOAAnswer, error) {
	opt = opt.withDefaults()
	zone = strings.ToLower(dns.Fqdn(zone))
	var ans SOAAnswer
	err := ednsRetry(opt, func(edns bool) error {
		var err error
		ans, err = querySOAOnce(ctx, p, zone, opt, edns)
		return err
	})
	if err != nil {
		return SOAAnswer{Expire: -1}, fmt.Errorf("soa query for %s to %s: %w", zone, p.Addr, err)
	}
	return ans, nil
}

// querySOAOnce asks over UDP, then over TCP when needed.
func querySOAOnce(ctx context.Context, p Peer, zone string, opt Options, edns bool) (SOAAnswer, error) {
	ans, err := querySOA(ctx, p, zone, opt, edns, "udp")
	var netErr net.Error
	switch {
	case errors.Is(err, errTC):
		ans, err = querySOA(ctx, p, zone, opt, edns, "tcp")
	case errors.As(err, &netErr) && ctx.Err() == nil:
		// No answer over UDP (timeout, ICMP unreachable): some primaries
		// only listen on TCP, or drop UDP from us.
		udpErr := err
		if ans, err = querySOA(ctx, p, zone, opt, edns, "tcp"); err != nil {
			err = fmt.Errorf("%w (after %v)", err, udpErr)
		}
	}
	return ans, err
}

func querySOA(ctx context.Context, p Peer, zone string, opt Options, edns bool, network string) (SOAAnswer, error) {
	req := newRequest(zone, dns.TypeSOA, edns)
	wire, verify, err := sign(req, p.Key, opt)
	if err != nil {
		return SOAAnswer{}, err
	}
	d := net.Dialer{Timeout: opt.DialTimeout}
	conn, err := d.DialContext(ctx, network, p.Addr)
	if err != nil {
		if ctx.Err() != nil {
			return SOAAnswer{}, context.Cause(ctx)
		}
		return SOAAnswer{}, fmt.Errorf("%s: %w", network, err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	var msg []byte
	if network == "udp" {
		msg, err = exchangeUDP(conn, wire, req.Id, opt.DialTimeout)
	} else {
		msg, err = exchangeTCP(conn, wire, opt.IdleTimeout)
	}
	if err != nil {
		if ctx.Err() != nil {
			return SOAAnswer{}, context.Cause(ctx)
		}
		return SOAAnswer{}, fmt.Errorf("%s: %w", network, err)
	}
	ans, err := checkSOA(msg, req.Id, zone, verify)
	if errors.Is(err, errTC) && network == "tcp" {
		err = &ProtocolError{Msg: 1, Reason: "TC bit set over TCP"}
	}
	if err != nil && !errors.Is(err, errTC) {
		err = fmt.Errorf("%s: %w", network, err)
	}
	return ans, err
}

// exchangeUDP sends the query and waits for an answer with our ID; other
// datagrams are ignored, as stray or forged answers must not end the wait.
func exchangeUDP(conn net.Conn, query []byte, id uint16, timeout time.Duration) ([]byte, error) {
	conn.SetDeadline(time.Now().Add(timeout))
	if _, err := conn.Write(query); err != nil {
		return nil, err
	}
	buf := make([]byte, dns.MaxMsgSize)
	for {
		n, err := conn.Read(buf)
		if err != nil {
			return nil, err
		}
		if n >= 12 && uint16(buf[0])<<8|uint16(buf[1]) == id && buf[2]&0x80 != 0 {
			return buf[:n:n], nil
		}
	}
}

func exchangeTCP(conn net.Conn, query []byte, timeout time.Duration) ([]byte, error) {
	conn.SetDeadline(time.Now().Add(timeout))
	if err := writeMsg(conn, query); err != nil {
		return nil, err
	}
	return readMsg(conn)
}

// checkSOA validates the answer to an SOA query.
func checkSOA(wire []byte, id uint16, zone string, verify *Verifier) (SOAAnswer, error) {
	m := new(dns.Msg)
	if err := m.Unpack(wire); err != nil {
		return SOAAnswer{}, &ProtocolError{Msg: 1, Reason: "malformed message: " + err.Error()}
	}
	if m.Id != id {
		return SOAAnswer{}, &ProtocolError{Msg: 1, Reason: fmt.Sprintf("ID %d does not match request ID %d", m.Id, id)}
	}
	if !m.Response || m.Opcode != dns.OpcodeQuery {
		return SOAAnswer{}, &ProtocolError{Msg: 1, Reason: fmt.Sprintf("not a response to a query (QR=%t, opcode %s)", m.Response, dns.OpcodeToString[m.Opcode])}
	}
	// An unauthenticated TC can only make us ask again over TCP, so it
	// is honoured before the signature is checked.
	if m.Truncated {
		return SOAAnswer{}, errTC
	}
	if m.Rcode != dns.RcodeSuccess {
		if t := m.IsTsig(); t != nil && t.Error != 0 && verify != nil {
			return SOAAnswer{}, &TSIGError{Code: t.Error, Msg: 1, Reason: "reported by peer on message 1"}
		}
		return SOAAnswer{}, &RcodeError{Rcode: m.Rcode, Msg: 1, edns: m.IsEdns0() != nil}
	}
	if verify != nil {
		if _, err := verify.Verify(wire); err != nil {
			return SOAAnswer{}, err
		}
	}
	if len(m.Question) != 1 {
		return SOAAnswer{}, &ProtocolError{Msg: 1, Reason: fmt.Sprintf("%d questions, want 1", len(m.Question))}
	}
	if q := m.Question[0]; q.Qtype != dns.TypeSOA || q.Qclass != dns.ClassINET || !strings.EqualFold(q.Name, zone) {
		return SOAAnswer{}, &ProtocolError{Msg: 1, Reason: fmt.Sprintf("question %s %s %s, want %s IN SOA", q.Name, dns.Class(q.Qclass), dns.Type(q.Qtype), zone)}
	}
	if !m.Authoritative {
		return SOAAnswer{}, &ProtocolError{Msg: 1, Reason: "answer not authoritative (AA=0): the peer does not serve " + zone}
	}
	for _, rr := range m.Answer {
		if soa, ok := rr.(*dns.SOA); ok && strings.EqualFold(soa.Hdr.Name, zone) && soa.Hdr.Class == dns.ClassINET {
			return SOAAnswer{SOA: soa, Expire: expireOf(m)}, nil
		}
	}
	return SOAAnswer{}, &ProtocolError{Msg: 1, Reason: "no SOA for " + zone + " in the answer"}
}
