package xfr

import (
	"errors"
	"fmt"

	"github.com/miekg/dns"
)

// Errors a transfer can end with besides the typed ones below. They are
// wrapped with context; test them with errors.Is.
var (
	ErrTruncated   = errors.New("truncated transfer")        // connection closed before the final SOA
	ErrIdleTimeout = errors.New("idle timeout")              // no message within Options.IdleTimeout
	ErrMaxDuration = errors.New("transfer took too long")    // Options.MaxDuration exceeded
	ErrTooLarge    = errors.New("message too large to sign") // Signer: the TSIG RR would not fit
)

// TSIGError is a TSIG failure: a message that does not verify, or an error
// the peer reported in its TSIG RR.
type TSIGError struct {
	// Code is dns.RcodeBadSig, dns.RcodeBadKey, dns.RcodeBadTime,
	// dns.RcodeBadTrunc or dns.RcodeFormatError (malformed TSIG RR), or 0
	// when a signature was required and missing.
	Code uint16
	// Msg is the number of the offending message, from 1.
	Msg int
	// Reason explains the failure; empty for a plain bad MAC.
	Reason string
}

func (e *TSIGError) Error() string {
	switch {
	case e.Reason == "":
		return fmt.Sprintf("tsig: %s on message %d", tsigRcode(e.Code), e.Msg)
	case e.Code == 0:
		return "tsig: " + e.Reason
	}
	return "tsig: " + tsigRcode(e.Code) + ": " + e.Reason
}

// tsigRcode names the extended rcodes TSIG uses; dns.RcodeToString maps 16
// to BADVERS or BADSIG depending on the version, so spell them out.
func tsigRcode(c uint16) string {
	switch c {
	case dns.RcodeBadSig:
		return "BADSIG"
	case dns.RcodeBadKey:
		return "BADKEY"
	case dns.RcodeBadTime:
		return "BADTIME"
	case dns.RcodeBadTrunc:
		return "BADTRUNC"
	case dns.RcodeFormatError:
		return "FORMERR"
	}
	if s, ok := dns.RcodeToString[int(c)]; ok {
		return s
	}
	return fmt.Sprintf("RCODE%d", c)
}

// RcodeError is a response with an rcode other than NOERROR.
type RcodeError struct {
	Rcode int
	Msg   int // message number, from 1

	edns bool // the response carried an OPT record
}

func (e *RcodeError) Error() string {
	name, ok := dns.RcodeToString[e.Rcode]
	if !ok {
		name = fmt.Sprintf("RCODE%d", e.Rcode)
	}
	return fmt.Sprintf("server answered %s on message %d", name, e.Msg)
}

// ProtocolError is a response that breaks RFC 5936 or RFC 1035: bad ID,
// question, flags, SOA framing, or an unparsable message.
type ProtocolError struct {
	Msg    int // message number, from 1
	Reason string
}

func (e *ProtocolError) Error() string {
	return fmt.Sprintf("message %d: %s", e.Msg, e.Reason)
}
