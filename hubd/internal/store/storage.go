package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/xvault/xvault/sdk"
)

// StorageTarget is a row of storage_targets: a bucket snapshots go to.
// TenantID nil is a platform target (usable by every tenant's sources).
type StorageTarget struct {
	bun.BaseModel `bun:"table:storage_targets"`
	ID            string    `bun:"id,pk"`
	TenantID      *string   `bun:"tenant_id"`
	Name          string    `bun:"name"`
	Type          string    `bun:"type"` // s3
	Endpoint      string    `bun:"endpoint"`
	Bucket        string    `bun:"bucket"`
	Region        string    `bun:"region"`
	Prefix        string    `bun:"prefix"` // normalised: "" or ending in "/"
	PathStyle     bool      `bun:"path_style"`
	CredentialID  string    `bun:"credential_id"`
	CreatedAt     time.Time `bun:"created_at"`
	UpdatedAt     time.Time `bun:"updated_at"`
}

// Platform reports whether the target belongs to no tenant.
func (t *StorageTarget) Platform() bool { return t.TenantID == nil }

// StorageScope says whose storage targets a call sees: Any (a platform
// admin naming no tenant) sees every target; otherwise TenantID's own and
// the platform's. A zero scope sees the platform's only.
type StorageScope struct {
	TenantID string
	Any      bool
}

func (sc StorageScope) filter(q *bun.SelectQuery) *bun.SelectQuery {
	switch {
	case sc.Any:
		return q
	case sc.TenantID == "":
		return q.Where("tenant_id IS NULL")
	default:
		return q.Where("(tenant_id IS NULL OR tenant_id = ?)", sc.TenantID)
	}
}

// CreateStorageTarget inserts a target. A duplicate name in its scope (the
// tenant's, or the platform's) is ErrConflict, and so is a credential of
// another tenant (foreign key).
func CreateStorageTarget(ctx context.Context, db bun.IDB, t *StorageTarget) error {
	if t.ID == "" {
		t.ID = NewID()
	}
	t.CreatedAt = nowOr(t.CreatedAt)
	t.UpdatedAt = nowOr(t.UpdatedAt)
	if _, err := db.NewInsert().Model(t).Exec(ctx); err != nil {
		return mapErr("create storage target", err)
	}
	return nil
}

// GetStorageTarget returns a target the scope sees; ErrNotFound otherwise
// (a target of another tenant is not found, like a missing one).
func GetStorageTarget(ctx context.Context, db bun.IDB, sc StorageScope, id string) (*StorageTarget, error) {
	t := new(StorageTarget)
	q := db.NewSelect().Model(t).Where("id = ?", id)
	if err := sc.filter(q).Scan(ctx); err != nil {
		return nil, mapErr("get storage target", err)
	}
	return t, nil
}

// ListStorageTargets lists the targets the scope sees, newest first.
func ListStorageTargets(ctx context.Context, db bun.IDB, sc StorageScope, p ListParams) ([]StorageTarget, string, error) {
	return listPage(ctx, db, p, "list storage targets",
		func(t *StorageTarget) (time.Time, string) { return t.CreatedAt, t.ID }, sc.filter)
}

// StorageUsage counts what refers to a storage target.
type StorageUsage struct {
	Sources, Snapshots, Tenants, Jobs int
}

// InUse reports whether anything refers to the target.
func (u StorageUsage) InUse() bool { return u.Sources+u.Snapshots+u.Tenants+u.Jobs > 0 }

func (u StorageUsage) String() string {
	return fmt.Sprintf("%d source(s), %d snapshot(s), %d tenant default(s), %d active job(s)",
		u.Sources, u.Snapshots, u.Tenants, u.Jobs)
}

// StorageTargetUsage counts the sources, snapshots and tenant defaults that
// name the target.
func StorageTargetUsage(ctx context.Context, db bun.IDB, id string) (StorageUsage, error) {
	var u StorageUsage
	for _, c := range []struct {
		model  any
		column string
		n      *int
	}{
		{(*Source)(nil), "storage_id", &u.Sources},
		{(*Snapshot)(nil), "storage_target_id", &u.Snapshots},
		{(*Tenant)(nil), "default_storage_id", &u.Tenants},
	} {
		n, err := db.NewSelect().Model(c.model).Where("? = ?", bun.Ident(c.column), id).Count(ctx)
		if err != nil {
			return u, mapErr("count users of storage target", err)
		}
		*c.n = int(n)
	}
	n, err := db.NewSelect().Model((*Job)(nil)).Where("storage_target_id = ?", id).
		Where("status IN (?)", bun.In(activeStatuses)).Count(ctx)
	if err != nil {
		return u, mapErr("count jobs on storage target", err)
	}
	u.Jobs = int(n)
	return u, nil
}

// DeleteStorageTarget deletes a target the scope sees. It refuses
// (ErrConflict) while a source, a snapshot or a tenant's default names it.
func DeleteStorageTarget(ctx context.Context, db bun.IDB, sc StorageScope, id string) error {
	if _, err := GetStorageTarget(ctx, db, sc, id); err != nil {
		return fmt.Errorf("delete storage target: %w", err)
	}
	u, err := StorageTargetUsage(ctx, db, id)
	if err != nil {
		return fmt.Errorf("delete storage target: %w", err)
	}
	if u.InUse() {
		return fmt.Errorf("delete storage target: %w: used by %s", ErrConflict, u)
	}
	res, err := db.NewDelete().Model((*StorageTarget)(nil)).Where("id = ?", id).Exec(ctx)
	if err != nil {
		return mapErr("delete storage target", err) // the foreign keys are the backstop
	}
	return requireRow(res, "delete storage target")
}

// EffectiveStorage is the storage target a source's next snapshot goes
// to: the source's own, else its tenant's default; nil means local_fs.
func EffectiveStorage(ctx context.Context, db bun.IDB, tenantID, sourceID string) (*StorageTarget, error) {
	src, err := GetSource(ctx, db, tenantID, sourceID)
	if err != nil {
		return nil, fmt.Errorf("storage of source: %w", err)
	}
	id := derefStr(src.StorageID)
	if id == "" {
		t, err := GetTenant(ctx, db, tenantID)
		if err != nil {
			return nil, fmt.Errorf("storage of source: %w", err)
		}
		id = derefStr(t.DefaultStorageID)
	}
	if id == "" {
		return nil, nil
	}
	t, err := GetStorageTarget(ctx, db, StorageScope{TenantID: tenantID}, id)
	if isNotFound(err) {
		// Never fall back to local_fs: the source names a target its tenant cannot use.
		return nil, chainConflict("storage of source %s: storage target %s is not one its tenant may use", sourceID, id)
	}
	return t, err
}

// checkBackupStorage refuses to queue a backup whose snapshot would go to
// a storage target that no enrolled agent can write to (capability
// sdk.CapabilityStorageS3): until one can, such a backup must fail loudly
// instead of landing on an agent's disk.
func checkBackupStorage(ctx context.Context, db bun.IDB, tenantID, sourceID string) error {
	t, err := EffectiveStorage(ctx, db, tenantID, sourceID)
	switch {
	case isNotFound(err) && !errors.Is(err, ErrConflict):
		return nil // no such source: the insert's foreign key answers
	case err != nil || t == nil:
		return err
	}
	if ok, err := AnyAgentCan(ctx, db, sdk.CapabilityStorageS3); err != nil || ok {
		return err
	}
	return sdk.Errorf(sdk.CodeConflict, "storage target %s (%s) is not supported by any agent yet: no enrolled "+
		"agent advertises %s; hint: point the source back at local_fs (xv source update ID --storage local_fs) "+
		"or upgrade the agents", t.Name, t.ID, sdk.CapabilityStorageS3)
}

// SetTenantDefaultStorage sets (id) or clears (nil) the tenant's default
// storage target. The caller checks the tenant may use the target.
func SetTenantDefaultStorage(ctx context.Context, db bun.IDB, tenantID string, id *string, now time.Time) error {
	res, err := db.NewUpdate().Model((*Tenant)(nil)).
		Set("default_storage_id = ?", id).Set("updated_at = ?", nowOr(now)).
		Where("id = ?", tenantID).Exec(ctx)
	if err != nil {
		return mapErr("set default storage of tenant", err)
	}
	return requireRow(res, "set default storage of tenant")
}

// AnyAgentCan reports whether some enrolled agent advertises capability.
func AnyAgentCan(ctx context.Context, db bun.IDB, capability string) (bool, error) {
	all, err := AgentCapabilities(ctx, db)
	if err != nil {
		return false, fmt.Errorf("find agents with %s: %w", capability, err)
	}
	for _, raw := range all {
		if HasCapability(raw, capability) {
			return true, nil
		}
	}
	return false, nil
}
