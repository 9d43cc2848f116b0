// Package namedconf writes the part of a named.conf that every BIND 9 primary the tests and the
// benchmark start on loopback shares, so that they differ only in what they are about.
package namedconf

import (
	"fmt"
	"path/filepath"
)

// Header returns the options and controls statements of a named that keeps its files in dir,
// listens on 127.0.0.1:port only, does no recursion or validation, and has no control channel.
// extra goes inside the options statement.
func Header(dir string, port int, extra string) string {
	return fmt.Sprintf(`options {
	directory %q;
	listen-on port %d { 127.0.0.1; };
	listen-on-v6 { none; };
	pid-file %q;
	session-keyfile %q;
	managed-keys-directory %q;
	recursion no;
	dnssec-validation no;
	%s
};
controls { };
`, dir, port, filepath.Join(dir, "named.pid"), filepath.Join(dir, "session.key"), dir, extra)
}
