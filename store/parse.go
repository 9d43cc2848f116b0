package store

import (
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"github.com/miekg/dns"
)

// Loading is dominated by dns.ZoneParser (about 1.1 µs per RR on one core,
// a little more than zone.Builder takes), and serving after a restart
// waits for it. Our files hold exactly one RR per line with absolute names,
// TTL and class, and never a parenthesis that spans lines, so any run of
// whole lines parses on its own: the body is cut into chunks at newlines, parsed by one
// ZoneParser each on all cores, and handed to the Builder in file order.
// A line that would need its predecessor (a blank owner, a record spread
// over lines) cannot come from our writer and fails to parse, which makes
// the file corrupt, as it should.

// chunkSize is the read size; a chunk is that minus the part line at its
// end. Small enough that the Builder starts early, big enough that the
// per-chunk cost (a parser, a goroutine hand-off) does not show.
const chunkSize = 1 << 20

type chunk struct {
	data []byte
	line int // number of its first line in the file, from 1
	rrs  []dns.RR
	err  error
	done chan struct{}
}

// parseBody parses the zone file body from r, in parallel, and calls add
// with every RR in file order. It returns the CRC-32C of all bytes read.
// Parse errors wrap ErrCorrupt and give the line in the file; an error from
// add is returned as is and stops the parse.
func parseBody(r io.Reader, origin, path string, add func(dns.RR) error) (uint32, error) {
	workers := max(1, runtime.GOMAXPROCS(0))
	work := make(chan *chunk)
	ordered := make(chan *chunk, 2*workers)
	quit := make(chan struct{})
	var (
		wg      sync.WaitGroup
		crc     uint32
		readErr error
	)

	// Reader: cuts chunks in file order, sums and numbers them.
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(work)
		defer close(ordered)
		line := 1
		var carry []byte
		for {
			buf := make([]byte, len(carry), len(carry)+chunkSize)
			copy(buf, carry)
			n, err := io.ReadFull(r, buf[len(buf):cap(buf)])
			buf = buf[:len(buf)+n]
			eof := err == io.EOF || err == io.ErrUnexpectedEOF
			if err != nil && !eof {
				readErr = err
				return
			}
			crc = crc32.Update(crc, castagnoli, buf[len(carry):])
			cut := len(buf)
			if !eof {
				cut = bytes.LastIndexByte(buf, '\n') + 1
			}
			carry = buf[cut:]
			if cut > 0 {
				c := &chunk{data: buf[:cut], line: line, done: make(chan struct{})}
				line += bytes.Count(c.data, []byte{'\n'})
				select {
				case ordered <- c:
				case <-quit:
					return
				}
				select {
				case work <- c:
				case <-quit:
					return
				}
			}
			if eof {
				return
			}
		}
	}()

	// Parsers.
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range work {
				c.rrs, c.err = parseChunk(c, origin, path)
				c.data = nil
				close(c.done)
			}
		}()
	}

	// The caller's goroutine feeds the Builder, in order.
	err := func() error {
		for c := range ordered {
			<-c.done
			for _, rr := range c.rrs {
				if err := add(rr); err != nil {
					return err
				}
			}
			c.rrs = nil
			if c.err != nil {
				return c.err
			}
		}
		return nil
	}()
	close(quit)
	// A chunk sent to ordered but never to work would leave its done open;
	// quit stops the reader before that matters, and the parsers finish the
	// chunk in hand (at most a megabyte) and see work closed.
	wg.Wait()
	if err != nil {
		return 0, err
	}
	if readErr != nil {
		return 0, readErr
	}
	return crc, nil
}

// parseChunk parses the whole lines of c.
func parseChunk(c *chunk, origin, path string) ([]dns.RR, error) {
	// About 50 bytes a line: allocate once.
	rrs := make([]dns.RR, 0, len(c.data)/48+1)
	zp := dns.NewZoneParser(bytes.NewReader(c.data), origin, path)
	// Nothing we write needs $INCLUDE; a file that has one was not written
	// by us and must not make the server read other files.
	zp.SetIncludeAllowed(false)
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		rrs = append(rrs, rr)
	}
	if err := zp.Err(); err != nil {
		var pe *dns.ParseError
		if errors.As(err, &pe) {
			return rrs, fmt.Errorf("%w: %s", ErrCorrupt, shiftLine(err.Error(), c.line-1))
		}
		return rrs, err
	}
	return rrs, nil
}

// shiftLine adds by to the line number in a miekg/dns parse error, which
// ends in "at line: L:C" counted from the start of the chunk.
func shiftLine(msg string, by int) string {
	const mark = " at line: "
	i := strings.LastIndex(msg, mark)
	if i < 0 {
		return fmt.Sprintf("%s (in the part of the file from line %d)", msg, by+1)
	}
	pos := msg[i+len(mark):]
	l, col, _ := strings.Cut(pos, ":")
	n, err := strconv.Atoi(l)
	if err != nil {
		return fmt.Sprintf("%s (in the part of the file from line %d)", msg, by+1)
	}
	return msg[:i] + mark + strconv.Itoa(n+by) + ":" + col
}
