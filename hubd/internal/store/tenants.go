package store

import (
	"context"
	"time"

	"github.com/uptrace/bun"
)

// CreateTenant inserts a tenant and, when key is not nil, its first (active)
// tenant key. Call it inside RunInTx so both rows land together. Empty ids
// and zero times are filled in. A duplicate name is ErrConflict.
func CreateTenant(ctx context.Context, db bun.IDB, t *Tenant, key *TenantKey) error {
	if t.ID == "" {
		t.ID = NewID()
	}
	t.CreatedAt = nowOr(t.CreatedAt)
	t.UpdatedAt = nowOr(t.UpdatedAt)
	if t.Plan == "" {
		t.Plan = "free"
	}
	if _, err := db.NewInsert().Model(t).Exec(ctx); err != nil {
		return mapErr("create tenant", err)
	}
	if key == nil {
		return nil
	}
	key.TenantID = t.ID
	return CreateTenantKey(ctx, db, key)
}

// CreateTenantKey inserts a tenant key (default active, age-x25519). A second
// active key for the tenant is ErrConflict.
func CreateTenantKey(ctx context.Context, db bun.IDB, key *TenantKey) error {
	if key.ID == "" {
		key.ID = NewID()
	}
	if key.Algorithm == "" {
		key.Algorithm = "age-x25519"
	}
	if key.KeyStatus == "" {
		key.KeyStatus = "active"
	}
	key.CreatedAt = nowOr(key.CreatedAt)
	key.UpdatedAt = nowOr(key.UpdatedAt)
	if _, err := db.NewInsert().Model(key).Exec(ctx); err != nil {
		return mapErr("create tenant key", err)
	}
	return nil
}

// GetTenant returns a tenant by id; ErrNotFound if there is none.
func GetTenant(ctx context.Context, db bun.IDB, id string) (*Tenant, error) {
	t := new(Tenant)
	if err := db.NewSelect().Model(t).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, mapErr("get tenant", err)
	}
	return t, nil
}

// ListTenants lists tenants, newest first.
func ListTenants(ctx context.Context, db bun.IDB, p ListParams) ([]Tenant, string, error) {
	return listPage(ctx, db, p, "list tenants",
		func(t *Tenant) (time.Time, string) { return t.CreatedAt, t.ID }, nil)
}

// ActiveTenantKey returns the tenant's active key; ErrNotFound if none.
func ActiveTenantKey(ctx context.Context, db bun.IDB, tenantID string) (*TenantKey, error) {
	k := new(TenantKey)
	err := db.NewSelect().Model(k).
		Where("tenant_id = ?", tenantID).Where("key_status = 'active'").
		Scan(ctx)
	if err != nil {
		return nil, mapErr("get active tenant key", err)
	}
	return k, nil
}
