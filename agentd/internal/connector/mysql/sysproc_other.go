//go:build !linux

package mysql

import "syscall"

func sysProcAttr() *syscall.SysProcAttr { return nil }
