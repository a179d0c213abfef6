//go:build !linux

package dynalite

import "syscall"

// sysProcAttr has no parent-death signal outside Linux: Stop (or
// dynamotest.Main) must end the server.
func sysProcAttr() *syscall.SysProcAttr { return nil }
