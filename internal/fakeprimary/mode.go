package fakeprimary

import (
	"time"

	"github.com/cfsecondary/cfsecondary/xfr"
	"github.com/miekg/dns"
)

// Mode scripts how the server misbehaves. The zero Mode is a correct
// primary. Message numbers count from 1 within one response stream.
type Mode struct {
	// TSIG (only with WithKey).
	SignEvery    int           // sign message 1 and then every Nth (1+N, 1+2N, ...) and the last; 0 or 1: all
	UnsignedLast bool          // leave the final message unsigned
	SignKey      *xfr.Key      // sign responses with this key (wrong name, algorithm or secret) instead
	CorruptMACAt int           // flip a bit in the MAC of this message
	TimeShift    time.Duration // shift Time Signed, e.g. beyond the fudge

	// Transfer framing.
	NoFinalSOA     bool // omit the closing SOA and close the connection
	CloseAfter     int  // close the connection after this many messages
	StallAfter     int  // after this many messages send nothing more but keep the connection open
	MidSOA         bool // put an extra copy of the SOA in the middle of the stream
	WrongEndSerial bool // the closing SOA has serial+1
	OutOfZone      int  // add this many records whose owners are outside the zone
	BadIDAt        int  // this message gets a wrong ID (also for SOA answers when 1)
	BadQuestionAt  int  // this message gets a wrong question (also for SOA answers when 1)
	Rcode          int  // answer every query with this rcode and no records (e.g. dns.RcodeRefused)

	// Pacing.
	Delay time.Duration // wait this long before each message

	// SOA queries.
	NoAA        bool // answer SOA queries without the AA bit
	UDPTruncate bool // answer SOA queries over UDP with TC=1 and no records
	UDPDrop     bool // do not answer over UDP at all

	// IXFR (RFC 1995). The framing and TSIG misbehaviours above apply to
	// IXFR answers too, except MidSOA, which only AXFR-style answers get.
	// OutOfZone records go in the additions of the first delta.
	IXFR          IXFRMode
	IXFRDropAfter int // close the connection after this many messages of an IXFR answer

	// EDNS (RFC 6891, RFC 7314).
	// Expire is put in an EXPIRE option in the first message of answers
	// to queries that ask for it (SOA, AXFR, IXFR): 0 sends none (the
	// default), > 0 that many seconds, ExpireZero (< 0) a value of 0.
	Expire      int64
	EDNSFormErr bool // answer FORMERR, without OPT and unsigned, to any query with an OPT record
	EDNSNotImp  bool // the same with NOTIMP

	// Handler, when set, answers every request that passed the TSIG
	// check instead of the built-in logic.
	Handler Handler
}

// ExpireZero as Mode.Expire sends an EXPIRE option of 0 seconds: a zone
// that has expired on the primary.
const ExpireZero int64 = -1

// IXFRMode scripts the answers to IXFR queries.
type IXFRMode int

const (
	// IXFRIncremental, the default, answers as RFC 1995 says: a single
	// SOA when the client's serial is current (or newer), one delta per
	// version since the client's when it is in the history, and the whole
	// zone AXFR-style otherwise.
	IXFRIncremental IXFRMode = iota
	IXFRAXFRStyle            // always answer AXFR-style, even when the client is current
	IXFRNotImp               // answer NOTIMP (AXFR still works)
	IXFRFormErr              // answer FORMERR
	IXFRRefused              // answer REFUSED
	IXFREmpty                // answer NOERROR with no records
	IXFRBrokenChain          // leave out the second delta (with one delta: end it past the current serial)
	IXFRSingleSOA            // answer the single current SOA even though it is newer, then close the connection
	IXFRCondensed            // one delta from the client's version straight to the current one (RFC 1995 §6)
)

// Handler scripts a response by hand. req is the parsed request; w writes
// raw or packed (and optionally signed) messages. For TCP the connection is
// closed when the handler returns.
type Handler func(w *Writer, req *dns.Msg)

// Option configures a Server at Start.
type Option func(*Server)

// WithKey makes the server require requests signed with k and sign its
// responses. Unsigned requests are REFUSED; bad ones get NOTAUTH with the
// TSIG error (BADKEY, BADSIG, BADTIME) as RFC 8945 5.3.2 says.
func WithKey(k *xfr.Key) Option { return func(s *Server) { s.key = k } }

// WithPerMessage sets how many records go in one message of an AXFR or
// IXFR answer (default 100).
func WithPerMessage(n int) Option { return func(s *Server) { s.perMsg = n } }

// WithIP makes the server listen on another loopback address than 127.0.0.1 (127.0.0.2, …),
// so that tests can tell primaries apart by address, as NOTIFY handling does.
func WithIP(ip string) Option { return func(s *Server) { s.ip = ip } }

// WithMode sets the initial Mode.
func WithMode(m Mode) Option { return func(s *Server) { s.mode = m } }
