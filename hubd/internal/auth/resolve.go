package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/xvault/xvault/hubd/internal/store"
	"github.com/xvault/xvault/sdk"
)

// errUnauthenticated is the one answer for every bad token: missing,
// malformed, unknown, revoked or expired look the same to the client.
var errUnauthenticated = sdk.Errorf(sdk.CodeUnauthenticated,
	"missing, invalid, expired or revoked token; hint: pass Authorization: Bearer <token>")

// Unauthenticated is the error returned for any token that does not resolve.
func Unauthenticated() *sdk.Error { return errUnauthenticated }

// Resolver turns bearer tokens into callers using the api_tokens table.
type Resolver struct {
	DB  bun.IDB
	Now func() time.Time
}

// Resolve looks up an operator or agent token given in an Authorization
// header value. Any token that does not resolve is an *sdk.Error with code
// unauthenticated; database failures are returned wrapped.
func (r *Resolver) Resolve(ctx context.Context, header string) (*Caller, error) {
	token, ok := BearerToken(header)
	if !ok || !(wellFormed(token, PrefixOperator) || wellFormed(token, PrefixAgent)) {
		return nil, errUnauthenticated
	}
	row, err := store.TokenByHash(ctx, r.DB, Hash(token), r.now())
	if errors.Is(err, store.ErrNotFound) {
		return nil, errUnauthenticated
	}
	if err != nil {
		return nil, fmt.Errorf("resolve token: %w", err)
	}
	c := callerFromRow(row)
	// A token must match the kind its prefix announces.
	if (c.Kind == sdk.TokenAgent) != strings.HasPrefix(token, PrefixAgent) {
		return nil, errUnauthenticated
	}
	return c, nil
}

// EnrollmentToken extracts a well-formed enrollment token from an
// Authorization header value, or returns the unauthenticated error.
func EnrollmentToken(header string) (string, error) {
	token, ok := BearerToken(header)
	if !ok || !wellFormed(token, PrefixEnrollment) {
		return "", errUnauthenticated
	}
	return token, nil
}

func (r *Resolver) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now().UTC()
}

func callerFromRow(t *store.APIToken) *Caller {
	c := &Caller{Kind: sdk.TokenKind(t.Kind), TokenID: t.ID}
	if t.TenantID != nil {
		c.TenantID = *t.TenantID
	}
	if t.Role != nil {
		c.Role = sdk.Role(*t.Role)
	}
	if t.AgentID != nil {
		c.AgentID = *t.AgentID
	}
	return c
}
