package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/cfsecondary/cfsecondary/internal/namedconf"
)

// The TSIG key that allows the harness's dynamic updates of big.test (loopback only).
const (
	updateKeyName   = "bench-update-key."
	updateKeyAlg    = "hmac-sha256"
	updateKeySecret = "Y2ZzZWNvbmRhcnktYmVuY2gtdXBkYXRlLWtleS0zMmI="
)

// primary is BIND 9's named, the one primary of every measurement.
type primary struct {
	p    *proc
	addr string // 127.0.0.1:port
	port int
	dir  string
}

// startPrimary writes named.conf for big.test (when bigZoneFile is set: dynamic, journaled,
// notifying only the secondary under test at 127.0.0.1:notifyPort) and the small zones, and
// starts `named -g -c named.conf`. It does not wait for the zones.
func startPrimary(named, dir string, port, notifyPort int, bigOrigin, bigZoneFile string, smallZoneFiles []string) (*primary, error) {
	var conf strings.Builder
	conf.WriteString(namedconf.Header(dir, port, "allow-transfer { any; };\n\tnotify no;\n\tnotify-delay 0;"))
	fmt.Fprintf(&conf, "key %q { algorithm %s; secret %q; };\n", updateKeyName, updateKeyAlg, updateKeySecret)
	if bigZoneFile != "" {
		// Dynamic: BIND keeps a journal and serves IXFR from it; the serial goes up by one per
		// update. NOTIFY goes to the server under test only.
		fmt.Fprintf(&conf, `zone %q {
	type primary;
	file %q;
	allow-update { key %q; };
	notify explicit;
	also-notify { 127.0.0.1 port %d; };
	notify-delay 0;
};
`, bigOrigin, bigZoneFile, updateKeyName, notifyPort)
	}
	for i, f := range smallZoneFiles {
		fmt.Fprintf(&conf, "zone %q { type primary; file %q; };\n", smallZoneName(i), f)
	}
	confPath := filepath.Join(dir, "named.conf")
	if err := os.WriteFile(confPath, []byte(conf.String()), 0o644); err != nil {
		return nil, err
	}
	p, err := startProc("named", filepath.Join(dir, "named.log"), named, "-g", "-c", confPath)
	if err != nil {
		return nil, err
	}
	return &primary{p: p, addr: fmt.Sprintf("127.0.0.1:%d", port), port: port, dir: dir}, nil
}

// serial is the primary's current SOA serial of zone.
func (b *primary) serial(zone string) (uint32, error) {
	for range 5 {
		if s, ok := soaSerial(b.addr, zone); ok {
			return s, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return 0, fmt.Errorf("named does not answer the SOA of %s; last lines of %s:\n%s", zone, b.p.logPath, b.p.tail(20))
}

// update runs nsupdate with the commands against zone, signed with the update key.
func (b *primary) update(nsupdate, zone string, commands []string) error {
	script := fmt.Sprintf("server 127.0.0.1 %d\nzone %s\n%s\nsend\n", b.port, zone, strings.Join(commands, "\n"))
	cmd := exec.Command(nsupdate, "-y", updateKeyAlg+":"+updateKeyName+":"+updateKeySecret)
	cmd.Stdin = strings.NewReader(script)
	cmd.SysProcAttr = sysProcAttr()
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("nsupdate: %v\n%s\nscript:\n%s", err, out, script)
	}
	return nil
}
