package xfr

import (
	"crypto/hmac"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// DefaultMaxUnsigned is how many unsigned messages may follow each other in
// a TSIG-signed TCP stream (RFC 8945 5.3.1: "no more than 99").
const DefaultMaxUnsigned = 99

// DefaultFudge is the permitted clock skew in seconds put in our signatures.
const DefaultFudge = 300

// The MAC of a message covers, in order (RFC 8945 4.3):
//
//	first message of an exchange:  [request MAC]  message  all TSIG variables
//	later signed messages:          prior MAC  unsigned messages  message  timers
//
// where a MAC is prefixed by its 2-byte length, "message" is the wire
// message without its TSIG RR (ARCOUNT one less, ID set to the TSIG's
// Original ID) and unsigned messages are included whole, as sent. Both the
// Signer and the Verifier keep a running HMAC that already holds the prior
// MAC and any unsigned messages, so a long stream is never buffered.

// Signer signs the messages one side sends in a TSIG exchange: a request
// (NewSigner with a nil request MAC) or the stream of responses to a signed
// request (NewSigner with that request's MAC).
type Signer struct {
	Fudge uint16           // DefaultFudge when zero
	Now   func() time.Time // time.Now when nil

	key    *Key
	h      hash.Hash // prior MAC and unsigned messages so far; nil until needed
	prior  []byte
	signed int
}

// NewSigner returns a Signer for key k. requestMAC is nil to sign a request,
// or the MAC of the request being answered.
func NewSigner(k *Key, requestMAC []byte) (*Signer, error) {
	if err := k.check(); err != nil {
		return nil, err
	}
	return &Signer{key: k, prior: clone(requestMAC)}, nil
}

// MAC returns the MAC of the last message signed.
func (s *Signer) MAC() []byte { return clone(s.prior) }

func (s *Signer) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Signer) running() hash.Hash {
	if s.h == nil {
		s.h = s.key.mac()
		writeMAC(s.h, s.prior)
	}
	return s.h
}

// Skip records that msg is sent without a signature: the next signature
// covers it.
func (s *Signer) Skip(msg []byte) {
	s.running().Write(msg)
}

// Sign returns msg, a packed message without a TSIG RR, with a TSIG RR
// appended. Its Original ID is msg's ID.
func (s *Signer) Sign(msg []byte) ([]byte, error) {
	return s.sign(msg, 0, nil)
}

// SignError returns msg with a TSIG RR that carries a TSIG error, as a
// server answers a request that fails verification (RFC 8945 5.3.2): for
// dns.RcodeBadKey and dns.RcodeBadSig the TSIG RR has no MAC; for
// dns.RcodeBadTime it is signed and holds the server's time in Other Data.
func (s *Signer) SignError(msg []byte, code uint16) ([]byte, error) {
	now := s.now()
	switch code {
	case dns.RcodeBadKey, dns.RcodeBadSig:
		return appendTSIG(msg, s.key, uint64(now.Unix()), s.fudge(), nil, code, nil)
	case dns.RcodeBadTime:
		var other [6]byte
		putUint48(other[:], uint64(now.Unix()))
		return s.sign(msg, code, other[:])
	}
	return nil, fmt.Errorf("tsig: %s is not a TSIG error", tsigRcode(code))
}

func (s *Signer) fudge() uint16 {
	if s.Fudge == 0 {
		return DefaultFudge
	}
	return s.Fudge
}

func (s *Signer) sign(msg []byte, code uint16, other []byte) ([]byte, error) {
	if len(msg) < 12 {
		return nil, errors.New("tsig: message shorter than a header")
	}
	signed := uint64(s.now().Unix())
	fudge := s.fudge()
	h := s.running()
	h.Write(msg)
	if s.signed == 0 {
		h.Write(variables(s.key, signed, fudge, code, other))
	} else {
		h.Write(timers(signed, fudge))
	}
	mac := h.Sum(nil)
	out, err := appendTSIG(msg, s.key, signed, fudge, mac, code, other)
	if err != nil {
		return nil, err
	}
	s.prior, s.h = mac, nil
	s.signed++
	return out, nil
}

// Verifier checks the TSIG RRs of the messages one side receives: a
// request (NewVerifier with a nil request MAC) or the responses to our
// signed request, which may be a stream with unsigned messages in between.
type Verifier struct {
	MaxUnsigned int              // unsigned messages allowed in a row; DefaultMaxUnsigned from NewVerifier
	Now         func() time.Time // time.Now when nil

	key      *Key
	request  bool // verifying a request: no prior MAC, wording of errors
	h        hash.Hash
	prior    []byte
	n        int  // messages seen
	unsigned int  // unsigned messages since the last signed one
	last     bool // the last message seen was signed
}

// NewVerifier returns a Verifier for key k. requestMAC is nil to verify a
// request, or the MAC of the request we sent.
func NewVerifier(k *Key, requestMAC []byte) (*Verifier, error) {
	if err := k.check(); err != nil {
		return nil, err
	}
	return &Verifier{MaxUnsigned: DefaultMaxUnsigned, key: k, request: requestMAC == nil, prior: clone(requestMAC)}, nil
}

// MAC returns the MAC of the last message verified (also when it was
// rejected only for BADTIME, since a server signs that error response).
func (v *Verifier) MAC() []byte { return clone(v.prior) }

func (v *Verifier) what() string {
	if v.request {
		return "request"
	}
	return "response"
}

// Verify checks msg, the raw wire of the next message received. It returns
// whether msg was signed; an unsigned message is fine (nil error) as long
// as the rules allow it, and its bytes count towards the next MAC. Errors
// are *TSIGError. After an error the Verifier must not be used again.
func (v *Verifier) Verify(msg []byte) (signed bool, err error) {
	v.n++
	v.last = false
	off, t, err := findTSIG(msg)
	if err != nil {
		return false, &TSIGError{Code: dns.RcodeFormatError, Msg: v.n, Reason: fmt.Sprintf("%v on message %d", err, v.n)}
	}
	if t == nil {
		if v.n == 1 {
			return false, &TSIGError{Msg: v.n, Reason: v.what() + " not signed"}
		}
		v.unsigned++
		if v.unsigned > v.MaxUnsigned {
			return false, &TSIGError{Msg: v.n, Reason: fmt.Sprintf("message %d unsigned, more than %d in a row", v.n, v.MaxUnsigned)}
		}
		v.running().Write(msg)
		return false, nil
	}
	// A TSIG error from the peer: BADKEY and BADSIG responses carry no MAC
	// at all, and we give up on any of them, so there is nothing to verify.
	if t.error != 0 {
		return true, &TSIGError{Code: t.error, Msg: v.n, Reason: fmt.Sprintf("reported by peer on message %d", v.n)}
	}
	if !strings.EqualFold(t.name, v.key.Name) {
		return true, &TSIGError{Code: dns.RcodeBadKey, Msg: v.n, Reason: fmt.Sprintf("%s signed with key %s (want %s)", v.what(), t.name, v.key.Name)}
	}
	if alg, err := ParseAlgorithm(t.algorithm); err != nil || alg != v.key.Algorithm {
		return true, &TSIGError{Code: dns.RcodeBadKey, Msg: v.n, Reason: fmt.Sprintf("%s signed with algorithm %s (key %s is %s)", v.what(), t.algorithm, v.key.Name, v.key.Algorithm)}
	}
	mac := t.mac
	h := v.running()
	// RFC 8945 5.2.2.1: a MAC may be truncated, but not below half the
	// hash or 10 octets, and never be longer than the hash.
	full := h.Size()
	if min := max(10, full/2); len(mac) > full || len(mac) < min {
		return true, &TSIGError{Code: dns.RcodeBadTrunc, Msg: v.n, Reason: fmt.Sprintf("MAC of %d octets on message %d, want %d to %d", len(mac), v.n, min, full)}
	}
	var hdr [12]byte
	copy(hdr[:], msg)
	binary.BigEndian.PutUint16(hdr[0:], t.origID)
	binary.BigEndian.PutUint16(hdr[10:], binary.BigEndian.Uint16(hdr[10:])-1)
	h.Write(hdr[:])
	h.Write(msg[12:off])
	if v.n == 1 {
		h.Write(variables(v.key, t.signed, t.fudge, t.error, t.other))
	} else {
		h.Write(timers(t.signed, t.fudge))
	}
	if !hmac.Equal(h.Sum(nil)[:len(mac)], mac) {
		return true, &TSIGError{Code: dns.RcodeBadSig, Msg: v.n}
	}
	v.prior, v.h = clone(mac), nil
	v.unsigned = 0
	v.last = true
	// Time is checked only once the MAC is known good (RFC 8945 5.2.3), so
	// a forger learns nothing from the answer.
	now := v.Now
	if now == nil {
		now = time.Now
	}
	n := now().Unix()
	if d := n - int64(t.signed); d > int64(t.fudge) || -d > int64(t.fudge) {
		return true, &TSIGError{Code: dns.RcodeBadTime, Msg: v.n, Reason: fmt.Sprintf("time signed %d outside fudge %d of now %d on message %d", t.signed, t.fudge, n, v.n)}
	}
	return true, nil
}

// Finish reports an error unless the last message verified was signed;
// call it after the final message of a stream (RFC 8945 5.3.1).
func (v *Verifier) Finish() error {
	if v.n > 0 && !v.last {
		return &TSIGError{Msg: v.n, Reason: "final message unsigned"}
	}
	return nil
}

func (v *Verifier) running() hash.Hash {
	if v.h == nil {
		v.h = v.key.mac()
		writeMAC(v.h, v.prior)
	}
	return v.h
}

// writeMAC adds a prior MAC with its length; nothing when there is none.
func writeMAC(h hash.Hash, mac []byte) {
	if len(mac) == 0 {
		return
	}
	var l [2]byte
	binary.BigEndian.PutUint16(l[:], uint16(len(mac)))
	h.Write(l[:])
	h.Write(mac)
}

// variables returns the TSIG variables of RFC 8945 4.3.3 in wire form.
// Names are the key's, which are canonical (lower case, uncompressed).
func variables(k *Key, signed uint64, fudge, code uint16, other []byte) []byte {
	b := make([]byte, 0, 2*255+22+len(other))
	b = appendName(b, k.Name)
	b = binary.BigEndian.AppendUint16(b, dns.ClassANY)
	b = binary.BigEndian.AppendUint32(b, 0) // TTL
	b = appendName(b, k.Algorithm)
	b = append(b, timers(signed, fudge)...)
	b = binary.BigEndian.AppendUint16(b, code)
	b = binary.BigEndian.AppendUint16(b, uint16(len(other)))
	return append(b, other...)
}

// timers returns Time Signed and Fudge in wire form.
func timers(signed uint64, fudge uint16) []byte {
	var b [8]byte
	putUint48(b[:], signed)
	binary.BigEndian.PutUint16(b[6:], fudge)
	return b[:]
}

func putUint48(b []byte, v uint64) {
	b[0], b[1], b[2], b[3], b[4], b[5] = byte(v>>40), byte(v>>32), byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
}

// appendName appends the uncompressed wire form of a lower-case FQDN.
func appendName(b []byte, name string) []byte {
	var buf [256]byte
	n, err := dns.PackDomainName(strings.ToLower(dns.Fqdn(name)), buf[:], 0, nil, false)
	if err != nil {
		// Key names are checked when the key is made.
		panic("xfr: bad name " + name + ": " + err.Error())
	}
	return append(b, buf[:n]...)
}

// appendTSIG returns a copy of msg with a TSIG RR added to the additional
// section. The Original ID is msg's ID.
func appendTSIG(msg []byte, k *Key, signed uint64, fudge uint16, mac []byte, code uint16, other []byte) ([]byte, error) {
	if len(msg) < 12 {
		return nil, errors.New("tsig: message shorter than a header")
	}
	arcount := binary.BigEndian.Uint16(msg[10:])
	if arcount == 0xFFFF {
		return nil, ErrTooLarge
	}
	rdata := appendName(nil, k.Algorithm)
	rdata = append(rdata, timers(signed, fudge)...)
	rdata = binary.BigEndian.AppendUint16(rdata, uint16(len(mac)))
	rdata = append(rdata, mac...)
	rdata = append(rdata, msg[0], msg[1]) // Original ID
	rdata = binary.BigEndian.AppendUint16(rdata, code)
	rdata = binary.BigEndian.AppendUint16(rdata, uint16(len(other)))
	rdata = append(rdata, other...)

	out := make([]byte, len(msg), len(msg)+len(rdata)+255+10)
	copy(out, msg)
	out = appendName(out, k.Name)
	out = binary.BigEndian.AppendUint16(out, dns.TypeTSIG)
	out = binary.BigEndian.AppendUint16(out, dns.ClassANY)
	out = binary.BigEndian.AppendUint32(out, 0)
	out = binary.BigEndian.AppendUint16(out, uint16(len(rdata)))
	out = append(out, rdata...)
	if len(out) > dns.MaxMsgSize {
		return nil, ErrTooLarge
	}
	binary.BigEndian.PutUint16(out[10:], arcount+1)
	return out, nil
}

// tsigRR is a TSIG RR as found on the wire.
type tsigRR struct {
	name      string // owner: the key name
	algorithm string
	signed    uint64 // Time Signed
	fudge     uint16
	mac       []byte
	origID    uint16
	error     uint16
	other     []byte
}

// findTSIG walks the raw message and returns the offset and contents of its
// TSIG RR, or a nil RR when the message is unsigned. The TSIG RR must be the
// last RR of the additional section and the last thing in the message (RFC
// 8945 5.1), and its fields must add up exactly; anything else is an error,
// so that no unauthenticated bytes ride along with a signed message.
func findTSIG(msg []byte) (int, *tsigRR, error) {
	if len(msg) < 12 {
		return 0, nil, errors.New("message shorter than a header")
	}
	qd := int(binary.BigEndian.Uint16(msg[4:]))
	an := int(binary.BigEndian.Uint16(msg[6:]))
	ns := int(binary.BigEndian.Uint16(msg[8:]))
	ar := int(binary.BigEndian.Uint16(msg[10:]))
	off := 12
	var err error
	for range qd {
		if _, off, err = dns.UnpackDomainName(msg, off); err != nil {
			return 0, nil, fmt.Errorf("bad question: %w", err)
		}
		if off += 4; off > len(msg) {
			return 0, nil, errors.New("question truncated")
		}
	}
	total := an + ns + ar
	for i := range total {
		start := off
		var name string
		if name, off, err = dns.UnpackDomainName(msg, off); err != nil {
			return 0, nil, fmt.Errorf("bad owner name in RR %d: %w", i+1, err)
		}
		if off+10 > len(msg) {
			return 0, nil, fmt.Errorf("RR %d truncated", i+1)
		}
		typ := binary.BigEndian.Uint16(msg[off:])
		class := binary.BigEndian.Uint16(msg[off+2:])
		ttl := binary.BigEndian.Uint32(msg[off+4:])
		rdlen := int(binary.BigEndian.Uint16(msg[off+8:]))
		rdata := off + 10
		if off = rdata + rdlen; off > len(msg) {
			return 0, nil, fmt.Errorf("RR %d truncated", i+1)
		}
		if typ != dns.TypeTSIG {
			continue
		}
		switch {
		case i != total-1 || i < an+ns:
			return 0, nil, errors.New("TSIG RR not last in additional section")
		case off != len(msg):
			return 0, nil, errors.New("data after TSIG RR")
		case class != dns.ClassANY || ttl != 0:
			return 0, nil, errors.New("TSIG RR class not ANY or TTL not 0")
		}
		t, err := parseTSIG(msg[:off], rdata)
		if err != nil {
			return 0, nil, err
		}
		t.name = name
		return start, t, nil
	}
	return 0, nil, nil
}

// parseTSIG parses TSIG RDATA from msg[off:] to the end of msg.
func parseTSIG(msg []byte, off int) (*tsigRR, error) {
	bad := errors.New("malformed TSIG RR")
	t := new(tsigRR)
	var err error
	if t.algorithm, off, err = dns.UnpackDomainName(msg, off); err != nil {
		return nil, bad
	}
	if off+10 > len(msg) {
		return nil, bad
	}
	t.signed = uint64(binary.BigEndian.Uint16(msg[off:]))<<32 | uint64(binary.BigEndian.Uint32(msg[off+2:]))
	t.fudge = binary.BigEndian.Uint16(msg[off+6:])
	n := int(binary.BigEndian.Uint16(msg[off+8:]))
	off += 10
	if off+n+6 > len(msg) {
		return nil, bad
	}
	t.mac = msg[off : off+n : off+n]
	off += n
	t.origID = binary.BigEndian.Uint16(msg[off:])
	t.error = binary.BigEndian.Uint16(msg[off+2:])
	n = int(binary.BigEndian.Uint16(msg[off+4:]))
	off += 6
	if off+n != len(msg) {
		return nil, bad
	}
	t.other = msg[off:]
	return t, nil
}

func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte{}, b...)
}
