// Package health owns fleet health: whether agents are live (online,
// offline, draining), whether each source is backed up as it should be
// (never backed up, overdue, failing, snapshots on an offline agent), and
// the Monitor loop that records agents going offline and raises the
// agent.offline and source.overdue events.
package health

import (
	"encoding/json"
	"time"

	"github.com/xvault/xvault/hubd/internal/store"
	"github.com/xvault/xvault/sdk"
)

// DefaultOfflineAfter is how long an agent may stay silent before it
// counts as offline (about three heartbeats).
const DefaultOfflineAfter = 90 * time.Second

// AgentStatus is computed on read: an agent not seen for offlineAfter is
// offline whatever it last reported; a live one is draining when a
// platform admin drained it or it said so (shutting down).
func AgentStatus(a *store.Agent, now time.Time, offlineAfter time.Duration) sdk.AgentStatus {
	if a.LastSeenAt == nil || now.Sub(*a.LastSeenAt) > offlineAfter {
		return sdk.AgentOffline
	}
	if a.Draining || a.Status == string(sdk.AgentDraining) {
		return sdk.AgentDraining
	}
	return sdk.AgentOnline
}

// AgentOut is an agent as the API shows it (and agent.* events carry it).
func AgentOut(a *store.Agent, now time.Time, offlineAfter time.Duration, running int) sdk.Agent {
	out := sdk.Agent{ID: a.ID, Name: a.Name, Status: AgentStatus(a, now, offlineAfter), Version: a.Version,
		PublicKey: a.PublicKey, StorageBasePath: a.StorageBasePath, Capabilities: []string{},
		LastSeenAt: a.LastSeenAt, CreatedAt: a.CreatedAt, Draining: a.Draining, RunningJobs: running,
		StorageFreeBytes: a.StorageFreeBytes, StorageTotalBytes: a.StorageTotalBytes}
	if len(a.Capabilities) > 0 && string(a.Capabilities) != "{}" {
		_ = json.Unmarshal(a.Capabilities, &out.Capabilities) // malformed capabilities read as none
		if out.Capabilities == nil {
			out.Capabilities = []string{}
		}
	}
	return out
}

// TransitionEvent is the event type announcing an agent's status change
// from before to after, or "" when it did not change.
func TransitionEvent(before, after sdk.AgentStatus) string {
	if before == after {
		return ""
	}
	switch after {
	case sdk.AgentOffline:
		return sdk.EventAgentOffline
	case sdk.AgentDraining:
		return sdk.EventAgentDraining
	default:
		return sdk.EventAgentOnline
	}
}
