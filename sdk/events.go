package sdk

import (
	"encoding/json"
	"time"
)

// Event types of GET /api/v1/events and of webhooks.
const (
	EventJobCreated       = "job.created"
	EventJobUpdated       = "job.updated"  // every status change; never coalesced or dropped
	EventJobProgress      = "job.progress" // coalesced, at most about once a second per job
	EventJobFailed        = "job.failed"   // a job ended failed (also sent as job.updated); for webhooks
	EventSnapshotCreated  = "snapshot.created"
	EventSnapshotDeleted  = "snapshot.deleted"
	EventSnapshotVerified = "snapshot.verified"
	EventAgentOnline      = "agent.online"
	EventAgentOffline     = "agent.offline"
	EventAgentDraining    = "agent.draining"
	EventSourceOverdue    = "source.overdue"
	// EventReset is sent instead of replaying when the events a client asked
	// for are no longer kept (or it fell too far behind): reload everything.
	EventReset = "reset"
)

// Event is one event of the stream. Data holds the object, as the REST API
// shows it: an sdk.Job for job.*, sdk.Snapshot for snapshot.*, sdk.Agent
// for agent.*, sdk.SourceHealth for source.overdue.
type Event struct {
	ID       int64           `json:"id"`
	Type     string          `json:"type"`
	TenantID string          `json:"tenant_id,omitempty"`
	Time     time.Time       `json:"time"`
	Data     json.RawMessage `json:"data"`
}

// EventsOptions filter Client.Events.
type EventsOptions struct {
	// Since resumes after this event id (Last-Event-ID); 0 = from now on.
	Since int64
	// Types keeps only these event types; empty = all.
	Types []string
}
