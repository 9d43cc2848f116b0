//go:build !linux

package main

import "syscall"

// sysProcAttr: only Linux can kill children when the parent dies; elsewhere the harness's own
// cleanup has to do. (The bench reads /proc and so measures on Linux only, but it builds
// everywhere.)
func sysProcAttr() *syscall.SysProcAttr { return nil }
