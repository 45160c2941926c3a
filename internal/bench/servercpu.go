//go:build xvbench

package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// serverMeter measures the CPU time of the benchmark's sshd and of every
// process it starts (sftp-server, the login shell, tar). It puts sshd in a
// cgroup of its own when it can (root, cgroup v1 cpuacct or v2), where the
// time of processes that ended stays counted. Otherwise it falls back to
// sshd's reaped-children time (cutime+cstime), which misses a process whose
// parent exits without waiting for it, so it is then a lower bound.
type serverMeter struct {
	pid    int
	dir    string // the cgroup, or "" for the fallback
	usage  func() (float64, error)
	Method string // how it measures, for the report
}

// cgroupRoots are tried in order: v1 cpuacct, v2 unified, v2 only.
var cgroupRoots = []struct{ dir, file string }{
	{"/sys/fs/cgroup/cpuacct", "cpuacct.usage"},
	{"/sys/fs/cgroup/unified", "cpu.stat"},
	{"/sys/fs/cgroup", "cpu.stat"},
}

func newServerMeter(pid int) *serverMeter {
	m := &serverMeter{pid: pid, Method: "sshd's reaped children (a lower bound)"}
	m.usage = func() (float64, error) { return reapedChildrenCPU(pid) }
	for _, root := range cgroupRoots {
		dir := filepath.Join(root.dir, "xvbench-sshd-"+strconv.Itoa(pid))
		if os.Mkdir(dir, 0o755) != nil {
			continue
		}
		if os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0o644) != nil {
			_ = os.Remove(dir)
			continue
		}
		file := filepath.Join(dir, root.file)
		if _, err := cgroupCPU(file); err != nil {
			_ = os.Remove(dir)
			continue
		}
		m.dir, m.Method = dir, "cgroup "+file
		m.usage = func() (float64, error) { return cgroupCPU(file) }
		break
	}
	return m
}

// read returns the CPU seconds used so far, once sshd's connection processes ended.
func (m *serverMeter) read() (float64, error) {
	waitNoChildren(m.pid, 10*time.Second)
	return m.usage()
}

// close removes the cgroup; call it after sshd stopped.
func (m *serverMeter) close() {
	if m.dir != "" {
		_ = os.Remove(m.dir)
	}
}

// cgroupCPU reads cpuacct.usage (ns) or cpu.stat's usage_usec.
func cgroupCPU(file string) (float64, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return 0, err
	}
	if filepath.Base(file) == "cpuacct.usage" {
		ns, err := strconv.ParseUint(strings.TrimSpace(string(data)), 10, 64)
		return float64(ns) / 1e9, err
	}
	for line := range strings.Lines(string(data)) {
		if v, ok := strings.CutPrefix(line, "usage_usec "); ok {
			us, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
			return float64(us) / 1e6, err
		}
	}
	return 0, fmt.Errorf("no usage_usec in %s", file)
}

// reapedChildrenCPU returns cutime+cstime of pid in seconds: the CPU time of
// its children that ended and were waited for (and of theirs, recursively).
func reapedChildrenCPU(pid int) (float64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("read sshd's CPU time: %w", err)
	}
	s := string(data)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:]) // f[0] is field 3, "state"
	if len(f) < 15 {
		return 0, fmt.Errorf("unexpected /proc/%d/stat %q", pid, s)
	}
	var ticks uint64
	for _, i := range []int{13, 14} { // fields 16 cutime and 17 cstime
		n, err := strconv.ParseUint(f[i], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("parse /proc/%d/stat: %w", pid, err)
		}
		ticks += n
	}
	return float64(ticks) / clockTicks, nil
}

// waitNoChildren waits until pid has no child processes (the connection
// processes of sshd ended), or timeout.
func waitNoChildren(pid int, timeout time.Duration) {
	name := fmt.Sprintf("/proc/%d/task/%d/children", pid, pid)
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		data, err := os.ReadFile(name)
		if err != nil || len(bytes.TrimSpace(data)) == 0 {
			return
		}
	}
}
