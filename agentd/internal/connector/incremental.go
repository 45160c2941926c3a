package connector

import (
	"context"

	"github.com/xvault/xvault/agentd/internal/incremental"
)

// IncrementalPuller is implemented by connectors that can make incremental
// backups (docs/incremental.md): they list the source, compare the listing
// with the parent's index and store only what changed, and they return the
// new snapshot's index either way.
type IncrementalPuller interface {
	// ConfigHash identifies the paths and excludes the connector pulls
	// (incremental.ConfigHash of its normalised configuration): a chain
	// continues only while it stays the same.
	ConfigHash() string
	// PullIncremental pulls into sink. With req.Parent nil it makes a full
	// and its index. It describes the snapshot itself (Sink.Describe with
	// Kind and, for an incremental, Incremental set).
	PullIncremental(ctx context.Context, sink Sink, req IncrementalRequest) (*IncrementalResult, error)
}

// IncrementalRequest is what a pull continues from.
type IncrementalRequest struct {
	SnapshotID string
	// Parent is the index of the snapshot this one continues; nil: a full.
	Parent *incremental.Index
	// FullSnapshotID and ChainPosition describe the new snapshot's place
	// in the chain (ChainPosition 0: a full).
	FullSnapshotID string
	ChainPosition  int
}

// IncrementalResult describes what a pull made.
type IncrementalResult struct {
	// Incremental is false when the pull made a full (asked for, or
	// because the parent could not be continued: FullReason says why).
	Incremental bool
	FullReason  string
	// Index is the new snapshot's index; its header's listing fields are
	// filled, the ids are the caller's to set.
	Index *incremental.Index
	// Stored, Unchanged and Deleted count the entries of the comparison.
	Stored, Unchanged, Deleted int
}
