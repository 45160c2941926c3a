package postgres

import "syscall"

// loadSysProcAttr makes the kernel kill a loading psql or pg_restore when
// the agent dies: a psql that saw the end of its input instead would
// commit a partial load.
func loadSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
