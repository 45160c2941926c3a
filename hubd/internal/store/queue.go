package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"

	"github.com/xvault/xvault/sdk"
)

// DefaultLease is the lease a claim or renewal grants when the caller passes 0.
const DefaultLease = 60 * time.Second

// DefaultBackoff is used when a caller passes no Backoff: 5 s doubling per
// attempt, capped at 5 min, no jitter (queue.Backoff adds jitter).
func DefaultBackoff(attempt int) time.Duration {
	d := 5 * time.Second
	for i := 1; i < attempt && d < 5*time.Minute; i++ {
		d *= 2
	}
	return min(d, 5*time.Minute)
}

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

func isPostgres(db bun.IDB) bool { return db.Dialect().Name() == dialect.PG }

// jsonArg passes raw JSON as a SQL value (NULL when empty).
func jsonArg(b []byte) json.RawMessage {
	if len(b) == 0 {
		return nil
	}
	return json.RawMessage(b)
}

type ClaimParams struct {
	AgentID string
	Types   []string // empty = any type
	Now     time.Time
	Lease   time.Duration // 0 = DefaultLease
	// NoObjectStorage: the agent cannot reach s3 storage targets, so jobs
	// that need one are not claimable by it (excludeObjectStorage).
	NoObjectStorage bool
}

// ClaimJob atomically takes the oldest runnable job (status queued,
// run_after <= now, target_agent_id null or = agent, priority first) and sets
// running, agent_id, attempt+1, lease_epoch+1, lease_expires_at, started_at.
// Returns (nil, nil) when nothing is runnable. Postgres: FOR UPDATE SKIP LOCKED.
func ClaimJob(ctx context.Context, db bun.IDB, p ClaimParams) (*Job, error) {
	now := nowOr(p.Now)
	lease := p.Lease
	if lease <= 0 {
		lease = DefaultLease
	}
	sub := db.NewSelect().Model((*Job)(nil)).Column("id").
		Where("status = ?", JobQueued).
		Where("run_after <= ?", now).
		Where("(target_agent_id IS NULL OR target_agent_id = ?)", p.AgentID).
		OrderExpr("priority DESC, run_after ASC, created_at ASC").
		Limit(1)
	if len(p.Types) > 0 {
		sub = sub.Where("type IN (?)", bun.In(p.Types))
	}
	if p.NoObjectStorage {
		sub = excludeObjectStorage(sub)
	}
	if isPostgres(db) {
		sub = sub.For("UPDATE SKIP LOCKED")
	}
	j := new(Job)
	err := db.NewUpdate().Model(j).
		Set("status = ?", JobRunning).
		Set("agent_id = ?", p.AgentID).
		Set("attempt = attempt + 1").
		Set("lease_epoch = lease_epoch + 1").
		Set("lease_expires_at = ?", now.Add(lease)).
		Set("started_at = ?", now).
		Set("updated_at = ?", now).
		Where("id = (?)", sub).
		Where("status = ?", JobQueued).
		Returning("*").
		Scan(ctx)
	if isNoRows(err) {
		return nil, nil
	}
	if err != nil {
		return nil, mapErr("claim job", err)
	}
	if err := jobEvent(ctx, db, sdk.EventJobUpdated, j, now); err != nil {
		return nil, err
	}
	return j, nil
}

type RenewParams struct {
	JobID, AgentID string
	Epoch          int64
	Now            time.Time
	Lease          time.Duration // 0 = DefaultLease
	Progress       []byte        // json; nil keeps the stored progress
	Finalizing     bool          // move running → finalizing (never back)
}

// RenewLease extends a live lease; ErrConflict (stale) when the job is not
// running under (agent, epoch). Returns the job after the update, whose
// CancelRequested tells the agent to stop. A lease that expired but was not
// yet rescued can still be renewed (the holder is evidently alive).
//
// It records job.updated when the job moves to finalizing, else job.progress
// when progress was given and no job.progress of this job was recorded in
// the last ProgressEventEvery (run it in a transaction).
func RenewLease(ctx context.Context, db bun.IDB, p RenewParams) (*Job, error) {
	now := nowOr(p.Now)
	lease := p.Lease
	if lease <= 0 {
		lease = DefaultLease
	}
	wasRunning := false
	if p.Finalizing {
		n, err := db.NewSelect().Model((*Job)(nil)).Where("id = ?", p.JobID).Where("status = ?", JobRunning).Count(ctx)
		if err != nil {
			return nil, mapErr("renew lease: load job", err)
		}
		wasRunning = n == 1
	}
	j := new(Job)
	q := db.NewUpdate().Model(j).
		Set("lease_expires_at = ?", now.Add(lease)).
		Set("updated_at = ?", now).
		Set("progress = COALESCE(?, progress)", jsonArg(p.Progress))
	if p.Finalizing {
		q = q.Set("status = ?", JobFinalizing)
	}
	err := fenced(q, p.JobID, p.AgentID, p.Epoch).Returning("*").Scan(ctx)
	if isNoRows(err) {
		return nil, fmt.Errorf("renew lease of job %s: %w: lease is stale", p.JobID, ErrConflict)
	}
	if err != nil {
		return nil, mapErr("renew lease", err)
	}
	if err := renewEvent(ctx, db, j, wasRunning, p.Progress != nil, now); err != nil {
		return nil, err
	}
	return j, nil
}

// ProgressEventEvery is the least time between two job.progress events of a job.
const ProgressEventEvery = time.Second

// renewEvent records what a renewal changed: a status change always, new
// progress at most once per ProgressEventEvery per job. The last progress
// event is looked up in the log itself, so hub replicas agree.
func renewEvent(ctx context.Context, db bun.IDB, j *Job, statusChanged, progressed bool, now time.Time) error {
	if statusChanged {
		return jobEvent(ctx, db, sdk.EventJobUpdated, j, now)
	}
	if !progressed {
		return nil
	}
	recent, err := db.NewSelect().Model((*Event)(nil)).
		Where("created_at > ?", now.Add(-ProgressEventEvery)).
		Where("object_id = ?", j.ID).Where("type = ?", sdk.EventJobProgress).
		Exists(ctx)
	if err != nil {
		return mapErr("renew lease: last progress event", err)
	}
	if recent {
		return nil
	}
	return jobEvent(ctx, db, sdk.EventJobProgress, j, now)
}

// fenced restricts an update to the job held by (agent, epoch).
func fenced(q *bun.UpdateQuery, jobID, agentID string, epoch int64) *bun.UpdateQuery {
	return q.Where("id = ?", jobID).
		Where("agent_id = ?", agentID).
		Where("lease_epoch = ?", epoch).
		Where("status IN (?)", bun.In(leasedStatuses))
}

// JobForLease returns the job if agentID holds its live lease with this epoch
// (status running/finalizing, lease not expired at now); ErrConflict otherwise.
func JobForLease(ctx context.Context, db bun.IDB, jobID, agentID string, epoch int64, now time.Time) (*Job, error) {
	j := new(Job)
	err := db.NewSelect().Model(j).
		Where("id = ?", jobID).
		Where("agent_id = ?", agentID).
		Where("lease_epoch = ?", epoch).
		Where("status IN (?)", bun.In(leasedStatuses)).
		Where("lease_expires_at > ?", nowOr(now)).
		Scan(ctx)
	if isNoRows(err) {
		return nil, fmt.Errorf("job %s: %w: no live lease for this agent and epoch", jobID, ErrConflict)
	}
	if err != nil {
		return nil, mapErr("check job lease", err)
	}
	return j, nil
}

type RescueParams struct {
	Now     time.Time
	Backoff func(attempt int) time.Duration // nil = DefaultBackoff
	Limit   int                             // 0 = 100
}

// RescueExpired re-queues running jobs whose lease expired (attempt <
// max_attempts, run_after = now + backoff) and fails the others ("lease
// expired after N attempts"). Returns the affected jobs, each changed with
// its job.updated event in one transaction. A job whose cancel
// was requested is canceled instead. Each update is fenced by the epoch it
// read, so concurrent rescuers (hub replicas) never double-handle a job.
func RescueExpired(ctx context.Context, db bun.IDB, p RescueParams) ([]Job, error) {
	now := nowOr(p.Now)
	limit := p.Limit
	if limit <= 0 {
		limit = 100
	}
	var expired []Job
	err := db.NewSelect().Model(&expired).
		Where("status IN (?)", bun.In(leasedStatuses)).
		Where("lease_expires_at < ?", now).
		OrderExpr("lease_expires_at ASC").Limit(int64(limit)).
		Scan(ctx)
	if err != nil {
		return nil, mapErr("find expired leases", err)
	}
	out := make([]Job, 0, len(expired))
	for i := range expired {
		j := &expired[i]
		msg := fmt.Sprintf("lease expired (attempt %d of %d)", j.Attempt, j.MaxAttempts)
		if j.Attempt >= j.MaxAttempts {
			msg = fmt.Sprintf("lease expired after %d attempts", j.Attempt)
		}
		done := new(Job)
		err := db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			err := endAttempt(tx, j, now, msg, false, p.Backoff).
				Where("id = ?", j.ID).
				Where("lease_epoch = ?", j.LeaseEpoch).
				Where("status IN (?)", bun.In(leasedStatuses)).
				Where("lease_expires_at < ?", now).
				Returning("*").Scan(ctx, done)
			if err != nil {
				return err
			}
			return jobEvent(ctx, tx, sdk.EventJobUpdated, done, now)
		})
		if isNoRows(err) {
			continue // renewed or handled by someone else meanwhile
		}
		if err != nil {
			return out, mapErr("rescue job "+j.ID, err)
		}
		out = append(out, *done)
	}
	return out, nil
}

// endAttempt builds the update that ends the current attempt of j as a
// failure: re-queued with backoff while attempts remain (and it was neither
// permanent nor canceled), else failed, or canceled if a cancel was requested.
func endAttempt(db bun.IDB, j *Job, now time.Time, msg string, permanent bool, backoff func(int) time.Duration) *bun.UpdateQuery {
	if backoff == nil {
		backoff = DefaultBackoff
	}
	q := db.NewUpdate().Model((*Job)(nil)).
		Set("lease_expires_at = NULL").
		Set("updated_at = ?", now).
		Set("error_message = ?", msg)
	switch {
	case j.CancelRequested:
		return q.Set("status = ?", JobCanceled).Set("finished_at = ?", now)
	case !permanent && j.Attempt < j.MaxAttempts:
		return q.Set("status = ?", JobQueued).
			Set("agent_id = NULL").
			Set("run_after = ?", now.Add(backoff(j.Attempt)))
	default:
		return q.Set("status = ?", JobFailed).Set("finished_at = ?", now)
	}
}
