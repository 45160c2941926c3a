package store

import (
	"context"
	"time"

	"github.com/uptrace/bun"
)

// Keys of the settings the first migration creates.
const (
	SettingDownloadExpirationHours = "download_expiration_hours"
	SettingMaxDownloadSizeMB       = "max_download_size_mb"
)

// GetSetting returns one setting; ErrNotFound for an unknown key.
func GetSetting(ctx context.Context, db bun.IDB, key string) (*SystemSetting, error) {
	s := new(SystemSetting)
	if err := db.NewSelect().Model(s).Where("key = ?", key).Scan(ctx); err != nil {
		return nil, mapErr("get setting", err)
	}
	return s, nil
}

// ListSettings returns every setting ordered by key.
func ListSettings(ctx context.Context, db bun.IDB) ([]SystemSetting, error) {
	var out []SystemSetting
	if err := db.NewSelect().Model(&out).Order("key").Scan(ctx); err != nil {
		return nil, mapErr("list settings", err)
	}
	return out, nil
}

// PutSetting creates or updates a setting. An empty Description keeps the
// stored one. s is refreshed from the database.
func PutSetting(ctx context.Context, db bun.IDB, s *SystemSetting) error {
	now := nowOr(time.Time{})
	s.CreatedAt, s.UpdatedAt = now, now
	err := db.NewInsert().Model(s).
		On("CONFLICT (key) DO UPDATE").
		Set("value = EXCLUDED.value").
		Set("description = CASE WHEN EXCLUDED.description = '' THEN ?TableAlias.description ELSE EXCLUDED.description END").
		Set("updated_at = EXCLUDED.updated_at").
		Returning("*").
		Scan(ctx)
	if err != nil {
		return mapErr("put setting", err)
	}
	return nil
}
