package objstore

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/minio/minio-go/v7"
)

// ErrPermanent matches (errors.Is) every error that retrying cannot fix:
// a bad credential, a missing bucket or object, an invalid request. An error
// that matches neither ErrPermanent nor a context error is transient
// (ErrTransient): the server or the network failed after minio-go's own
// retries, and the job may be tried again later.
var ErrPermanent = errors.New("permanent s3 error")

// ErrTransient matches errors worth retrying later: 5xx, throttling and
// network failures that outlived minio-go's retries.
var ErrTransient = errors.New("transient s3 error")

// The kinds of failure, each matching ErrPermanent or ErrTransient too.
var (
	ErrInvalidConfig = permanent("invalid s3 configuration")
	ErrInvalidKey    = permanent("invalid object key")
	ErrAccessDenied  = permanent("access denied (check the credential: access key id and secret access key)")
	ErrNoSuchBucket  = permanent("does not exist (check the bucket name, region and endpoint)")
	ErrNotFound      = permanent("object not found")
	ErrNoSuchUpload  = permanent("multipart upload not found (aborted or completed)")
	ErrRejected      = permanent("request rejected")
	ErrSizeMismatch  = permanent("object size differs from the bytes uploaded")
	ErrUnavailable   = &kindError{msg: "server unavailable or failing", transient: true}
)

// kindError is a failure kind; Is lets it match ErrPermanent or ErrTransient.
type kindError struct {
	msg       string
	transient bool
}

func permanent(msg string) *kindError { return &kindError{msg: msg} }

func (e *kindError) Error() string { return e.msg }

func (e *kindError) Is(target error) bool {
	if e.transient {
		return target == ErrTransient
	}
	return target == ErrPermanent
}

// Error is a failed S3 operation. Its message names the operation, the
// bucket and the endpoint, and never the secret access key.
type Error struct {
	Op       string // what was being done: "upload part 3 of KEY"
	Bucket   string
	Endpoint string // scheme://host[:port], no credential
	Kind     error  // one of the Err* kinds above
	Err      error  // the cause, from minio-go or the network; may be nil
	secret   string // redacted from the message, never printed
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Op != "" {
		b.WriteString(e.Op)
		b.WriteString(": ")
	}
	fmt.Fprintf(&b, "s3 bucket %q at %s: %s", e.Bucket, e.Endpoint, e.Kind)
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return redact(b.String(), e.secret)
}

// Unwrap exposes the kind (and through it ErrPermanent/ErrTransient) and
// the cause.
func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}

func redact(msg, secret string) string {
	if len(secret) < 4 { // a tiny secret would blank out ordinary words
		return msg
	}
	return strings.ReplaceAll(msg, secret, "[redacted]")
}

// wrap turns an error of minio-go into an *Error of kind chosen from the S3
// error code or HTTP status. Context errors pass through unchanged (wrapped
// with the operation), so callers see cancellation as cancellation.
func (s *Store) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: %w", op, err)
	}
	return &Error{Op: op, Bucket: s.cfg.Bucket, Endpoint: s.endpoint, Kind: classify(err),
		Err: scrubCause(err), secret: s.cfg.SecretAccessKey}
}

// newError builds an *Error of a given kind without a minio cause.
func (s *Store) newError(op string, kind error, cause error) error {
	return &Error{Op: op, Bucket: s.cfg.Bucket, Endpoint: s.endpoint, Kind: kind, Err: cause,
		secret: s.cfg.SecretAccessKey}
}

// classify maps a minio-go error onto a kind.
func classify(err error) error {
	var resp minio.ErrorResponse
	if !errors.As(err, &resp) {
		return ErrUnavailable // network error after minio-go's retries
	}
	switch resp.Code {
	case minio.NoSuchBucket:
		return ErrNoSuchBucket
	case minio.NoSuchKey, "NotFound":
		return ErrNotFound
	case minio.NoSuchUpload:
		return ErrNoSuchUpload
	case minio.AccessDenied, "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken",
		"AllAccessDisabled", "AccountProblem", "InvalidSecurity":
		return ErrAccessDenied
	}
	switch {
	case resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusUnauthorized:
		return ErrAccessDenied
	case resp.StatusCode == http.StatusNotFound:
		return ErrNotFound
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return ErrUnavailable
	case resp.StatusCode >= 400:
		return ErrRejected
	}
	return ErrUnavailable
}

// scrubCause keeps the useful part of a minio error (code, message, request
// id) and drops the rest; other errors are kept as they are.
func scrubCause(err error) error {
	var resp minio.ErrorResponse
	if !errors.As(err, &resp) {
		return err
	}
	msg := resp.Code
	if resp.Message != "" {
		msg += ": " + resp.Message
	}
	if resp.StatusCode != 0 {
		msg = fmt.Sprintf("%s (HTTP %d", msg, resp.StatusCode)
		if resp.RequestID != "" {
			msg += ", request id " + resp.RequestID
		}
		msg += ")"
	}
	return &causeError{msg: msg, err: err}
}

type causeError struct {
	msg string
	err error
}

func (e *causeError) Error() string { return e.msg }
func (e *causeError) Unwrap() error { return e.err }
