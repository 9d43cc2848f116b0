package store

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cfsecondary/cfsecondary/zone"
)

// The crash test runs the test binary again as a child (TestHelperWriter)
// that saves version 1 of a big zone, then starts saving version 2 and is
// killed with SIGKILL at a chosen point. The parent then opens the store
// as a restarted server would and must load a complete version.

const (
	crashOrigin = "crash.example."
	crashV1     = 100_000
	crashV2     = 120_000
	envDir      = "STORE_TEST_CRASH_DIR"
	envPoint    = "STORE_TEST_CRASH_POINT"
)

// TestHelperWriter is the child; without its environment it does nothing.
func TestHelperWriter(t *testing.T) {
	dir, point := os.Getenv(envDir), os.Getenv(envPoint)
	if dir == "" {
		return
	}
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	v2 := bigZone(t, crashOrigin, 2, crashV2)
	if err := s.SaveZone(bigZone(t, crashOrigin, 1, crashV1)); err != nil {
		t.Fatal(err)
	}
	say := func(s string) {
		fmt.Println(s)
		os.Stdout.Sync()
	}
	if point == "start" {
		// Let the parent kill us wherever we are.
		say("writing")
	} else {
		hook = func(p string) {
			if p == point {
				say("writing")
				time.Sleep(time.Hour) // until killed
			}
		}
	}
	if err := s.SaveZone(v2); err != nil {
		t.Fatal(err)
	}
	say("saved")
	time.Sleep(time.Hour)
}

func TestCrash(t *testing.T) {
	for _, tc := range []struct {
		point string        // where the child stops
		delay time.Duration // for "start": how long after it said "writing"
		want  uint32        // serial to load, 0 for either
		temp  bool          // a temp file must be there after the kill
	}{
		{point: "write", want: 1, temp: true},    // temp file partly written
		{point: "rename", want: 1, temp: true},   // temp file complete, not renamed
		{point: "renamed", want: 2, temp: false}, // renamed, directory not synced
		{point: "start", delay: 0},
		{point: "start", delay: 20 * time.Millisecond},
		{point: "start", delay: 100 * time.Millisecond},
		{point: "start", delay: 300 * time.Millisecond},
	} {
		t.Run(fmt.Sprintf("%s+%v", tc.point, tc.delay), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			crashChild(t, dir, tc.point, tc.delay)

			temps, _ := filepath.Glob(filepath.Join(dir, ".*"+tmpMark+"*"))
			if tc.temp && len(temps) == 0 {
				t.Errorf("no temp file: the child was not killed while writing")
			}
			if !tc.temp && tc.want != 0 && len(temps) != 0 {
				t.Errorf("temp files %v", temps)
			}

			s, err := Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			if m, _ := filepath.Glob(filepath.Join(dir, ".*")); len(m) != 0 {
				t.Errorf("Open left %v", m)
			}
			got, _, err := s.Load(crashOrigin, zone.DefaultLimits())
			if err != nil {
				t.Fatalf("Load after the crash: %v", err)
			}
			if tc.want != 0 && got.Serial() != tc.want {
				t.Fatalf("loaded serial %d, want %d", got.Serial(), tc.want)
			}
			want := crashWant(t, got.Serial())
			if text, wire := texts(got); !slices.Equal(text, want.text) || !slices.Equal(wire, want.wire) {
				t.Fatalf("loaded version %d is not the one saved", got.Serial())
			}
			t.Logf("killed at %s+%v: loaded version %d, complete; temp files before Open: %d", tc.point, tc.delay, got.Serial(), len(temps))
		})
	}
}

// crashWant returns the records of the version the child saved with this
// serial, computed once.
var crashWant = func() func(t *testing.T, serial uint32) crashZone {
	var mu sync.Mutex
	zones := map[uint32]crashZone{}
	return func(t *testing.T, serial uint32) crashZone {
		mu.Lock()
		defer mu.Unlock()
		if z, ok := zones[serial]; ok {
			return z
		}
		size := crashV1
		if serial == 2 {
			size = crashV2
		}
		var z crashZone
		z.text, z.wire = texts(bigZone(t, crashOrigin, serial, size))
		zones[serial] = z
		return z
	}
}()

type crashZone struct{ text, wire []string }

// crashChild runs TestHelperWriter in dir, waits for it to say "writing",
// waits delay and kills it with SIGKILL.
func crashChild(t *testing.T, dir, point string, delay time.Duration) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperWriter$", "-test.count=1", "-test.timeout=5m")
	cmd.Env = append(os.Environ(), envDir+"="+dir, envPoint+"="+point)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	timer := time.AfterFunc(3*time.Minute, func() { cmd.Process.Kill() })
	defer timer.Stop()

	lines := bufio.NewScanner(out)
	said := false
	for lines.Scan() {
		if lines.Text() == "writing" {
			said = true
			break
		}
	}
	if said {
		time.Sleep(delay)
	}
	cmd.Process.Kill() // SIGKILL: no deferred code, no flush
	go func() {
		for lines.Scan() { // drain, so Wait does not block on the pipe
		}
	}()
	err = cmd.Wait()
	if !said {
		t.Fatalf("the child never said \"writing\": %v\n%s", err, stderr.String())
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != -1 {
		t.Fatalf("child: %v, want killed by a signal\n%s", err, stderr.String())
	}
}
