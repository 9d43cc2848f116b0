// Package build names the plugins compiled into the project's custom CoreDNS and the order in
// which they handle a query. Importing it registers them; cmd/coredns and the end-to-end tests
// both import it, so the tests exercise exactly the server that `make run` starts.
package build

import (
	"github.com/coredns/coredns/core/dnsserver"

	// The plugins a secondary needs and the ones it chains with, nothing else: a lean binary
	// starts fast and has less to go wrong.
	_ "github.com/coredns/coredns/plugin/acl"
	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/dnssec"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/file"
	_ "github.com/coredns/coredns/plugin/forward"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/metrics"
	_ "github.com/coredns/coredns/plugin/pprof"
	_ "github.com/coredns/coredns/plugin/ready"
	_ "github.com/coredns/coredns/plugin/reload"
	_ "github.com/coredns/coredns/plugin/secondary"
	_ "github.com/coredns/coredns/plugin/transfer"
	_ "github.com/coredns/coredns/plugin/tsig"
	_ "github.com/coredns/coredns/plugin/whoami"

	_ "github.com/cfsecondary/cfsecondary"
)

// Directives is the plugin chain, in the order CoreDNS's own plugin.cfg gives these plugins.
// cfsecondary sits with the other zone-data plugins: after transfer (which answers AXFR/IXFR
// from every Transferer in the block, cfsecondary included), after dnssec and cache (which wrap
// the answers it writes), before forward (so fallthrough can hand names on).
var Directives = []string{
	"reload",
	"bind",
	"ready",
	"health",
	"pprof",
	"prometheus",
	"errors",
	"log",
	"tsig",
	"acl",
	"cache",
	"dnssec",
	"transfer",
	"file",
	"secondary",
	"cfsecondary",
	"forward",
	"whoami",
}

func init() { dnsserver.Directives = Directives }
