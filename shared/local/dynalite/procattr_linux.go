package dynalite

import "syscall"

// sysProcAttr makes the kernel kill dynalite when the thread that started
// it exits, which for a Go program means when the process dies (the runtime
// only ends threads that a goroutine locked).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
