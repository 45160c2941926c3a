package cmdutil

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/term"
)

const maxSecret = 1 << 20

// ReadSecret reads a secret (password, passphrase, token) from stdin, never
// from argv. On a terminal it prompts on stderr and reads one line without
// echo; otherwise it reads all of stdin and strips one trailing newline.
func ReadSecret(s *IOStreams, what string) (string, error) {
	if s.StdinIsTTY() {
		fmt.Fprintf(s.ErrOut, "%s: ", what)
		b, err := term.ReadPassword(fd(s.In))
		fmt.Fprintln(s.ErrOut)
		if err != nil {
			return "", fmt.Errorf("read %s from the terminal: %w", what, err)
		}
		if len(b) == 0 {
			return "", fmt.Errorf("empty %s", what)
		}
		return string(b), nil
	}
	b, err := io.ReadAll(io.LimitReader(s.In, maxSecret+1))
	if err != nil {
		return "", fmt.Errorf("read %s from stdin: %w", what, err)
	}
	if len(b) > maxSecret {
		return "", fmt.Errorf("read %s from stdin: more than 1 MiB", what)
	}
	v := string(b)
	if strings.HasSuffix(v, "\n") {
		v = strings.TrimSuffix(strings.TrimSuffix(v, "\n"), "\r")
	}
	if v == "" {
		return "", WithHint(errors.New("empty "+what+" on stdin"), "pipe it in, e.g. printf '%%s' \"$SECRET\" | xv …")
	}
	return v, nil
}
