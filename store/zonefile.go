package store

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/cfsecondary/cfsecondary/zone"
)

// A zone file is RFC 1035 master format that BIND's named-checkzone
// accepts:
//
//	; zone example.org. serial 42 written 2026-01-02T03:04:05Z by cfsecondary
//	$ORIGIN example.org.
//	example.org.	3600	IN	SOA	ns1.example.org. hostmaster.example.org. 42 ...
//	...one RR per line, absolute names, explicit TTL and class...
//	; end of zone example.org. serial 42 records 1234 crc32c 0a1b2c3d
//
// The trailer is what makes a file trustworthy: a file cut short (disk
// full, a copy interrupted, a torn write on a file system that lies) has no
// trailer or the wrong count, and the CRC-32C of every byte before the
// trailer catches the rest: a flipped bit in an address would otherwise be
// served until the zone's serial next changes, which may be never.

const trailerPrefix = "; end of zone "

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// writeZone writes z to w in zone file format.
func writeZone(w *bufio.Writer, z *zone.Zone, now time.Time) error {
	var (
		crc   uint32
		line  = make([]byte, 0, 512)
		count int
		err   error
	)
	put := func(b []byte) {
		crc = crc32.Update(crc, castagnoli, b)
		_, err = w.Write(b)
	}
	origin := z.Origin()
	line = fmt.Appendf(line, "; zone %s serial %d written %s by cfsecondary\n$ORIGIN %s\n",
		origin, z.Serial(), now.UTC().Format(time.RFC3339), origin)
	put(line)
	z.Walk(func(rrs []dns.RR) bool {
		for _, rr := range rrs {
			line, err = appendRR(line[:0], rr)
			if err != nil {
				return false
			}
			line = append(line, '\n')
			put(line)
			count++
		}
		return err == nil // bufio's error is sticky: stop at the first
	})
	if err != nil {
		return fmt.Errorf("store: zone %s: %w", origin, err)
	}
	if count != z.Len() {
		// Walk and Len disagree: a bug in package zone, but the file would
		// fail its own check at the next start, so don't write it.
		return fmt.Errorf("store: zone %s: walked %d records, zone says %d", origin, count, z.Len())
	}
	line = fmt.Appendf(line[:0], "%s%s serial %d records %d crc32c %08x\n", trailerPrefix, origin, z.Serial(), count, crc)
	if _, err := w.Write(line); err != nil {
		return fmt.Errorf("store: writing zone %s: %v", origin, err)
	}
	return nil
}

// trailer is the parsed last line of a zone file.
type trailer struct {
	origin  string
	serial  uint32
	records int
	crc     uint32
	offset  int64 // where the trailer line starts: the length of the rest
}

// maxTrailer bounds the trailer line: a 255-octet name written with every
// octet escaped as \DDD is about 1 KB.
const maxTrailer = 2048

// readTrailer reads and parses the last line of f, whose size is size.
func readTrailer(f *os.File, size int64) (trailer, error) {
	n := min(size, maxTrailer)
	tail := make([]byte, n)
	if _, err := f.ReadAt(tail, size-n); err != nil {
		return trailer{}, err
	}
	if n == 0 || tail[n-1] != '\n' {
		return trailer{}, errors.New("file does not end with a newline: truncated")
	}
	i := bytes.LastIndexByte(tail[:n-1], '\n')
	if i < 0 {
		return trailer{}, errors.New("no trailer line: truncated")
	}
	start := size - n + int64(i) + 1
	last := string(tail[i+1 : n-1])
	rest, ok := strings.CutPrefix(last, trailerPrefix)
	if !ok {
		return trailer{}, fmt.Errorf("last line is not the trailer (%q): truncated", clip(last))
	}
	// The zone name may hold escaped blanks ("a\ b."): take the fixed
	// fields from the right.
	bad := func() (trailer, error) { return trailer{}, fmt.Errorf("malformed trailer %q", clip(last)) }
	i = strings.LastIndex(rest, " serial ")
	if i <= 0 {
		return bad()
	}
	name, fs := rest[:i], strings.Fields(rest[i:])
	if len(fs) != 6 || fs[0] != "serial" || fs[2] != "records" || fs[4] != "crc32c" {
		return bad()
	}
	serial, err1 := strconv.ParseUint(fs[1], 10, 32)
	records, err2 := strconv.ParseUint(fs[3], 10, 31)
	crc, err3 := strconv.ParseUint(fs[5], 16, 32)
	if err1 != nil || err2 != nil || err3 != nil {
		return bad()
	}
	return trailer{
		origin:  name,
		serial:  uint32(serial),
		records: int(records),
		crc:     uint32(crc),
		offset:  start,
	}, nil
}

// readZone reads the zone file at path, checks it from end to end, and
// builds the zone. Errors about the content wrap ErrCorrupt; an error from
// opening the file is returned as is.
func readZone(path, origin string, lim zone.Limits) (*zone.Zone, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrCorrupt, path, fmt.Sprintf(format, a...))
	}

	t, err := readTrailer(f, fi.Size())
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, bad("file changed while read")
		}
		var pe *os.PathError
		if errors.As(err, &pe) {
			return nil, err // an I/O error says nothing about the content
		}
		return nil, bad("%v", err)
	}
	if !sameName(t.origin, origin) {
		return nil, bad("file is for zone %q, not %s", t.origin, origin)
	}

	b := zone.NewBuilder(origin, lim)
	n := 0
	sum, err := parseBody(io.NewSectionReader(f, 0, t.offset), origin, path, func(rr dns.RR) error {
		n++
		if n > t.records {
			return bad("more records than the %d the trailer counts", t.records)
		}
		if err := b.Add(rr); err != nil {
			return fmt.Errorf("%w: %s: record %d: %w", ErrCorrupt, path, n, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if n != t.records {
		return nil, bad("%d records, the trailer counts %d: truncated or edited", n, t.records)
	}
	if sum != t.crc {
		return nil, bad("checksum %08x, the trailer says %08x: the file was changed after it was written", sum, t.crc)
	}
	z, err := b.Zone()
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrCorrupt, path, err)
	}
	if z.Serial() != t.serial {
		return nil, bad("SOA serial %d, the trailer says %d", z.Serial(), t.serial)
	}
	if z.Len() != n {
		return nil, bad("%d records read, %d distinct: duplicates", n, z.Len())
	}
	return z, nil
}

// clip shortens s for an error message.
func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

// appendRR appends rr in presentation format: rr.String() when that parses
// back to the same RR, else the RFC 3597 generic form.
func appendRR(b []byte, rr dns.RR) ([]byte, error) {
	s := rr.String()
	if presentable(rr, s) {
		return append(b, s...), nil
	}
	if g, ok := appendGeneric(b, rr); ok {
		return g, nil
	}
	// miekg/dns accepts rdata cut short after any field, and some such RRs
	// pack to something that does not even unpack. Writing String() would
	// load back a different RR, so refuse the whole file.
	return b, fmt.Errorf("store: cannot save %q: neither its text nor its wire form reads back the same (malformed rdata from the primary?)", clip(s))
}

// presentable reports whether s, the String() of rr, parses back to rr.
//
// miekg/dns prints most RRs so that its parser reads them back, but not
// all (TestEveryTypeRoundTrips finds them):
//
//   - NULL and NXNAME have no presentation format; NULL's String() is a
//     comment, so the record would silently vanish.
//   - dns.UnpackRR accepts empty rdata, and rdata cut short after any
//     field, from any RR of a transfer. The fields left out print as
//     empty, which mostly leaves the line ending in a blank, or as zero.
//   - Well-formed but odd rdata: a CAA tag that is not alphanumeric, type
//     0 or 65535 in a type bitmap or an RRSIG ("None", "Reserved"), an
//     NSEC3 hash that is not SHA-1's 20 octets (the parser assumes 20).
//   - Rarer types whose text form is fragile: unquoted strings (X25,
//     GPOS), LOC out of range, SVCB parameters, and IPSECKEY, whose parser
//     eats the first token of the next line.
//
// The common types are checked by the cheap rules above; the rest are
// parsed back, which costs some microseconds each, but they are few.
// A false "no" only costs readability: the generic form is exact.
func presentable(rr dns.RR, s string) bool {
	if s == "" || s[0] == ';' {
		return false
	}
	if c := s[len(s)-1]; c == ' ' || c == '\t' {
		return false
	}
	switch rr := rr.(type) {
	case *dns.A, *dns.AAAA, *dns.NS, *dns.CNAME, *dns.DNAME, *dns.PTR,
		*dns.MX, *dns.SRV, *dns.TXT, *dns.SPF, *dns.NAPTR,
		*dns.DS, *dns.CDS, *dns.DNSKEY, *dns.CDNSKEY, *dns.TLSA, *dns.SSHFP:
		return true
	case *dns.SOA:
		return rr.Ns != "" && rr.Mbox != ""
	case *dns.RRSIG:
		return goodType(rr.TypeCovered)
	case *dns.NSEC:
		return goodTypes(rr.TypeBitMap)
	case *dns.NSEC3:
		// The parser sets HashLength to 20, SHA-1's, whatever it reads.
		return goodTypes(rr.TypeBitMap) && goodSalt(rr.SaltLength, rr.Salt) &&
			rr.HashLength == 20 && len(rr.NextDomain) == 32
	case *dns.NSEC3PARAM:
		return goodSalt(rr.SaltLength, rr.Salt)
	case *dns.CAA:
		return goodTag(rr.Tag)
	case *dns.NULL, *dns.NXNAME:
		return false
	}
	return parsesBack(rr, s)
}

// goodType reports whether the parser takes back the mnemonic Type(t)
// prints: it upper-cases what it reads, so "None" and "Reserved" fail.
func goodType(t uint16) bool {
	s, ok := dns.TypeToString[t]
	return !ok || s == strings.ToUpper(s)
}

func goodTypes(ts []uint16) bool {
	for _, t := range ts {
		if !goodType(t) {
			return false
		}
	}
	return true
}

// goodSalt: the length octet matches the salt (rdata cut short leaves a
// length without its salt).
func goodSalt(n uint8, salt string) bool {
	if salt == "-" {
		salt = ""
	}
	return int(n) == len(salt)/2
}

// goodTag: RFC 8659 4.1, a tag is 1 to 15 letters and digits; miekg prints
// the tag raw, so anything else would not parse.
func goodTag(tag string) bool {
	if tag == "" {
		return false
	}
	for i := 0; i < len(tag); i++ {
		c := tag[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// parsesBack reports whether s, as a line of a zone file, parses to an RR
// with the same wire form as rr.
func parsesBack(rr dns.RR, s string) bool {
	back, err := parseLine(s)
	if err != nil {
		return false
	}
	a, err1 := packRR(rr)
	b, err2 := packRR(back)
	return err1 == nil && err2 == nil && bytes.Equal(a, b)
}

// sentinel follows a line parsed on its own. A line must parse the same
// with more lines after it, and one parser does not: miekg/dns 1.1.73
// reads an IPSECKEY's key up to the newline and then eats the first token
// of the next line, so dns.NewRR alone would pass it.
const sentinel = "\n. 0 IN TXT sentinel\n"

// parseLine parses s as one line of a zone file.
func parseLine(s string) (dns.RR, error) {
	zp := dns.NewZoneParser(strings.NewReader(s+sentinel), ".", "")
	rr, ok := zp.Next()
	if !ok {
		return nil, fmt.Errorf("no record: %v", zp.Err())
	}
	next, ok := zp.Next()
	if !ok {
		return nil, fmt.Errorf("the next line is lost: %v", zp.Err())
	}
	if txt, _ := next.(*dns.TXT); txt == nil || txt.Hdr.Name != "." || len(txt.Txt) != 1 || txt.Txt[0] != "sentinel" {
		return nil, fmt.Errorf("the next line reads as %q", next)
	}
	if _, ok := zp.Next(); ok || zp.Err() != nil {
		return nil, fmt.Errorf("more than one line: %v", zp.Err())
	}
	return rr, nil
}

func packRR(rr dns.RR) ([]byte, error) {
	buf := make([]byte, dns.Len(rr)+1)
	n, err := dns.PackRR(rr, buf, 0, nil, false)
	if err != nil {
		return nil, err
	}
	return buf[:n], nil
}

// appendGeneric appends rr as "owner TTL IN TYPEnnn \# len hex" (RFC 3597
// section 5), which BIND and miekg/dns read for known and unknown types
// alike. The rdata is rr packed; if that does not read back the same (an
// RR that came with empty rdata packs its empty fields as something), the
// empty rdata "\# 0". Few RRs come here, so each is checked.
func appendGeneric(b []byte, rr dns.RR) ([]byte, bool) {
	wire, err := packRR(rr)
	if err != nil {
		return b, false
	}
	h := rr.Header()
	name := make([]byte, 256)
	off, err := dns.PackDomainName(h.Name, name, 0, nil, false)
	if err != nil {
		return b, false
	}
	// RR_Header.String gives the escaped owner, TTL and class; the type
	// goes in numerically, so the reader never trips on a mnemonic.
	hdr := dns.RR_Header{Name: h.Name, Rrtype: dns.TypeNone, Class: h.Class, Ttl: h.Ttl}
	prefix := hdr.String()
	prefix = prefix[:strings.LastIndexByte(prefix[:len(prefix)-1], '\t')+1]
	for _, rdata := range [][]byte{wire[off+10:], nil} {
		line := append([]byte(prefix), "TYPE"...)
		line = strconv.AppendUint(line, uint64(h.Rrtype), 10)
		line = append(line, "\t\\# "...)
		line = strconv.AppendInt(line, int64(len(rdata)), 10)
		if len(rdata) > 0 {
			line = append(line, ' ')
			line = hex.AppendEncode(line, rdata)
		}
		if parsesBack(rr, string(line)) {
			return append(b, line...), true
		}
	}
	return b, false
}
