//go:build xvbench

package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTicks is USER_HZ, the unit of /proc/stat: 100 on every Linux port Go supports.
const clockTicks = 100

// usage is what one measured process tree cost.
type usage struct {
	Wall       time.Duration
	ClientCPU  float64 // user+system seconds of the child and the children it waited for
	ServerCPU  float64 // user+system seconds of the sshd processes that served the run (sftp, or ssh+tar)
	MachineCPU float64 // busy seconds of every CPU during the run, whoever used them
	MaxRSSKiB  int64   // peak RSS of the largest process in the child's tree
	LoadBefore string  // /proc/loadavg's first three fields before the run
}

// measure runs cmd to completion and returns what it cost; server measures
// the sshd side.
func measure(cmd *exec.Cmd, server *serverMeter) (usage, error) {
	u := usage{LoadBefore: loadAverage()}
	before, err := machineBusy()
	if err != nil {
		return u, err
	}
	serverBefore, err := server.read()
	if err != nil {
		return u, err
	}
	start := time.Now()
	runErr := cmd.Run()
	u.Wall = time.Since(start)
	after, err := machineBusy()
	if err != nil {
		return u, err
	}
	u.MachineCPU = after - before
	serverAfter, err := server.read()
	if err != nil {
		return u, err
	}
	u.ServerCPU = serverAfter - serverBefore
	if cmd.ProcessState != nil {
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			u.ClientCPU = tv(ru.Utime) + tv(ru.Stime)
			u.MaxRSSKiB = ru.Maxrss
		}
	}
	return u, runErr
}

func tv(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }

// machineBusy returns the busy CPU seconds of the whole machine since boot:
// user+nice+system+irq+softirq of /proc/stat's "cpu" line.
func machineBusy() (float64, error) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, fmt.Errorf("read /proc/stat: %w", err)
	}
	line, _, _ := strings.Cut(string(data), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return 0, fmt.Errorf("unexpected /proc/stat line %q", line)
	}
	var ticks uint64
	for _, i := range []int{1, 2, 3, 6, 7} { // user nice system [idle iowait] irq softirq
		n, err := strconv.ParseUint(f[i], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("parse /proc/stat: %w", err)
		}
		ticks += n
	}
	return float64(ticks) / clockTicks, nil
}

func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// machineFacts describes where the numbers come from.
type machineFacts struct {
	CPUs        int
	CPUModel    string
	MemTotal    string
	Kernel      string
	Go          string
	SSHD        string
	Tools       string
	LoadStart   string
	Session     usage  // one `ssh HOST true`
	ServerMeter string // how server CPU is measured
}

func gatherFacts() machineFacts {
	return machineFacts{
		CPUs:      runtime.NumCPU(),
		CPUModel:  procField("/proc/cpuinfo", "model name"),
		MemTotal:  procField("/proc/meminfo", "MemTotal"),
		Kernel:    firstLine(exec.Command("uname", "-r")),
		Go:        runtime.Version(),
		SSHD:      firstLine(exec.Command("/usr/sbin/sshd", "-V")),
		Tools:     firstLine(exec.Command("zstd", "--version")) + "; age " + firstLine(exec.Command("age", "--version")),
		LoadStart: loadAverage(),
	}
}

// procField returns the value of the first "key: value" line of a /proc file.
func procField(name, key string) string {
	data, err := os.ReadFile(name)
	if err != nil {
		return "?"
	}
	for line := range strings.Lines(string(data)) {
		k, v, ok := strings.Cut(line, ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}

// firstLine runs cmd and returns the first line it printed (stdout or stderr).
func firstLine(cmd *exec.Cmd) string {
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	_ = cmd.Run() // sshd -V exits 1 after printing its version
	line, _, _ := strings.Cut(strings.TrimSpace(out.String()), "\n")
	if line == "" {
		return "?"
	}
	return line
}
