package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

var emptyObject = json.RawMessage(`{}`)

// CreateSource inserts a source (Status "" = active, Config nil = {}). A
// duplicate (tenant, name) is ErrConflict, and so is a credential id that is
// not one of the tenant's credentials (foreign key).
func CreateSource(ctx context.Context, db bun.IDB, s *Source) error {
	if s.ID == "" {
		s.ID = NewID()
	}
	if s.Status == "" {
		s.Status = "active"
	}
	if len(s.Config) == 0 {
		s.Config = emptyObject
	}
	s.CreatedAt = nowOr(s.CreatedAt)
	s.UpdatedAt = nowOr(s.UpdatedAt)
	if _, err := db.NewInsert().Model(s).Exec(ctx); err != nil {
		return mapErr("create source", err)
	}
	return nil
}

// GetSource returns a source of the tenant; ErrNotFound otherwise.
func GetSource(ctx context.Context, db bun.IDB, tenantID, id string) (*Source, error) {
	s := new(Source)
	err := db.NewSelect().Model(s).Where("id = ?", id).Where("tenant_id = ?", tenantID).Scan(ctx)
	if err != nil {
		return nil, mapErr("get source", err)
	}
	return s, nil
}

type SourceListParams struct {
	ListParams
	Type string
}

// ListSources lists a tenant's sources, newest first, optionally of one type.
func ListSources(ctx context.Context, db bun.IDB, tenantID string, p SourceListParams) ([]Source, string, error) {
	return listPage(ctx, db, p.ListParams, "list sources",
		func(s *Source) (time.Time, string) { return s.CreatedAt, s.ID },
		func(q *bun.SelectQuery) *bun.SelectQuery {
			q = q.Where("tenant_id = ?", tenantID)
			if p.Type != "" {
				q = q.Where("type = ?", p.Type)
			}
			return q
		})
}

// UpdateSource writes name, type, status, config and credential id of
// s (matched by s.ID and s.TenantID) and bumps updated_at. The host key
// fingerprint is not touched (see RecordHostKey, ResetHostKey).
// ErrNotFound for another tenant's source.
func UpdateSource(ctx context.Context, db bun.IDB, s *Source) error {
	if len(s.Config) == 0 {
		s.Config = emptyObject
	}
	s.UpdatedAt = nowOr(time.Time{})
	err := db.NewUpdate().Model(s).
		Column("name", "type", "status", "config", "credential_id", "storage_id", "updated_at").
		Where("id = ?", s.ID).Where("tenant_id = ?", s.TenantID).
		Returning("*").
		Scan(ctx)
	if err != nil {
		return mapErr("update source", err)
	}
	return nil
}

// DeleteSource refuses (ErrConflict) while the source has snapshots or active jobs.
// Its schedules go with it; finished jobs keep their row with source_id NULL.
func DeleteSource(ctx context.Context, db bun.IDB, tenantID, id string) error {
	if _, err := GetSource(ctx, db, tenantID, id); err != nil {
		return fmt.Errorf("delete source: %w", err)
	}
	snaps, err := db.NewSelect().Model((*Snapshot)(nil)).Where("source_id = ?", id).Count(ctx)
	if err != nil {
		return mapErr("delete source: count snapshots", err)
	}
	active, err := db.NewSelect().Model((*Job)(nil)).
		Where("source_id = ?", id).Where("status IN (?)", bun.In(activeStatuses)).Count(ctx)
	if err != nil {
		return mapErr("delete source: count active jobs", err)
	}
	if snaps > 0 || active > 0 {
		return fmt.Errorf("delete source: %w: it has %d snapshot(s) and %d active job(s)", ErrConflict, snaps, active)
	}
	res, err := db.NewDelete().Model((*Source)(nil)).
		Where("id = ?", id).Where("tenant_id = ?", tenantID).Exec(ctx)
	if err != nil {
		return mapErr("delete source", err)
	}
	return requireRow(res, "delete source")
}

// RecordHostKey sets host_key_fingerprint only if it is still empty (trust on
// first use); it returns the fingerprint now stored.
func RecordHostKey(ctx context.Context, db bun.IDB, tenantID, sourceID, fingerprint string) (string, error) {
	_, err := db.NewUpdate().Model((*Source)(nil)).
		Set("host_key_fingerprint = ?", fingerprint).
		Where("id = ?", sourceID).Where("tenant_id = ?", tenantID).
		Where("(host_key_fingerprint IS NULL OR host_key_fingerprint = '')").
		Exec(ctx)
	if err != nil {
		return "", mapErr("record host key", err)
	}
	s, err := GetSource(ctx, db, tenantID, sourceID)
	if err != nil {
		return "", fmt.Errorf("record host key: %w", err)
	}
	if s.HostKeyFingerprint == nil {
		return "", nil
	}
	return *s.HostKeyFingerprint, nil
}

// ResetHostKey forgets the recorded fingerprint (the operator accepts a
// changed host key); the next connection records the new one.
func ResetHostKey(ctx context.Context, db bun.IDB, tenantID, sourceID string) error {
	res, err := db.NewUpdate().Model((*Source)(nil)).
		Set("host_key_fingerprint = NULL").Set("updated_at = ?", nowOr(time.Time{})).
		Where("id = ?", sourceID).Where("tenant_id = ?", tenantID).
		Exec(ctx)
	if err != nil {
		return mapErr("reset host key", err)
	}
	return requireRow(res, "reset host key")
}
