// Package sshexec pulls a source as a tar stream made on the server: it runs
// one fixed, fully quoted `tar` command per configured root over an SSH exec
// channel, reads the stream entry by entry, re-validates every entry exactly
// as the SFTP transfer validates names (relative, clean, no "..", not
// absolute, no NUL, inside the requested root; link targets kept, never
// followed), applies the source's excludes itself, and re-emits the entries in
// xVault's own layout, so a snapshot is the same whichever transfer pulled it.
// The exact command lines are in docs/transfer.md.
package sshexec

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// Flavour is the tar implementation found on the server.
type Flavour int

const (
	GNU     Flavour = iota + 1 // GNU tar
	BSD                        // bsdtar (libarchive): FreeBSD, macOS, libarchive-tools
	BusyBox                    // BusyBox tar (Alpine, embedded systems)
)

func (f Flavour) String() string {
	switch f {
	case GNU:
		return "GNU tar"
	case BSD:
		return "bsdtar"
	case BusyBox:
		return "BusyBox tar"
	}
	return "unknown tar"
}

// Tar describes the server's tar as the probe found it.
type Tar struct {
	Flavour Flavour
	Version string // "1.34"; empty when the tar did not say
	// Sort is true for a GNU tar that knows --sort=name (1.28 and later):
	// entries then come in the same order as over SFTP.
	Sort bool
}

// ProbeCommand is the fixed command the probe runs. It takes no input from
// the source's configuration.
const ProbeCommand = "tar --version"

// probeTimeout bounds the probe: an account restricted to SFTP may run
// something else that waits for input.
const probeTimeout = 30 * time.Second

// maxProbeOutput caps what the probe keeps of the command's output.
const maxProbeOutput = 16 << 10

// ErrNoExec is wrapped by Probe's errors: the account cannot run a usable tar.
var ErrNoExec = errors.New("remote tar unavailable")

// Probe runs ProbeCommand on its own exec channel and reports which tar the
// server has. An error wraps ErrNoExec when the account may not run commands
// (exec refused, ForceCommand internal-sftp) or has no usable tar.
func Probe(ctx context.Context, client *ssh.Client) (Tar, error) {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	sess, err := client.NewSession()
	if err != nil {
		return Tar{}, fmt.Errorf("%w: open an exec channel: %w", ErrNoExec, err)
	}
	defer sess.Close()
	stop := context.AfterFunc(ctx, func() { _ = sess.Close() })
	defer stop()
	var stdout, stderr capBuffer
	stdout.max, stderr.max = maxProbeOutput, maxProbeOutput
	sess.Stdout, sess.Stderr = &stdout, &stderr
	err = sess.Run(ProbeCommand)
	if ctxErr := ctx.Err(); ctxErr != nil {
		return Tar{}, fmt.Errorf("%w: %q did not answer: %w", ErrNoExec, ProbeCommand, ctxErr)
	}
	var exit *ssh.ExitError
	if err != nil && !errors.As(err, &exit) {
		return Tar{}, fmt.Errorf("%w: run %q: %w", ErrNoExec, ProbeCommand, err)
	}
	t, perr := ParseVersion(stdout.String(), stderr.String())
	if perr != nil {
		return Tar{}, perr
	}
	return t, nil
}

// ParseVersion recognises the output of `tar --version`.
func ParseVersion(stdout, stderr string) (Tar, error) {
	first, _, _ := strings.Cut(strings.TrimSpace(stdout), "\n")
	switch {
	case strings.Contains(first, "GNU tar"):
		v := lastField(first)
		return Tar{Flavour: GNU, Version: v, Sort: versionAtLeast(v, 1, 28)}, nil
	case strings.HasPrefix(first, "bsdtar"):
		return Tar{Flavour: BSD, Version: field(first, 1)}, nil
	case strings.Contains(stdout+stderr, "BusyBox"):
		return Tar{Flavour: BusyBox, Version: busyboxVersion(stdout + stderr)}, nil
	}
	said := first
	if said == "" {
		said, _, _ = strings.Cut(strings.TrimSpace(stderr), "\n")
	}
	if said == "" {
		return Tar{}, fmt.Errorf("%w: %q printed nothing (is the account restricted to SFTP, e.g. ForceCommand internal-sftp?)",
			ErrNoExec, ProbeCommand)
	}
	return Tar{}, fmt.Errorf("%w: %q answered %q, not GNU tar, bsdtar or BusyBox", ErrNoExec, ProbeCommand, truncate(said, 200))
}

func field(s string, i int) string {
	f := strings.Fields(s)
	if i < len(f) {
		return f[i]
	}
	return ""
}

func lastField(s string) string {
	f := strings.Fields(s)
	if len(f) == 0 {
		return ""
	}
	return f[len(f)-1]
}

func busyboxVersion(s string) string {
	_, after, ok := strings.Cut(s, "BusyBox v")
	if !ok {
		return ""
	}
	return strings.TrimSuffix(field(after, 0), ",")
}

// versionAtLeast compares a "major.minor[.patch]" version.
func versionAtLeast(v string, major, minor int) bool {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return false
	}
	ma, err1 := strconv.Atoi(parts[0])
	mi, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return false
	}
	return ma > major || (ma == major && mi >= minor)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// capBuffer keeps the first max bytes written to it and drops the rest.
type capBuffer struct {
	bytes.Buffer
	max int
}

func (b *capBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.Len(); room > 0 {
		b.Buffer.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}
