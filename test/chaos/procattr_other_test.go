//go:build !linux

package chaos

import "syscall"

// dieWithParent: only Linux can tie a child's life to its parent's; the
// test's cleanups kill the children elsewhere.
func dieWithParent() *syscall.SysProcAttr { return nil }
