package sdk

import (
	"context"
	"net/http"
	"strings"
	"time"
)

// Fleet health: which sources need attention and why (GET /api/v1/status,
// the source.overdue event).

// Reason codes of SourceHealth.Problems; each problem reads "code: text".
const (
	// HealthNeverBackedUp: the source has no completed snapshot at all.
	HealthNeverBackedUp = "never_backed_up"
	// HealthOverdue: no completed snapshot within a schedule's alert_after.
	HealthOverdue = "overdue"
	// HealthFailing: the last 3 backups failed.
	HealthFailing = "failing"
	// HealthAgentOffline: some of its snapshots live on an offline agent.
	HealthAgentOffline = "agent_offline"
	// HealthNoAgent: no agent is online and taking jobs (HealthSummary.Problems).
	HealthNoAgent = "no_agent"
)

// FailingAfter is how many backups in a row must fail for HealthFailing.
const FailingAfter = 3

// SourceHealth is the health of one active source (disabled sources are
// not watched). Healthy is true when Problems is empty.
type SourceHealth struct {
	SourceID   string `json:"source_id"`
	SourceName string `json:"source_name"`
	TenantID   string `json:"tenant_id"`
	Healthy    bool   `json:"healthy"`
	// Problems are "code: text", e.g. "overdue: no completed snapshot for
	// 2d1h (alert after 1d1h)"; ProblemCode gives the code.
	Problems []string `json:"problems"`
	// LastSnapshotAt is when the newest completed snapshot was taken,
	// LastSuccessAt when the last backup job completed.
	LastSnapshotAt *time.Time `json:"last_snapshot_at,omitempty"`
	LastSuccessAt  *time.Time `json:"last_success_at,omitempty"`
	LastFailureAt  *time.Time `json:"last_failure_at,omitempty"`
	// LastError is the error of the last failed backup, if the last
	// finished one failed.
	LastError string `json:"last_error,omitempty"`
	// ConsecutiveFailures counts the failed backups since the last
	// completed one (up to FailingAfter).
	ConsecutiveFailures int `json:"consecutive_failures"`
	// AlertAfter is the shortest overdue threshold of the source's enabled
	// schedules ("" without one); OverdueSince when it was crossed.
	AlertAfter   string     `json:"alert_after,omitempty"`
	OverdueSince *time.Time `json:"overdue_since,omitempty"`
	// OfflineAgents hold some of its completed snapshots and are offline.
	OfflineAgents []string `json:"offline_agents,omitempty"`
}

// ProblemCode is the reason code of a SourceHealth problem ("overdue").
func ProblemCode(problem string) string {
	code, _, _ := strings.Cut(problem, ":")
	return code
}

// HasProblem reports whether h has a problem with the given code.
func (h SourceHealth) HasProblem(code string) bool {
	for _, p := range h.Problems {
		if ProblemCode(p) == code {
			return true
		}
	}
	return false
}

// HealthSummary is the fleet health part of Status. Healthy is false when
// a source is unhealthy or, with active sources, no agent is online and
// taking jobs (Problems then says so). `xv status --check` exits 1 on it.
type HealthSummary struct {
	Healthy          bool           `json:"healthy"`
	Sources          int            `json:"sources"` // active sources watched
	Problems         []string       `json:"problems"`
	UnhealthySources []SourceHealth `json:"unhealthy_sources"`
}

// ScheduleRun is one slot of a schedule: fired (a backup was queued) or
// skipped, and why.
type ScheduleRun struct {
	ID         string    `json:"id"`
	ScheduleID string    `json:"schedule_id"`
	TenantID   string    `json:"tenant_id"`
	Slot       time.Time `json:"slot"`
	// Outcome: "queued", "skipped_active" or "skipped_disabled".
	Outcome string `json:"outcome"`
	Fired   bool   `json:"fired"`
	// Reason says why a slot was skipped ("" when it fired).
	Reason    string    `json:"reason,omitempty"`
	JobID     string    `json:"job_id,omitempty"` // the queued job, or the active one a skip yielded to
	CreatedAt time.Time `json:"created_at"`
}

// Outcomes of a schedule slot (ScheduleRun.Outcome).
const (
	SlotQueued          = "queued"
	SlotSkippedActive   = "skipped_active"
	SlotSkippedDisabled = "skipped_disabled"
	// SlotSkippedRefused: the hub refused to queue the backup (a storage
	// target no agent can reach, say); Reason holds its answer.
	SlotSkippedRefused = "skipped_refused"
)

// ListScheduleRuns lists a schedule's slots, newest first.
func (c *Client) ListScheduleRuns(ctx context.Context, scheduleID string, opts ListOptions) (*Page[ScheduleRun], error) {
	var out Page[ScheduleRun]
	_, err := c.do(ctx, call{op: "list schedule runs", method: http.MethodGet,
		path: pathf("/api/v1/schedules/%s/runs", scheduleID), query: listQuery(opts), out: &out, tenant: true})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// DrainAgent makes an agent claim no new jobs (it finishes its running
// ones); platform admins only.
func (c *Client) DrainAgent(ctx context.Context, id string) (*Agent, error) {
	return c.agentAction(ctx, "drain agent", pathf("/api/v1/agents/%s/drain", id))
}

// UndrainAgent lets a drained agent claim jobs again.
func (c *Client) UndrainAgent(ctx context.Context, id string) (*Agent, error) {
	return c.agentAction(ctx, "undrain agent", pathf("/api/v1/agents/%s/undrain", id))
}

func (c *Client) agentAction(ctx context.Context, op, path string) (*Agent, error) {
	var out Agent
	if _, err := c.do(ctx, call{op: op, method: http.MethodPost, path: path, out: &out}); err != nil {
		return nil, err
	}
	return &out, nil
}
