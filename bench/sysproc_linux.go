package main

import "syscall"

// sysProcAttr makes the kernel kill a child if the harness dies without cleaning up (kill -9).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
