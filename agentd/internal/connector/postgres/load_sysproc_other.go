//go:build !linux

package postgres

import "syscall"

// loadSysProcAttr: only Linux can kill a child when its parent dies.
func loadSysProcAttr() *syscall.SysProcAttr { return nil }
