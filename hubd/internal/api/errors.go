package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/xvault/xvault/hubd/internal/store"
	"github.com/xvault/xvault/sdk"
)

// writeJSON writes v as the JSON body with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	if v == nil {
		w.WriteHeader(status)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	_ = enc.Encode(v) // the client went away; nothing left to tell it
}

// apiError maps any error onto the error the client sees. It is the one
// place where store sentinels become HTTP statuses: ErrNotFound is 404,
// ErrConflict is 409, an *sdk.Error keeps its code, anything else is a 500
// whose real cause is only logged.
func apiError(err error) (*sdk.Error, bool) {
	var apiErr *sdk.Error
	switch {
	case errors.As(err, &apiErr):
		return apiErr, true
	case errors.Is(err, store.ErrNotFound):
		return sdk.Errorf(sdk.CodeNotFound, "not found"), true
	case errors.Is(err, store.ErrInvalidArgument):
		return sdk.Errorf(sdk.CodeInvalidArgument, "invalid request"), true
	case errors.Is(err, store.ErrConflict):
		return sdk.Errorf(sdk.CodeConflict, "the request conflicts with the current state"), true
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return sdk.Errorf(sdk.CodeUnavailable, "request canceled"), true // the client left or the hub stops
	default:
		return sdk.Errorf(sdk.CodeInternal, "internal error; the hub log has the details"), false
	}
}

func (s *Server) writeError(c *call, err error) {
	e, expected := apiError(err)
	if !expected {
		s.log.LogAttrs(c.r.Context(), slog.LevelError, "request failed",
			slog.String("method", c.r.Method), slog.String("route", c.route.Pattern),
			slog.String("tenant_id", c.tenantID), slog.Any("error", err))
	}
	writeJSON(c.w, e.Status(), sdk.ErrorBody{Error: e})
}

// notFoundAs turns store.ErrNotFound into a 404 naming the object kind.
func notFoundAs(err error, what string) error {
	if errors.Is(err, store.ErrNotFound) {
		return sdk.Errorf(sdk.CodeNotFound, "%s not found", what)
	}
	return err
}

// conflictAs turns store.ErrConflict into a 409 with the given message.
func conflictAs(err error, format string, args ...any) error {
	if errors.Is(err, store.ErrConflict) {
		return sdk.Errorf(sdk.CodeConflict, format, args...)
	}
	return err
}

// fieldError is an invalid_argument error about one field.
func fieldError(field, problem string) *sdk.Error {
	return &sdk.Error{Code: sdk.CodeInvalidArgument, Message: "invalid request",
		Fields: map[string]string{field: problem}}
}

// wrapf adds context to an unexpected error (never a secret).
func wrapf(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf(format+": %w", append(args, err)...)
}

func (s *Server) notFound(ctx context.Context, c *call) (int, any, error) {
	return 0, nil, sdk.Errorf(sdk.CodeNotFound, "no route %s %s; see docs/api.md", c.r.Method, c.r.URL.Path)
}
