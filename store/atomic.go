package store

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// A file is replaced the way every crash-safe store does it: the new
// content goes to a temp file in the same directory, is synced, and is
// renamed over the old name, and then the directory is synced so the
// rename itself is durable. rename(2) is atomic, so whenever the process or
// the machine dies, the name holds either the old complete file or the new
// complete one. What can be left behind is a temp file, which Open removes.

// tmpMark is in the name of every temp file, after a leading '.': real
// files never start with '.' (see baseName), so cleanup can't hit them.
const tmpMark = ".tmp-"

// bufSize is the largest write buffer: large writes keep the syscall count
// low for a zone file of tens of megabytes. A smaller file gets a buffer of
// its size: ten thousand small zones written at once must not hold a
// megabyte each.
const bufSize = 1 << 20

// hook, when set by a test, is called at the named points of writeFile so
// a test can kill the process there: "write" after the first buffer of data
// reached the temp file, "rename" when the temp file is complete and
// synced, "renamed" after the rename and before the directory sync.
var hook func(point string)

// inflight holds the temp files being written in this process, which
// removeTemps must leave alone; tempMu makes creating and registering one
// atomic with respect to removeTemps.
var (
	tempMu   sync.Mutex
	inflight = map[string]bool{}
)

// writeFile replaces dir/name with what fill writes, atomically. size is
// about what fill writes, for the buffer.
func writeFile(dir, name string, size int64, fill func(w *bufio.Writer) error) (err error) {
	tempMu.Lock()
	f, err := os.CreateTemp(dir, "."+name+tmpMark+"*")
	if err != nil {
		tempMu.Unlock()
		return fmt.Errorf("store: %v", err)
	}
	tmp := f.Name()
	inflight[tmp] = true
	tempMu.Unlock()
	defer func() {
		tempMu.Lock()
		delete(inflight, tmp)
		tempMu.Unlock()
	}()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	// CreateTemp makes the file 0600; zone data is what the server gives
	// to anyone who asks, and an operator may want to read it as another
	// user.
	if err := f.Chmod(0o644); err != nil {
		return fmt.Errorf("store: %v", err)
	}

	var w *bufio.Writer
	buf := int(min(max(size, 4096), bufSize))
	if hook != nil {
		w = bufio.NewWriterSize(&hookWriter{w: f}, buf)
	} else {
		w = bufio.NewWriterSize(f, buf)
	}
	if err := fill(w); err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("store: writing %s: %v", tmp, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("store: syncing %s: %v", tmp, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("store: closing %s: %v", tmp, err)
	}
	if hook != nil {
		hook("rename")
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		return fmt.Errorf("store: %v", err)
	}
	if hook != nil {
		hook("renamed")
	}
	// The new file is in place; if only the directory sync fails, the
	// rename may not survive a power loss, so the caller still hears of it.
	if err := syncDir(dir); err != nil {
		return err
	}
	return nil
}

// syncDir makes the directory's entries (a rename, a new file) durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("store: %v", err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("store: syncing directory %s: %v", dir, err)
	}
	return nil
}

// removeTemps deletes temp files a crash left in dir, but not those this
// process is writing. A save in progress in another process would lose its
// temp file and fail (safely: its target is untouched).
func removeTemps(dir string) error {
	tempMu.Lock()
	defer tempMu.Unlock()
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("store: %v", err)
	}
	var errs []error
	for _, e := range entries {
		n := e.Name()
		p := filepath.Join(dir, n)
		if strings.HasPrefix(n, ".") && strings.Contains(n, tmpMark) && e.Type().IsRegular() && !inflight[p] {
			if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, err)
			}
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("store: removing stale temp files: %w", errors.Join(errs...))
	}
	return nil
}

// hookWriter calls hook("write") after the first write to the file, which
// bufio makes only once it has a full buffer (or at the final flush).
type hookWriter struct {
	w    *os.File
	done bool
}

func (h *hookWriter) Write(p []byte) (int, error) {
	n, err := h.w.Write(p)
	if !h.done && hook != nil {
		h.done = true
		hook("write")
	}
	return n, err
}
