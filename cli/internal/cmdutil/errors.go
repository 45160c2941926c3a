package cmdutil

import (
	"context"
	"errors"
	"fmt"

	"github.com/xvault/xvault/sdk"
)

// Exit codes: the one table every xv command answers with.
const (
	ExitOK          = 0   // success
	ExitError       = 1   // any other error
	ExitUsage       = 2   // bad flags or arguments
	ExitNotFound    = 3   // the hub answered not_found
	ExitJobFailed   = 4   // a waited-for job failed or was canceled
	ExitInterrupted = 130 // SIGINT
)

// UsageError is a mistake in the command line itself.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// UsageErrorf makes a UsageError (exit 2).
func UsageErrorf(format string, args ...any) error {
	return &UsageError{Err: fmt.Errorf(format, args...)}
}

// HintError adds a "what to do next" line to an error.
type HintError struct {
	Err  error
	Hint string
}

func (e *HintError) Error() string { return e.Err.Error() }
func (e *HintError) Unwrap() error { return e.Err }

// WithHint wraps err with a hint printed on its own line after it.
func WithHint(err error, format string, args ...any) error {
	return &HintError{Err: err, Hint: fmt.Sprintf(format, args...)}
}

// JobFailedError reports a waited-for job that ended failed or canceled (exit 4).
type JobFailedError struct{ Job *sdk.Job }

func (e *JobFailedError) Error() string {
	msg := fmt.Sprintf("job %s %s", e.Job.ID, e.Job.Status)
	if e.Job.ErrorMessage != "" {
		msg += ": " + e.Job.ErrorMessage
	}
	return msg
}

// ExitCode maps an error onto the exit-code table.
func ExitCode(err error) int {
	var usage *UsageError
	var failed *JobFailedError
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, context.Canceled):
		return ExitInterrupted
	case errors.As(err, &usage):
		return ExitUsage
	case errors.As(err, &failed):
		return ExitJobFailed
	case errors.Is(err, sdk.ErrNotFound):
		return ExitNotFound
	default:
		return ExitError
	}
}

// Hint returns the hint attached to err, if any.
func Hint(err error) string {
	var h *HintError
	if errors.As(err, &h) {
		return h.Hint
	}
	return ""
}
