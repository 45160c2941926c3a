package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/uptrace/bun"

	"github.com/xvault/xvault/hubd/internal/store"
	"github.com/xvault/xvault/sdk"
)

// settingSpec says what values a known setting takes.
type settingSpec struct {
	def, min, max int64
	description   string
}

// knownSettings are the settings an operator may change; others are refused.
var knownSettings = map[string]settingSpec{
	sdk.SettingDownloadExpirationHours: {def: 1, min: 1, max: 24 * 365,
		description: "Hours a restore download link stays valid (maximum of expires_in)"},
	sdk.SettingMaxDownloadSizeMB: {def: 5000, min: 1, max: 1 << 30,
		description: "Largest restore download offered, in MiB; a larger restore fails before writing"},
}

// downloadSettings are the settings restores follow, read at each use.
type downloadSettings struct {
	Expiration time.Duration
	MaxBytes   int64
}

func (s *Server) downloadSettings(ctx context.Context, db bun.IDB) (downloadSettings, error) {
	hours, err := s.intSetting(ctx, db, sdk.SettingDownloadExpirationHours)
	if err != nil {
		return downloadSettings{}, err
	}
	mb, err := s.intSetting(ctx, db, sdk.SettingMaxDownloadSizeMB)
	if err != nil {
		return downloadSettings{}, err
	}
	return downloadSettings{Expiration: time.Duration(hours) * time.Hour, MaxBytes: mb << 20}, nil
}

// intSetting reads a known integer setting; a missing or malformed value
// falls back to its default.
func (s *Server) intSetting(ctx context.Context, db bun.IDB, key string) (int64, error) {
	spec := knownSettings[key]
	row, err := store.GetSetting(ctx, db, key)
	if errors.Is(err, store.ErrNotFound) {
		return spec.def, nil
	} else if err != nil {
		return 0, wrapf(err, "read setting %s", key)
	}
	v, err := strconv.ParseInt(row.Value, 10, 64)
	if err != nil || v < spec.min || v > spec.max {
		s.cfg.Log.Warn("malformed setting; using its default", "key", key, "value", row.Value)
		return spec.def, nil
	}
	return v, nil
}

// GET /api/v1/admin/settings
func (s *Server) listSettings(ctx context.Context, c *call) (int, any, error) {
	rows, err := store.ListSettings(ctx, s.db)
	if err != nil {
		return 0, nil, wrapf(err, "list settings")
	}
	return http.StatusOK, page(rows, "", settingOut), nil
}

// GET /api/v1/admin/settings/{id}: {id} is the setting's key.
func (s *Server) getSetting(ctx context.Context, c *call) (int, any, error) {
	row, err := store.GetSetting(ctx, s.db, c.r.PathValue("id"))
	if err != nil {
		return 0, nil, wrapf(notFoundAs(err, "setting"), "get setting")
	}
	return http.StatusOK, settingOut(row), nil
}

// PUT /api/v1/admin/settings/{id}: change a known setting. Agents follow at
// their next claim: the values travel in each restore job.
func (s *Server) putSetting(ctx context.Context, c *call) (int, any, error) {
	var req sdk.PutSettingRequest
	if err := decode(c, &req); err != nil {
		return 0, nil, err
	}
	key := c.r.PathValue("id")
	spec, ok := knownSettings[key]
	if !ok {
		return 0, nil, sdk.Errorf(sdk.CodeNotFound, "setting %q not found; known: %s, %s", key,
			sdk.SettingDownloadExpirationHours, sdk.SettingMaxDownloadSizeMB)
	}
	v, err := strconv.ParseInt(req.Value, 10, 64)
	if err != nil || v < spec.min || v > spec.max {
		return 0, nil, fieldError("value", fmt.Sprintf("must be a whole number from %d to %d", spec.min, spec.max))
	}
	row := &store.SystemSetting{Key: key, Value: strconv.FormatInt(v, 10)}
	err = s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		old, err := store.GetSetting(ctx, tx, key)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if old == nil {
			row.Description = spec.description
		}
		if err := store.PutSetting(ctx, tx, row); err != nil {
			return err
		}
		details := map[string]any{"value": row.Value}
		if old != nil {
			details["old_value"] = old.Value
		}
		return s.audit(ctx, tx, c, auditEntry{Action: "setting.update", ObjectType: "setting", ObjectID: key, Details: details})
	})
	if err != nil {
		return 0, nil, wrapf(err, "put setting")
	}
	return http.StatusOK, settingOut(row), nil
}

func settingOut(r *store.SystemSetting) sdk.Setting {
	return sdk.Setting{Key: r.Key, Value: r.Value, Description: r.Description, UpdatedAt: r.UpdatedAt}
}
