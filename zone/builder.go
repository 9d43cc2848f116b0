package zone

import (
	"errors"

	"github.com/miekg/dns"
)

// Builder makes a Zone from a stream of RRs, such as an incoming AXFR. It
// is not safe for concurrent use.
type Builder struct {
	e   *editor
	err error // sticky: once Add fails (other than out of zone), Zone fails
}

var errBuilt = errors.New("zone: Builder already built its Zone")

// NewBuilder returns a Builder for the zone origin (fully qualified, any
// case) that enforces lim.
func NewBuilder(origin string, lim Limits) *Builder {
	e, err := newEditor(origin, lim)
	return &Builder{e: e, err: err}
}

// Add adds rr to the zone, taking ownership of it (see the package doc).
// Exact duplicates are ignored (RFC 5936 2.2).
//
// Add fails as soon as a limit is crossed, with an error wrapping ErrLimit,
// so a transfer can be aborted early. A name not at or below the origin
// gives an error wrapping ErrOutOfZone; the RR is skipped and the Builder
// stays usable. Any other error (class not IN, a meta type, a bad name) is
// remembered and returned by Zone as well.
func (b *Builder) Add(rr dns.RR) error {
	if b.err != nil {
		return b.err
	}
	err := b.e.add(rr, true)
	if err != nil && !errors.Is(err, ErrOutOfZone) {
		b.err = err
	}
	return err
}

// Zone finishes the build. It fails if the zone has no SOA at the apex or
// more than one, an SOA elsewhere, a CNAME beside other data (RRSIG, NSEC and
// NSEC3 aside) or more than one CNAME at a name, or more than one DNAME at a
// name. The Builder cannot be used afterwards.
func (b *Builder) Zone() (*Zone, error) {
	if b.err != nil {
		return nil, b.err
	}
	z, err := b.e.zone()
	b.e, b.err = nil, errBuilt
	return z, err
}
