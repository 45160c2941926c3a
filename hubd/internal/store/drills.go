package store

import (
	"context"
	"time"

	"github.com/uptrace/bun"
)

// DueVerifySchedules lists enabled schedules with verify drills whose
// next_verify_at is at or before now, the most overdue first. A NULL
// next_verify_at (drills set up outside the API) is due now and comes
// first. Not tenant-scoped: the scheduler's view.
func DueVerifySchedules(ctx context.Context, db bun.IDB, now time.Time, limit int) ([]Schedule, error) {
	var out []Schedule
	err := db.NewSelect().Model(&out).
		Where("enabled = ?", true).
		Where("verify_mode IS NOT NULL").Where("verify_every_minutes IS NOT NULL").
		WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
			return q.Where("next_verify_at IS NULL").WhereOr("next_verify_at <= ?", nowOr(now))
		}).
		OrderExpr("next_verify_at IS NOT NULL, next_verify_at ASC, id ASC").Limit(int64(limit)).
		Scan(ctx)
	if err != nil {
		return nil, mapErr("list schedules due for a verify drill", err)
	}
	return out, nil
}

// AdvanceVerify moves an enabled drill schedule's next_verify_at from due
// (nil = NULL) to next. It changes nothing (false) when next_verify_at is
// no longer due, or the schedule was paused or lost its drills meanwhile:
// another hub replica or an edit got there first. On PostgreSQL a
// concurrent caller waits for the first one's transaction, then gets false.
func AdvanceVerify(ctx context.Context, db bun.IDB, id string, due *time.Time, next, now time.Time) (bool, error) {
	q := db.NewUpdate().Model((*Schedule)(nil)).
		Set("next_verify_at = ?", utcMicro(next)).Set("updated_at = ?", nowOr(now)).
		Where("id = ?", id).Where("enabled = ?", true).Where("verify_mode IS NOT NULL")
	if due == nil {
		q = q.Where("next_verify_at IS NULL")
	} else {
		q = q.Where("next_verify_at = ?", utcMicro(*due))
	}
	res, err := q.Exec(ctx)
	if err != nil {
		return false, mapErr("advance verify drill", err)
	}
	n, err := res.RowsAffected()
	return n == 1, mapErr("advance verify drill", err)
}

// DrillSnapshots returns the completed snapshots of a source, newest
// first: what a verify drill may pick. Failed snapshots and those being
// deleted are left out.
func DrillSnapshots(ctx context.Context, db bun.IDB, tenantID, sourceID string) ([]Snapshot, error) {
	var out []Snapshot
	err := db.NewSelect().Model(&out).
		ExcludeColumn("verify_report", "manifest_json").
		Where("tenant_id = ?", tenantID).Where("source_id = ?", sourceID).Where("status = ?", "completed").
		OrderExpr("created_at DESC, id DESC").Scan(ctx)
	if err != nil {
		return nil, mapErr("list snapshots for a verify drill", err)
	}
	return out, nil
}
