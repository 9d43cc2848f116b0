package fakeprimary

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/cfsecondary/cfsecondary/xfr"
	"github.com/miekg/dns"
)

// Writer sends the response to one request, over TCP or UDP.
type Writer struct {
	TCP bool
	// Signer signs the response stream; nil when the server has no key.
	// WriteMsg uses it, so that signed and unsigned messages chain
	// correctly; a Handler writing raw bytes may use it directly.
	Signer *xfr.Signer

	conn      net.Conn       // TCP
	pc        net.PacketConn // UDP
	addr      net.Addr       // UDP client
	s         *Server
	n         int // messages written by WriteMsg
	corruptAt int
	closed    bool
	ednsOn    bool   // the request had an OPT record: answer with one
	expire    uint32 // EXPIRE option for the first message
	expireOn  bool
}

// edns makes the answers carry an OPT record, as BIND's do: in every
// message, with the EXPIRE option in the first only, and only when the
// request asked for it and mode sets one.
func (w *Writer) edns(req *dns.OPT, expire int64) {
	w.ednsOn = true
	if expire == 0 {
		return
	}
	for _, o := range req.Option {
		if o.Option() == dns.EDNS0EXPIRE {
			w.expireOn = true
			w.expire = uint32(max(expire, 0))
		}
	}
}

// WriteMsg packs m and sends it, signed when sign is true and the server
// has a key; unsigned messages are fed to the signer so that the next
// signature covers them.
//
// When the request had an OPT record, m gets one too unless it has one.
func (w *Writer) WriteMsg(m *dns.Msg, sign bool) error {
	if w.ednsOn && m.IsEdns0() == nil {
		o := &dns.OPT{Hdr: dns.RR_Header{Name: ".", Rrtype: dns.TypeOPT}}
		o.SetUDPSize(1232)
		if w.expireOn && w.n == 0 {
			o.Option = append(o.Option, &dns.EDNS0_EXPIRE{Code: dns.EDNS0EXPIRE, Expire: w.expire})
		}
		m.Extra = append(m.Extra, o)
	}
	wire, err := m.Pack()
	if err != nil {
		return err
	}
	w.n++
	if w.Signer != nil {
		if sign {
			if wire, err = w.Signer.Sign(wire); err != nil {
				return err
			}
			if w.n == w.corruptAt {
				// Sign appends no Other Data, so the TSIG RR ends with
				// MAC, Original ID (2), Error (2), Other Len (2).
				wire[len(wire)-7] ^= 0x01
			}
		} else {
			w.Signer.Skip(wire)
		}
	}
	return w.WriteRaw(wire)
}

// WriteRaw sends msg as it is (over TCP with its length prefix).
func (w *Writer) WriteRaw(msg []byte) error {
	if !w.TCP {
		_, err := w.pc.WriteTo(msg, w.addr)
		return err
	}
	if len(msg) > dns.MaxMsgSize {
		return fmt.Errorf("fakeprimary: message of %d bytes", len(msg))
	}
	b := make([]byte, 2+len(msg))
	binary.BigEndian.PutUint16(b, uint16(len(msg)))
	copy(b[2:], msg)
	_, err := w.conn.Write(b)
	return err
}

// Close closes a TCP connection; the server reads no more requests on it.
func (w *Writer) Close() error {
	w.closed = true
	if w.TCP {
		return w.conn.Close()
	}
	return nil
}

// Stall keeps a TCP connection open without sending anything until the
// client hangs up or the server is closed.
func (w *Writer) Stall() {
	if w.TCP {
		io.Copy(io.Discard, w.conn)
	}
}

// Records returns the server's zone, SOA first.
func (w *Writer) Records() []dns.RR { return w.s.Records() }

// reply sends an empty answer with rcode, signed when possible.
func (w *Writer) reply(req *dns.Msg, rcode int) {
	m := new(dns.Msg)
	m.SetRcode(req, rcode)
	w.WriteMsg(m, true)
}

func clock(shift time.Duration) func() time.Time {
	return func() time.Time { return time.Now().Add(shift) }
}
