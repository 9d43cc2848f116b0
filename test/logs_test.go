package test

import (
	"bytes"
	golog "log"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// logCapture keeps what CoreDNS logs (its clog writes through the standard logger) so a test can
// read what the secondary said, and still shows it on stderr.
type logCapture struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logCapture) Write(p []byte) (int, error) {
	l.mu.Lock()
	l.buf.Write(p)
	l.mu.Unlock()
	return os.Stderr.Write(p)
}

func (l *logCapture) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// Count returns how many lines contain all of the words.
func (l *logCapture) Count(words ...string) int {
	n := 0
	for _, line := range strings.Split(l.String(), "\n") {
		all := true
		for _, w := range words {
			all = all && strings.Contains(line, w)
		}
		if all {
			n++
		}
	}
	return n
}

// Wait waits until a line contains all of the words.
func (l *logCapture) Wait(t testing.TB, timeout time.Duration, words ...string) {
	t.Helper()
	waitFor(t, timeout, "a log line with "+strings.Join(words, ", "), func() bool { return l.Count(words...) > 0 })
}

func captureLogs(t testing.TB) *logCapture {
	l := &logCapture{}
	golog.SetOutput(l)
	t.Cleanup(func() { golog.SetOutput(os.Stderr) })
	return l
}
