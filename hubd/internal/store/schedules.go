package store

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// Outcomes of a schedule slot (schedule_runs.outcome).
const (
	SlotQueued          = "queued"
	SlotSkippedActive   = "skipped_active"   // the source already had an active backup
	SlotSkippedDisabled = "skipped_disabled" // the source is disabled
	SlotSkippedRefused  = "skipped_refused"  // the hub refused to queue the backup (Reason says why)
)

// ScheduleRun records one slot of a schedule that fired or was skipped.
// UNIQUE (schedule_id, slot): a slot is handled once across hub replicas.
type ScheduleRun struct {
	bun.BaseModel `bun:"table:schedule_runs"`
	ID            string    `bun:"id,pk"`
	TenantID      string    `bun:"tenant_id"`
	ScheduleID    string    `bun:"schedule_id"`
	Slot          time.Time `bun:"slot"`
	Outcome       string    `bun:"outcome"`
	JobID         *string   `bun:"job_id"`
	Reason        *string   `bun:"reason"` // skipped_refused: why the hub refused to queue the backup
	CreatedAt     time.Time `bun:"created_at"`
}

func (m *ScheduleRun) AfterScanRow(context.Context) error { utcFields(m); return nil }

// CreateSchedule inserts a schedule. The source must be one of the
// tenant's (foreign key: ErrConflict otherwise; callers check first).
func CreateSchedule(ctx context.Context, db bun.IDB, s *Schedule) error {
	if s.ID == "" {
		s.ID = NewID()
	}
	if s.Timezone == "" {
		s.Timezone = "UTC"
	}
	if len(s.RetentionPolicy) == 0 {
		s.RetentionPolicy = emptyObject
	}
	s.CreatedAt = nowOr(s.CreatedAt)
	s.UpdatedAt = s.CreatedAt
	s.NextRunAt = utcMicroPtr(s.NextRunAt)
	s.NextVerifyAt = utcMicroPtr(s.NextVerifyAt)
	if _, err := db.NewInsert().Model(s).Exec(ctx); err != nil {
		return mapErr("create schedule", err)
	}
	return nil
}

// GetSchedule returns a schedule of the tenant; ErrNotFound otherwise.
func GetSchedule(ctx context.Context, db bun.IDB, tenantID, id string) (*Schedule, error) {
	s := new(Schedule)
	err := db.NewSelect().Model(s).Where("id = ?", id).Where("tenant_id = ?", tenantID).Scan(ctx)
	if err != nil {
		return nil, mapErr("get schedule", err)
	}
	return s, nil
}

type ScheduleListParams struct {
	ListParams
	SourceID string
}

// ListSchedules lists a tenant's schedules, newest first, optionally of one source.
func ListSchedules(ctx context.Context, db bun.IDB, tenantID string, p ScheduleListParams) ([]Schedule, string, error) {
	return listPage(ctx, db, p.ListParams, "list schedules",
		func(s *Schedule) (time.Time, string) { return s.CreatedAt, s.ID },
		func(q *bun.SelectQuery) *bun.SelectQuery {
			q = q.Where("tenant_id = ?", tenantID)
			if p.SourceID != "" {
				q = q.Where("source_id = ?", p.SourceID)
			}
			return q
		})
}

// UpdateSchedule writes cron, interval, timezone, enabled, retention
// policy, next_run_at, the verify drill (mode, period, next_verify_at)
// and alert_after_minutes of s (matched by id and tenant). ErrNotFound for another tenant's schedule.
func UpdateSchedule(ctx context.Context, db bun.IDB, s *Schedule) error {
	if len(s.RetentionPolicy) == 0 {
		s.RetentionPolicy = emptyObject
	}
	s.UpdatedAt = nowOr(s.UpdatedAt)
	s.NextRunAt = utcMicroPtr(s.NextRunAt)
	s.NextVerifyAt = utcMicroPtr(s.NextVerifyAt)
	err := db.NewUpdate().Model(s).
		Column("cron", "interval_minutes", "timezone", "enabled", "retention_policy", "next_run_at",
			"verify_mode", "verify_every_minutes", "next_verify_at", "alert_after_minutes", "updated_at").
		Where("id = ?", s.ID).Where("tenant_id = ?", s.TenantID).
		Returning("*").Scan(ctx)
	if err != nil {
		return mapErr("update schedule", err)
	}
	return nil
}

// DeleteSchedule removes a schedule (its slot records go with it).
func DeleteSchedule(ctx context.Context, db bun.IDB, tenantID, id string) error {
	res, err := db.NewDelete().Model((*Schedule)(nil)).
		Where("id = ?", id).Where("tenant_id = ?", tenantID).Exec(ctx)
	if err != nil {
		return mapErr("delete schedule", err)
	}
	return requireRow(res, "delete schedule")
}

// DueSchedules lists enabled schedules whose next_run_at is at or before
// now, the most overdue first. Not tenant-scoped: the scheduler's view.
func DueSchedules(ctx context.Context, db bun.IDB, now time.Time, limit int) ([]Schedule, error) {
	var out []Schedule
	err := db.NewSelect().Model(&out).
		Where("enabled = ?", true).
		Where("next_run_at IS NOT NULL").Where("next_run_at <= ?", nowOr(now)).
		OrderExpr("next_run_at ASC, id ASC").Limit(int64(limit)).
		Scan(ctx)
	if err != nil {
		return nil, mapErr("list due schedules", err)
	}
	return out, nil
}

// ClaimSlot records that a schedule's slot is being handled. It returns
// false, without error, when the slot was already recorded (by another
// hub replica): the caller must then leave the slot alone. On PostgreSQL
// a concurrent claimer waits for the first one's transaction to end.
func ClaimSlot(ctx context.Context, db bun.IDB, r *ScheduleRun) (bool, error) {
	if r.ID == "" {
		r.ID = NewID()
	}
	r.Slot = utcMicro(r.Slot)
	r.CreatedAt = nowOr(r.CreatedAt)
	res, err := db.NewInsert().Model(r).On("CONFLICT DO NOTHING").Exec(ctx)
	if err != nil {
		return false, mapErr("claim schedule slot", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, mapErr("claim schedule slot", err)
	}
	return n == 1, nil
}

// SetSlotOutcome records what happened to a claimed slot.
func SetSlotOutcome(ctx context.Context, db bun.IDB, runID, outcome string, jobID, reason *string) error {
	_, err := db.NewUpdate().Model((*ScheduleRun)(nil)).
		Set("outcome = ?", outcome).Set("job_id = ?", jobID).Set("reason = ?", reason).
		Where("id = ?", runID).Exec(ctx)
	return mapErr("set schedule slot outcome", err)
}

// AdvanceSchedule moves a schedule past slot: last_run_at = slot,
// next_run_at = next. It changes nothing (false) when next_run_at is no
// longer slot (the schedule was edited or another replica advanced it).
func AdvanceSchedule(ctx context.Context, db bun.IDB, id string, slot, next time.Time, now time.Time) (bool, error) {
	q := db.NewUpdate().Model((*Schedule)(nil)).
		Set("last_run_at = ?", utcMicro(slot)).Set("updated_at = ?", nowOr(now)).
		Where("id = ?", id).Where("next_run_at = ?", utcMicro(slot))
	if next.IsZero() {
		q = q.Set("next_run_at = NULL")
	} else {
		q = q.Set("next_run_at = ?", utcMicro(next))
	}
	res, err := q.Exec(ctx)
	if err != nil {
		return false, mapErr("advance schedule", err)
	}
	n, err := res.RowsAffected()
	return n == 1, mapErr("advance schedule", err)
}

// ListScheduleRuns returns a schedule's most recent slot records, newest first.
func ListScheduleRuns(ctx context.Context, db bun.IDB, tenantID, scheduleID string, limit int) ([]ScheduleRun, error) {
	var out []ScheduleRun
	err := db.NewSelect().Model(&out).
		Where("tenant_id = ?", tenantID).Where("schedule_id = ?", scheduleID).
		OrderExpr("slot DESC").Limit(int64(limit)).Scan(ctx)
	if err != nil {
		return nil, mapErr("list schedule runs", err)
	}
	return out, nil
}

// PageScheduleRuns lists a schedule's slot records a page at a time,
// newest first (GET /api/v1/schedules/{id}/runs).
func PageScheduleRuns(ctx context.Context, db bun.IDB, tenantID, scheduleID string, p ListParams) ([]ScheduleRun, string, error) {
	return listPage(ctx, db, p, "list schedule runs",
		func(r *ScheduleRun) (time.Time, string) { return r.CreatedAt, r.ID },
		func(q *bun.SelectQuery) *bun.SelectQuery {
			return q.Where("tenant_id = ?", tenantID).Where("schedule_id = ?", scheduleID)
		})
}

// OldestScheduleTimezone is the time zone of the source's oldest schedule,
// "UTC" when it has none: the zone its retention buckets are cut in.
func OldestScheduleTimezone(ctx context.Context, db bun.IDB, tenantID, sourceID string) (string, error) {
	var tz []string
	err := db.NewSelect().Model((*Schedule)(nil)).Column("timezone").
		Where("tenant_id = ?", tenantID).Where("source_id = ?", sourceID).
		OrderExpr("created_at ASC, id ASC").Limit(1).Scan(ctx, &tz)
	if err != nil {
		return "", mapErr(fmt.Sprintf("time zone of source %s", sourceID), err)
	}
	if len(tz) == 0 || tz[0] == "" {
		return "UTC", nil
	}
	return tz[0], nil
}

func utcMicroPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := utcMicro(*t)
	return &u
}
