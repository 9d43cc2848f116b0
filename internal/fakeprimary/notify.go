package fakeprimary

import (
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/cfsecondary/cfsecondary/xfr"
	"github.com/miekg/dns"
)

// Notify sends a NOTIFY for the zone (RFC 1996) over UDP from 127.0.0.1 to
// addr and waits for the answer, as a primary does after a change. It is
// signed with the server's key when it has one (WithKey). The query holds
// the current SOA in its answer section (RFC 1996 §3.7). It fails unless
// the answer is a NOERROR response to it with opcode NOTIFY, or when a
// signed answer does not verify.
func (s *Server) Notify(addr string) error { return s.NotifyWith(addr, s.key) }

// NotifyWith is Notify signed with k, or unsigned when k is nil.
func (s *Server) NotifyWith(addr string, k *xfr.Key) error {
	m := new(dns.Msg)
	m.SetNotify(s.zone)
	m.Answer = []dns.RR{dns.Copy(s.Records()[0])}
	wire, err := m.Pack()
	if err != nil {
		return err
	}
	var verify *xfr.Verifier
	if k != nil {
		signer, err := xfr.NewSigner(k, nil)
		if err != nil {
			return err
		}
		if wire, err = signer.Sign(wire); err != nil {
			return err
		}
		if verify, err = xfr.NewVerifier(k, signer.MAC()); err != nil {
			return err
		}
	}
	d := net.Dialer{LocalAddr: &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}}
	conn, err := d.Dial("udp", addr)
	if err != nil {
		return fmt.Errorf("notify %s: %w", addr, err)
	}
	defer conn.Close()
	buf := make([]byte, dns.MaxMsgSize)
	// UDP on loopback is not lost, but the secondary may be starting up:
	// retry a few times, as a primary does.
	for try := 0; try < 3; try++ {
		if _, err := conn.Write(wire); err != nil {
			return fmt.Errorf("notify %s: %w", addr, err)
		}
		conn.SetReadDeadline(time.Now().Add(2 * time.Second))
		for {
			n, err := conn.Read(buf)
			if errors.Is(err, os.ErrDeadlineExceeded) {
				break
			}
			if err != nil {
				return fmt.Errorf("notify %s: %w", addr, err)
			}
			r := new(dns.Msg)
			if r.Unpack(buf[:n]) != nil || r.Id != m.Id || !r.Response {
				continue // not the answer to this NOTIFY
			}
			return checkNotifyAnswer(r, buf[:n], verify, addr)
		}
	}
	return fmt.Errorf("notify %s: no answer", addr)
}

func checkNotifyAnswer(r *dns.Msg, raw []byte, verify *xfr.Verifier, addr string) error {
	if r.Opcode != dns.OpcodeNotify {
		return fmt.Errorf("notify %s: answer has opcode %s", addr, dns.OpcodeToString[r.Opcode])
	}
	if r.Rcode != dns.RcodeSuccess {
		return fmt.Errorf("notify %s: answer %s", addr, dns.RcodeToString[r.Rcode])
	}
	if verify != nil && r.IsTsig() != nil {
		if _, err := verify.Verify(raw); err != nil {
			return fmt.Errorf("notify %s: answer: %w", addr, err)
		}
	}
	return nil
}
