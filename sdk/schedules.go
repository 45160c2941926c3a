package sdk

import "time"

// RetentionPolicy says which snapshots of a source to keep; see
// docs/retention.md. Every key is optional; zero (or "") leaves the rule
// off, and a policy with no rule at all keeps everything.
type RetentionPolicy struct {
	KeepLastN   int    `json:"keep_last_n,omitempty"`
	KeepHourly  int    `json:"keep_hourly,omitempty"`
	KeepDaily   int    `json:"keep_daily,omitempty"`
	KeepWeekly  int    `json:"keep_weekly,omitempty"`
	KeepMonthly int    `json:"keep_monthly,omitempty"`
	KeepYearly  int    `json:"keep_yearly,omitempty"`
	KeepWithin  string `json:"keep_within,omitempty"` // e.g. "7d", "36h", "2w", "1d12h"
	MinAgeHours int    `json:"min_age_hours,omitempty"`
	MaxAgeDays  int    `json:"max_age_days,omitempty"`
}

// IsEmpty reports whether the policy sets no rule (it then keeps everything).
func (p RetentionPolicy) IsEmpty() bool { return p == RetentionPolicy{} }

// Schedule triggers backups of a source on a cron spec or a fixed interval.
type Schedule struct {
	ID              string           `json:"id"`
	TenantID        string           `json:"tenant_id"`
	SourceID        string           `json:"source_id"`
	Cron            string           `json:"cron,omitempty"`             // 5 fields, e.g. "30 2 * * *"
	IntervalMinutes int              `json:"interval_minutes,omitempty"` // or every N minutes
	Timezone        string           `json:"timezone"`                   // IANA name, default UTC
	Enabled         bool             `json:"enabled"`
	RetentionPolicy *RetentionPolicy `json:"retention_policy,omitempty"`
	NextRunAt       *time.Time       `json:"next_run_at,omitempty"`
	LastRunAt       *time.Time       `json:"last_run_at,omitempty"`
	// Verify is the verify drill mode (VerifyDrillLatest, VerifyDrillSample;
	// "" = no drills) and VerifyEvery its period, normalised ("7d", "1d12h").
	Verify       string     `json:"verify,omitempty"`
	VerifyEvery  string     `json:"verify_every,omitempty"`
	NextVerifyAt *time.Time `json:"next_verify_at,omitempty"`
	// AlertAfter is when the source counts as overdue without a completed
	// snapshot ("36h", normalised); "" = the default, twice the period plus 1 h.
	AlertAfter string    `json:"alert_after,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// CreateScheduleRequest: exactly one of Cron and IntervalMinutes. A
// RetentionPolicy, when given, becomes the source's retention policy.
// Verify and VerifyEvery, given together, turn on verify drills: the hub
// enqueues verify jobs of the source's snapshots every VerifyEvery
// (a duration such as "7d", "12h", "2w" or "1d12h"; 1h to 365d).
type CreateScheduleRequest struct {
	SourceID        string           `json:"source_id"`
	Cron            string           `json:"cron,omitempty"`
	IntervalMinutes int              `json:"interval_minutes,omitempty"`
	Timezone        string           `json:"timezone,omitempty"`
	Enabled         *bool            `json:"enabled,omitempty"` // default true
	RetentionPolicy *RetentionPolicy `json:"retention_policy,omitempty"`
	Verify          string           `json:"verify,omitempty"` // VerifyDrillLatest or VerifyDrillSample
	VerifyEvery     string           `json:"verify_every,omitempty"`
	// AlertAfter ("36h", "2d"; 5m to 365d) overrides the overdue threshold;
	// "" = twice the schedule's period plus 1 h.
	AlertAfter string `json:"alert_after,omitempty"`
}

// UpdateScheduleRequest changes the fields that are set. Setting Cron
// clears the interval and setting IntervalMinutes clears the cron spec.
// Verify "" turns verify drills off (then VerifyEvery must not be set);
// otherwise the merged schedule needs both a drill mode and a period.
type UpdateScheduleRequest struct {
	Cron            *string          `json:"cron,omitempty"`
	IntervalMinutes *int             `json:"interval_minutes,omitempty"`
	Timezone        *string          `json:"timezone,omitempty"`
	Enabled         *bool            `json:"enabled,omitempty"`
	RetentionPolicy *RetentionPolicy `json:"retention_policy,omitempty"`
	Verify          *string          `json:"verify,omitempty"`
	VerifyEvery     *string          `json:"verify_every,omitempty"`
	AlertAfter      *string          `json:"alert_after,omitempty"` // "" = back to the default
}

// ScheduleListOptions filter ListSchedules.
type ScheduleListOptions struct {
	ListOptions
	SourceID string
}

// SourceRetention is a source's retention policy and the time zone its
// hourly/daily/weekly/monthly/yearly buckets are cut in (the time zone of
// the source's oldest schedule, else UTC).
type SourceRetention struct {
	SourceID  string          `json:"source_id"`
	Policy    RetentionPolicy `json:"policy"`
	Timezone  string          `json:"timezone"`
	UpdatedAt *time.Time      `json:"updated_at,omitempty"`
}

// RetentionDecision is what a policy does with one snapshot, and why.
type RetentionDecision struct {
	ID           string       `json:"id"`
	CreatedAt    time.Time    `json:"created_at"`
	VerifyStatus VerifyStatus `json:"verify_status,omitempty"` // the snapshot's last verification; "" = never
	Keep         bool         `json:"keep"`
	Reasons      []string     `json:"reasons"`
	ParentID     string       `json:"parent_id,omitempty"` // an incremental's parent
}

// SimulatedSnapshot is one snapshot given to the simulator.
type SimulatedSnapshot struct {
	ID           string       `json:"id,omitempty"` // default: its position, "1", "2", …
	CreatedAt    time.Time    `json:"created_at"`
	VerifyStatus VerifyStatus `json:"verify_status,omitempty"` // "" = never verified
	// ParentID makes it an incremental of that snapshot (an id of this
	// request); "" = a full.
	ParentID string `json:"parent_id,omitempty"`
}

// SimulateRetentionRequest runs a policy on given timestamps, touching nothing.
type SimulateRetentionRequest struct {
	Policy    RetentionPolicy     `json:"policy"`
	Timezone  string              `json:"timezone,omitempty"` // default UTC
	Now       *time.Time          `json:"now,omitempty"`      // default the hub's clock
	Snapshots []SimulatedSnapshot `json:"snapshots"`
	// Verify: the source has verify drills, so an older chain is kept until
	// the newest full is verified ok (docs/incremental.md section 5).
	Verify bool `json:"verify,omitempty"`
}

// RetentionDecisions is the answer of the simulator and of a preview:
// one decision per snapshot, newest first.
type RetentionDecisions struct {
	SourceID  string              `json:"source_id,omitempty"`
	Policy    RetentionPolicy     `json:"policy"`
	Timezone  string              `json:"timezone"`
	Now       time.Time           `json:"now"`
	Decisions []RetentionDecision `json:"decisions"`
}

// RetentionSourceResult is what one retention run did for one source.
type RetentionSourceResult struct {
	SourceID       string `json:"source_id"`
	TenantID       string `json:"tenant_id"`
	TotalSnapshots int    `json:"total_snapshots"`
	ToKeep         int    `json:"to_keep"`
	ToDelete       int    `json:"to_delete"`
	JobsEnqueued   int    `json:"jobs_enqueued"`
	Error          string `json:"error,omitempty"`
}

// RetentionRunSummary totals a retention run.
type RetentionRunSummary struct {
	SourcesEvaluated int `json:"sources_evaluated"`
	TotalSnapshots   int `json:"total_snapshots"`
	TotalToKeep      int `json:"total_to_keep"`
	TotalToDelete    int `json:"total_to_delete"`
	JobsEnqueued     int `json:"jobs_enqueued"`
}

// RetentionRunResponse answers POST /api/v1/admin/retention/run[/{id}].
type RetentionRunResponse struct {
	Results []RetentionSourceResult `json:"results"`
	Summary RetentionRunSummary     `json:"summary"`
}
