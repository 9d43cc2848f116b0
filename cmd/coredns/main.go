// Command coredns is CoreDNS built with the cfsecondary plugin and the plugins it chains with
// (see package build for the list and their order).
package main

import (
	_ "github.com/cfsecondary/cfsecondary/build"

	"github.com/coredns/coredns/coremain"
)

func main() { coremain.Run() }
