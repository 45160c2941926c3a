package store

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// CreateCredential inserts a sealed credential. A duplicate (tenant, name)
// is ErrConflict. The caller seals Ciphertext with AD = keys.CredentialAD(
// tenant id, credential id), so it must set c.ID before sealing.
func CreateCredential(ctx context.Context, db bun.IDB, c *Credential) error {
	if c.ID == "" {
		c.ID = NewID()
	}
	c.CreatedAt = nowOr(c.CreatedAt)
	c.UpdatedAt = nowOr(c.UpdatedAt)
	if _, err := db.NewInsert().Model(c).Exec(ctx); err != nil {
		return mapErr("create credential", err)
	}
	return nil
}

// GetCredential returns a credential of the tenant; ErrNotFound otherwise.
func GetCredential(ctx context.Context, db bun.IDB, tenantID, id string) (*Credential, error) {
	c := new(Credential)
	err := db.NewSelect().Model(c).Where("id = ?", id).Where("tenant_id = ?", tenantID).Scan(ctx)
	if err != nil {
		return nil, mapErr("get credential", err)
	}
	return c, nil
}

// ListCredentials lists a tenant's credentials, newest first.
func ListCredentials(ctx context.Context, db bun.IDB, tenantID string, p ListParams) ([]Credential, string, error) {
	return listPage(ctx, db, p, "list credentials",
		func(c *Credential) (time.Time, string) { return c.CreatedAt, c.ID },
		func(q *bun.SelectQuery) *bun.SelectQuery { return q.Where("tenant_id = ?", tenantID) })
}

// DeleteCredential refuses (ErrConflict) while a source or a storage
// target uses it.
func DeleteCredential(ctx context.Context, db bun.IDB, tenantID, id string) error {
	if _, err := GetCredential(ctx, db, tenantID, id); err != nil {
		return fmt.Errorf("delete credential: %w", err)
	}
	n, err := db.NewSelect().Model((*Source)(nil)).
		Where("tenant_id = ?", tenantID).Where("credential_id = ?", id).Count(ctx)
	if err != nil {
		return mapErr("delete credential: count sources", err)
	}
	if n > 0 {
		return fmt.Errorf("delete credential: %w: used by %d source(s)", ErrConflict, n)
	}
	if err := credentialUnusedByTargets(ctx, db, id); err != nil {
		return fmt.Errorf("delete credential: %w", err)
	}
	res, err := db.NewDelete().Model((*Credential)(nil)).
		Where("id = ?", id).Where("tenant_id = ?", tenantID).Exec(ctx)
	if err != nil {
		return mapErr("delete credential", err) // the foreign key is the backstop
	}
	return requireRow(res, "delete credential")
}

// requireRow turns "no row affected" into ErrNotFound.
func requireRow(res interface{ RowsAffected() (int64, error) }, doing string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return mapErr(doing, err)
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", doing, ErrNotFound)
	}
	return nil
}
