// Package store keeps transferred zones on disk so a secondary can serve
// them again right after a restart, without waiting for its primaries.
//
// Each zone has two files in one directory: <name>.zone, the zone in RFC
// 1035 master format (named-checkzone reads it; see zonefile.go), and
// <name>.state, the refresh timers as JSON (see state.go). Both are
// replaced atomically (atomic.go), so a crash leaves the old version or the
// new one, never a mix. The zone file ends with a trailer counting its
// records and checksumming its bytes; Load refuses a file that fails any
// check, moves it aside as <name>.zone.corrupt-<unix time> for a human to
// look at, and the caller transfers the zone again.
//
// The package logs nothing: every problem is in the errors it returns.
package store

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/cfsecondary/cfsecondary/zone"
)

var (
	// ErrNotFound is wrapped by Load when no zone file was saved for the
	// zone (first start, or it was set aside).
	ErrNotFound = errors.New("store: no saved zone")
	// ErrCorrupt is wrapped by Load when the saved zone file cannot be
	// used; the file has then been set aside.
	ErrCorrupt = errors.New("store: saved zone file is unusable")
)

// Store is a directory of saved zones. Its methods are safe for concurrent
// use; calls about one zone are serialised, across all the Stores of the
// process that use the same directory (a CoreDNS reload opens a new one
// while the old one may still be saving).
type Store struct {
	dir string // absolute: temp files and locks are known by their path
}

// fileLocks holds a *sync.Mutex per zone file (absolute path without the
// extension), for Store.lock.
var fileLocks sync.Map

// Open returns the store in dir, creating the directory (0755) if needed.
// It fails if dir cannot be created or written to, and removes temp files
// left by a crash, but not those of saves in progress in this process.
// Only one process should use a directory: Open in another process would
// remove the temp file of a save in progress here, which then fails,
// without harm to the saved version.
func Open(dir string) (*Store, error) {
	if dir == "" {
		return nil, errors.New("store: no directory given")
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("store: %v", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		if errors.Is(err, syscall.ENOTDIR) || errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("store: cannot use %s as the zone directory: it or a parent is not a directory", dir)
		}
		return nil, fmt.Errorf("store: cannot create the zone directory: %v", err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("store: %v", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("store: cannot use %s as the zone directory: not a directory", dir)
	}
	// Find out now, not at the first transfer, that saving will fail.
	probe, err := os.CreateTemp(dir, ".probe"+tmpMark+"*")
	if err != nil {
		return nil, fmt.Errorf("store: zone directory %s is not writable: %v", dir, err)
	}
	probe.Close()
	if err := os.Remove(probe.Name()); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("store: zone directory %s: %v", dir, err)
	}
	if err := removeTemps(dir); err != nil {
		return nil, err
	}
	return &Store{dir: dir}, nil
}

// Dir returns the store's directory, as an absolute path.
func (s *Store) Dir() string { return s.dir }

// ZonePath returns the path of the zone file for origin, or "" if origin is
// not a valid name.
func (s *Store) ZonePath(origin string) string { return s.path(origin, ".zone") }

// StatePath returns the path of the state file for origin, or "" if origin
// is not a valid name.
func (s *Store) StatePath(origin string) string { return s.path(origin, ".state") }

func (s *Store) path(origin, ext string) string {
	base, err := baseName(origin)
	if err != nil {
		return ""
	}
	return filepath.Join(s.dir, base+ext)
}

// lock serialises the calls about one zone, so a Load that sets a file
// aside never races a SaveZone that just wrote a good one.
func (s *Store) lock(base string) func() {
	m, _ := fileLocks.LoadOrStore(filepath.Join(s.dir, base), new(sync.Mutex))
	mu := m.(*sync.Mutex)
	mu.Lock()
	return mu.Unlock
}

// SaveZone writes z to its zone file, replacing the previous version
// atomically. It returns once the file is durable.
func (s *Store) SaveZone(z *zone.Zone) error {
	base, err := baseName(z.Origin())
	if err != nil {
		return err
	}
	defer s.lock(base)()
	now := time.Now()
	// The text is about twice the wire size of the records.
	return writeFile(s.dir, base+".zone", 2*z.Bytes()+4096, func(w *bufio.Writer) error {
		return writeZone(w, z, now)
	})
}

// SaveState writes st to the state file of st.Zone, atomically.
func (s *Store) SaveState(st State) error {
	base, err := baseName(st.Zone)
	if err != nil {
		return err
	}
	st.Zone = canonical(st.Zone)
	defer s.lock(base)()
	return writeFile(s.dir, base+".state", 0, func(w *bufio.Writer) error {
		return encodeState(w, st)
	})
}

// Load reads the saved zone origin, enforcing lim, and its state.
//
// Without a zone file the error wraps ErrNotFound. If the zone file fails
// any check (truncated, checksum, parse error, serial, a record out of
// zone, lim, the rules of package zone) the error wraps ErrCorrupt and says
// what is wrong; the zone and state files have been renamed to
// <file>.corrupt-<unix time>, so the next Load finds nothing and the
// caller transfers the zone again.
//
// The state comes with the zone: see readState for when its timers are
// dropped. Its Zone is origin as package zone spells it, its Serial the
// zone's.
func (s *Store) Load(origin string, lim zone.Limits) (*zone.Zone, State, error) {
	base, err := baseName(origin)
	if err != nil {
		return nil, State{}, err
	}
	defer s.lock(base)()
	zpath := filepath.Join(s.dir, base+".zone")
	spath := filepath.Join(s.dir, base+".state")
	z, err := readZone(zpath, origin, lim)
	switch {
	case err == nil:
	case errors.Is(err, os.ErrNotExist):
		return nil, State{}, fmt.Errorf("%w for %s (%s)", ErrNotFound, canonical(origin), zpath)
	case errors.Is(err, ErrCorrupt):
		if aside, serr := setAside(s.dir, zpath, spath, time.Now()); serr != nil {
			err = fmt.Errorf("%w; and setting it aside failed: %v", err, serr)
		} else {
			err = fmt.Errorf("%w; set aside as %s", err, aside)
		}
		return nil, State{}, err
	default:
		return nil, State{}, fmt.Errorf("store: reading %s: %w", zpath, err)
	}
	return z, readState(spath, z.Origin(), z.Serial()), nil
}

// setAside renames a bad zone file, and its state file if any, out of the
// way, keeping them for a post-mortem. It returns the zone file's new name.
func setAside(dir, zpath, spath string, now time.Time) (string, error) {
	suffix := ".corrupt-" + strconv.FormatInt(now.Unix(), 10)
	if err := os.Rename(zpath, zpath+suffix); err != nil {
		return "", err
	}
	// The state's timers belong to the data just set aside.
	if err := os.Rename(spath, spath+suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	return zpath + suffix, syncDir(dir)
}
