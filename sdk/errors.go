package sdk

import (
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
)

// Error codes of the API, each with one HTTP status.
const (
	CodeInvalidArgument  = "invalid_argument"  // 400
	CodeUnauthenticated  = "unauthenticated"   // 401
	CodePermissionDenied = "permission_denied" // 403
	CodeNotFound         = "not_found"         // 404
	CodeConflict         = "conflict"          // 409
	CodeGone             = "gone"              // 410
	CodeTooLarge         = "payload_too_large" // 413
	CodeUnavailable      = "unavailable"       // 503
	CodeInternal         = "internal"          // 500
)

// Sentinels for errors.Is on any *Error returned by the client.
var (
	ErrInvalidArgument  = errors.New(CodeInvalidArgument)
	ErrUnauthenticated  = errors.New(CodeUnauthenticated)
	ErrPermissionDenied = errors.New(CodePermissionDenied)
	ErrNotFound         = errors.New(CodeNotFound)
	ErrConflict         = errors.New(CodeConflict)
	ErrGone             = errors.New(CodeGone)
	ErrTooLarge         = errors.New(CodeTooLarge)
	ErrUnavailable      = errors.New(CodeUnavailable)
	ErrInternal         = errors.New(CodeInternal)
)

var codeSentinel = map[string]error{
	CodeInvalidArgument: ErrInvalidArgument, CodeUnauthenticated: ErrUnauthenticated,
	CodePermissionDenied: ErrPermissionDenied, CodeNotFound: ErrNotFound, CodeConflict: ErrConflict,
	CodeGone: ErrGone, CodeTooLarge: ErrTooLarge, CodeUnavailable: ErrUnavailable, CodeInternal: ErrInternal,
}

var codeStatus = map[string]int{
	CodeInvalidArgument: http.StatusBadRequest, CodeUnauthenticated: http.StatusUnauthorized,
	CodePermissionDenied: http.StatusForbidden, CodeNotFound: http.StatusNotFound,
	CodeConflict: http.StatusConflict, CodeGone: http.StatusGone,
	CodeTooLarge: http.StatusRequestEntityTooLarge, CodeUnavailable: http.StatusServiceUnavailable,
	CodeInternal: http.StatusInternalServerError,
}

// ErrorBody is the JSON shape of every error response.
type ErrorBody struct {
	Error *Error `json:"error"`
}

// Error is an API error: a code, a human message and per-field problems.
type Error struct {
	Code    string            `json:"code"`
	Message string            `json:"message"`
	Fields  map[string]string `json:"fields,omitempty"`
	// HTTPStatus is set by the client from the response; not on the wire.
	HTTPStatus int `json:"-"`
}

// Errorf makes an *Error with a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldErrors makes an invalid_argument error listing every field problem.
func FieldErrors(fields map[string]string) *Error {
	return &Error{Code: CodeInvalidArgument, Message: "invalid request", Fields: fields}
}

// Error renders one readable line: the message and the field problems, sorted.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Message)
	if len(e.Fields) > 0 {
		keys := make([]string, 0, len(e.Fields))
		for k := range e.Fields {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteString(": ")
		for i, k := range keys {
			if i > 0 {
				b.WriteString("; ")
			}
			fmt.Fprintf(&b, "%s %s", k, e.Fields[k])
		}
	}
	return b.String()
}

// Is lets errors.Is(err, sdk.ErrNotFound) work.
func (e *Error) Is(target error) bool { return codeSentinel[e.Code] == target }

// Status is the HTTP status for the error's code.
func (e *Error) Status() int {
	if s, ok := codeStatus[e.Code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// CodeForStatus maps an HTTP status onto an error code (for bodies that are not JSON).
func CodeForStatus(status int) string {
	for c, s := range codeStatus {
		if s == status {
			return c
		}
	}
	return CodeInternal
}
