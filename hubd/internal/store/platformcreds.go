package store

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// Platform credentials are credentials rows with tenant_id NULL: made by a
// platform admin for platform storage targets, invisible to every tenant
// (tenant-scoped queries match tenant_id = ?, which NULL never equals) and
// unusable by sources (their foreign key pairs the source's tenant with the
// credential's). Create them with CreateCredential and TenantID "".

// GetPlatformCredential returns a platform credential; ErrNotFound otherwise.
func GetPlatformCredential(ctx context.Context, db bun.IDB, id string) (*Credential, error) {
	c := new(Credential)
	err := db.NewSelect().Model(c).Where("id = ?", id).Where("tenant_id IS NULL").Scan(ctx)
	if err != nil {
		return nil, mapErr("get platform credential", err)
	}
	return c, nil
}

// ListPlatformCredentials lists the platform credentials, newest first.
func ListPlatformCredentials(ctx context.Context, db bun.IDB, p ListParams) ([]Credential, string, error) {
	return listPage(ctx, db, p, "list platform credentials",
		func(c *Credential) (time.Time, string) { return c.CreatedAt, c.ID },
		func(q *bun.SelectQuery) *bun.SelectQuery { return q.Where("tenant_id IS NULL") })
}

// DeletePlatformCredential refuses (ErrConflict) while a storage target uses it.
func DeletePlatformCredential(ctx context.Context, db bun.IDB, id string) error {
	if _, err := GetPlatformCredential(ctx, db, id); err != nil {
		return fmt.Errorf("delete platform credential: %w", err)
	}
	if err := credentialUnusedByTargets(ctx, db, id); err != nil {
		return fmt.Errorf("delete platform credential: %w", err)
	}
	res, err := db.NewDelete().Model((*Credential)(nil)).Where("id = ?", id).Where("tenant_id IS NULL").Exec(ctx)
	if err != nil {
		return mapErr("delete platform credential", err)
	}
	return requireRow(res, "delete platform credential")
}

// credentialUnusedByTargets is ErrConflict while a storage target uses the credential.
func credentialUnusedByTargets(ctx context.Context, db bun.IDB, id string) error {
	n, err := db.NewSelect().Model((*StorageTarget)(nil)).Where("credential_id = ?", id).Count(ctx)
	if err != nil {
		return mapErr("count storage targets of credential", err)
	}
	if n > 0 {
		return fmt.Errorf("%w: used by %d storage target(s)", ErrConflict, n)
	}
	return nil
}
