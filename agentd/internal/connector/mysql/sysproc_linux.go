package mysql

import "syscall"

// sysProcAttr makes the kernel kill the dump client if the agent dies, so
// no orphaned dump keeps reading the customer's database.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
