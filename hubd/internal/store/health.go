package store

import (
	"context"
	"time"

	"github.com/uptrace/bun"
)

// The facts fleet health (hubd/internal/health) is computed from. Each is
// one query over all the sources of a tenant, or of every tenant when
// tenantID is "" (the platform view and the hub's overdue sweep).

// HealthSource is an active source as fleet health sees it.
type HealthSource struct {
	bun.BaseModel   `bun:"table:sources"`
	ID              string     `bun:"id"`
	TenantID        string     `bun:"tenant_id"`
	Name            string     `bun:"name"`
	CreatedAt       time.Time  `bun:"created_at"`
	OverdueRaisedAt *time.Time `bun:"overdue_raised_at"` // last source.overdue event
}

func (m *HealthSource) AfterScanRow(context.Context) error { utcFields(m); return nil }

func byTenant(q *bun.SelectQuery, tenantID string) *bun.SelectQuery {
	if tenantID != "" {
		q = q.Where("tenant_id = ?", tenantID)
	}
	return q
}

// ActiveSources lists the active (not disabled) sources, by tenant and name.
func ActiveSources(ctx context.Context, db bun.IDB, tenantID string) ([]HealthSource, error) {
	var out []HealthSource
	q := db.NewSelect().Model(&out).Where("status = ?", "active").OrderExpr("tenant_id ASC, name ASC")
	if err := byTenant(q, tenantID).Scan(ctx); err != nil {
		return nil, mapErr("list active sources", err)
	}
	return out, nil
}

type sourceTime struct {
	SourceID string    `bun:"source_id"`
	At       time.Time `bun:"at"`
}

// LastSnapshotTimes maps each source to the creation time of its newest
// completed snapshot (sources without one are absent).
func LastSnapshotTimes(ctx context.Context, db bun.IDB, tenantID string) (map[string]time.Time, error) {
	var rows []sourceTime
	q := db.NewSelect().Model((*Snapshot)(nil)).ColumnExpr("source_id, MAX(created_at) AS at").
		Where("status = ?", "completed").GroupExpr("source_id")
	if err := byTenant(q, tenantID).Scan(ctx, &rows); err != nil {
		return nil, mapErr("last snapshot per source", err)
	}
	return timesBySource(rows), nil
}

// LastSuccessTimes maps each source to when its last completed backup
// job finished.
func LastSuccessTimes(ctx context.Context, db bun.IDB, tenantID string) (map[string]time.Time, error) {
	var rows []sourceTime
	q := db.NewSelect().Model((*Job)(nil)).ColumnExpr("source_id, MAX(finished_at) AS at").
		Where("type = ?", JobTypeBackup).Where("status = ?", JobCompleted).
		Where("source_id IS NOT NULL").Where("finished_at IS NOT NULL").GroupExpr("source_id")
	if err := byTenant(q, tenantID).Scan(ctx, &rows); err != nil {
		return nil, mapErr("last successful backup per source", err)
	}
	return timesBySource(rows), nil
}

func timesBySource(rows []sourceTime) map[string]time.Time {
	out := make(map[string]time.Time, len(rows))
	for _, r := range rows {
		out[r.SourceID] = r.At.UTC()
	}
	return out
}

// BackupOutcome is how one finished (completed or failed) backup ended.
type BackupOutcome struct {
	SourceID   string    `bun:"source_id"`
	Status     string    `bun:"status"`
	Error      *string   `bun:"error_message"`
	FinishedAt time.Time `bun:"finished_at"`
}

// RecentBackups maps each source to its last n finished backups (completed
// or failed; canceled ones do not count), newest first.
func RecentBackups(ctx context.Context, db bun.IDB, tenantID string, n int) (map[string][]BackupOutcome, error) {
	inner := db.NewSelect().Model((*Job)(nil)).
		ColumnExpr("source_id, status, error_message, COALESCE(finished_at, updated_at) AS finished_at").
		ColumnExpr("ROW_NUMBER() OVER (PARTITION BY source_id ORDER BY COALESCE(finished_at, updated_at) DESC, created_at DESC, id DESC) AS rn").
		Where("type = ?", JobTypeBackup).Where("status IN (?)", bun.In([]string{JobCompleted, JobFailed})).
		Where("source_id IS NOT NULL")
	inner = byTenant(inner, tenantID)
	var rows []BackupOutcome
	err := db.NewSelect().TableExpr("(?) AS recent", inner).
		Column("source_id", "status", "error_message", "finished_at").
		Where("rn <= ?", n).OrderExpr("source_id ASC, rn ASC").Scan(ctx, &rows)
	if err != nil {
		return nil, mapErr("recent backups per source", err)
	}
	out := map[string][]BackupOutcome{}
	for _, r := range rows {
		r.FinishedAt = r.FinishedAt.UTC()
		out[r.SourceID] = append(out[r.SourceID], r)
	}
	return out, nil
}

// SnapshotHolder counts a source's completed snapshots on one agent.
type SnapshotHolder struct {
	SourceID string `bun:"source_id"`
	AgentID  string `bun:"agent_id"`
	N        int    `bun:"n"`
}

// SnapshotHolders lists, per source, the agents holding its completed
// snapshots (local_fs storage).
func SnapshotHolders(ctx context.Context, db bun.IDB, tenantID string) ([]SnapshotHolder, error) {
	var rows []SnapshotHolder
	q := db.NewSelect().Model((*Snapshot)(nil)).ColumnExpr("source_id, agent_id, COUNT(*) AS n").
		Where("status = ?", "completed").Where("agent_id IS NOT NULL").Where("agent_id <> ''").
		GroupExpr("source_id, agent_id").OrderExpr("source_id ASC, agent_id ASC")
	if err := byTenant(q, tenantID).Scan(ctx, &rows); err != nil {
		return nil, mapErr("snapshot holders per source", err)
	}
	return rows, nil
}

// EnabledSchedules lists the enabled schedules, oldest first.
func EnabledSchedules(ctx context.Context, db bun.IDB, tenantID string) ([]Schedule, error) {
	var out []Schedule
	q := db.NewSelect().Model(&out).Where("enabled = ?", true).OrderExpr("created_at ASC, id ASC")
	if err := byTenant(q, tenantID).Scan(ctx); err != nil {
		return nil, mapErr("list enabled schedules", err)
	}
	return out, nil
}

// MarkOverdueRaised records that source.overdue was raised for a source
// at now, if its overdue_raised_at is still prev (nil: never raised). It
// returns false when another hub replica got there first: the caller must
// then not raise the event.
func MarkOverdueRaised(ctx context.Context, db bun.IDB, tenantID, sourceID string, prev *time.Time, now time.Time) (bool, error) {
	q := db.NewUpdate().Model((*Source)(nil)).Set("overdue_raised_at = ?", utcMicro(now)).
		Where("id = ?", sourceID).Where("tenant_id = ?", tenantID)
	if prev == nil {
		q = q.Where("overdue_raised_at IS NULL")
	} else {
		q = q.Where("overdue_raised_at = ?", utcMicro(*prev))
	}
	res, err := q.Exec(ctx)
	if err != nil {
		return false, mapErr("mark source overdue raised", err)
	}
	n, err := res.RowsAffected()
	return n == 1, mapErr("mark source overdue raised", err)
}
