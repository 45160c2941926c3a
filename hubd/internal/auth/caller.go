package auth

import (
	"context"

	"github.com/xvault/xvault/sdk"
)

// Caller is who is making a request, resolved from its bearer token.
type Caller struct {
	Kind     sdk.TokenKind
	TokenID  string
	TenantID string // tenant tokens only
	Role     sdk.Role
	AgentID  string // agent tokens only
}

// IsPlatformAdmin reports whether the caller holds a platform admin token.
func (c *Caller) IsPlatformAdmin() bool { return c != nil && c.Kind == sdk.TokenPlatformAdmin }

// IsOperator reports whether the caller may use the operator API at all
// (platform admins and tenant tokens, not agents).
func (c *Caller) IsOperator() bool {
	return c != nil && (c.Kind == sdk.TokenPlatformAdmin || c.Kind == sdk.TokenTenant)
}

// IsAgent reports whether the caller is an enrolled agent.
func (c *Caller) IsAgent() bool { return c != nil && c.Kind == sdk.TokenAgent && c.AgentID != "" }

// CanWrite reports whether the caller may change objects of tenantID:
// platform admins may, as may owners and admins of that very tenant.
func (c *Caller) CanWrite(tenantID string) bool {
	switch {
	case c.IsPlatformAdmin():
		return true
	case c == nil || c.Kind != sdk.TokenTenant || c.TenantID != tenantID:
		return false
	default:
		return c.Role == sdk.RoleOwner || c.Role == sdk.RoleAdmin
	}
}

// CanGrant reports whether the caller may make a token with role r for its
// tenant: owners grant any role, admins grant admin and member.
func (c *Caller) CanGrant(r sdk.Role) bool {
	switch {
	case c.IsPlatformAdmin():
		return true
	case c == nil || c.Kind != sdk.TokenTenant:
		return false
	case c.Role == sdk.RoleOwner:
		return true
	case c.Role == sdk.RoleAdmin:
		return r == sdk.RoleAdmin || r == sdk.RoleMember
	default:
		return false
	}
}

// ActorID is what audit events record as the actor: the agent id for
// agents, the token id for everyone else.
func (c *Caller) ActorID() string {
	if c.Kind == sdk.TokenAgent && c.AgentID != "" {
		return c.AgentID
	}
	return c.TokenID
}

// SDK is the caller as the status endpoint reports it.
func (c *Caller) SDK() sdk.Caller {
	return sdk.Caller{Kind: c.Kind, TokenID: c.TokenID, TenantID: c.TenantID, Role: c.Role, AgentID: c.AgentID}
}

type callerKey struct{}

// WithCaller stores the request's caller in its context (request-scoped
// identity only; dependencies are never passed this way).
func WithCaller(ctx context.Context, c *Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// FromContext returns the caller stored by WithCaller, or nil.
func FromContext(ctx context.Context) *Caller {
	c, _ := ctx.Value(callerKey{}).(*Caller)
	return c
}
