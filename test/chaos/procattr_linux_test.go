package chaos

import "syscall"

// dieWithParent has the kernel kill a child with SIGKILL when the test
// process dies, even without running its cleanups (a -timeout panic).
func dieWithParent() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
