// Package xfr pulls zones from a primary server: AXFR over TCP (RFC 5936),
// IXFR over TCP (RFC 1995) and SOA queries, authenticated with TSIG (RFC
// 8945), asking for the EDNS EXPIRE option (RFC 7314).
//
// The client is strict on purpose. A secondary that accepts a broken or
// forged transfer serves wrong data until the next refresh, so every message
// of a transfer is checked (ID, flags, rcode, question, SOA framing) and the
// TSIG chain is verified by this package itself: miekg/dns verifies each
// message on its own and cannot handle the unsigned messages RFC 8945 allows
// between signed ones.
//
// Records are streamed into a Sink as they arrive; a transfer is complete
// only when AXFR returns a nil error. On any error the caller must discard
// what the sink received. IXFR shares the same message checks; its deltas
// are held in memory and returned only once the whole answer is good, and
// its errors say (ErrFallback) when AXFR should be used instead.
//
// The signing half of TSIG (Signer) is exported so that test servers sign
// with the same code the client verifies with.
package xfr

import "github.com/miekg/dns"

// Sink receives the records of a transfer as they arrive. An error from Add aborts the transfer.
type Sink interface{ Add(rr dns.RR) error }
