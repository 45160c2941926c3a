// Package cmdutil holds what every xv command shares: the I/O streams, the
// hub connection settings (flags > environment > config file), the exit-code
// table, usage errors and reading secrets from stdin.
package cmdutil

import (
	"io"
	"os"

	"golang.org/x/term"
)

// IOStreams are the streams a command reads and writes. Results go to Out;
// progress, prompts, warnings and errors go to ErrOut.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
}

// System returns the process's own streams.
func System() *IOStreams {
	return &IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
}

// fd returns the file descriptor behind a stream, or -1.
func fd(v any) int {
	if f, ok := v.(interface{ Fd() uintptr }); ok {
		return int(f.Fd())
	}
	return -1
}

// IsTerminal reports whether the stream is an interactive terminal.
func IsTerminal(v any) bool {
	n := fd(v)
	return n >= 0 && term.IsTerminal(n)
}

// StdinIsTTY reports whether stdin is a terminal (prompts are possible).
func (s *IOStreams) StdinIsTTY() bool { return IsTerminal(s.In) }

// StderrIsTTY reports whether stderr is a terminal (live progress is fine).
func (s *IOStreams) StderrIsTTY() bool { return IsTerminal(s.ErrOut) }

// TerminalWidth is stderr's width in columns, or 0 when it is not a terminal.
func (s *IOStreams) TerminalWidth() int {
	n := fd(s.ErrOut)
	if n < 0 {
		return 0
	}
	w, _, err := term.GetSize(n)
	if err != nil {
		return 0
	}
	return w
}
