package sdk

// Incremental backups (docs/incremental.md): the hub plans at claim time
// whether a backup continues its source's chain or starts a new full; the
// agent may still downgrade the plan to a full and says why.

// SnapshotKind says whether a snapshot holds the whole tree or only what
// changed since its parent.
type SnapshotKind string

const (
	SnapshotFull        SnapshotKind = "full"
	SnapshotIncremental SnapshotKind = "incremental"
)

// CapabilityIncremental is the agent capability that lets the hub plan
// incremental backups for it.
const CapabilityIncremental = "incremental"

// IncrementalPlan is the part of a backup claim that names the parent an
// incremental continues. ClaimedJob.Incremental is nil when the hub plans
// a full; ClaimedJob.FullReason then says why (empty: the source has no
// chain yet, or does not make incrementals).
type IncrementalPlan struct {
	ParentSnapshotID    string `json:"parent_snapshot_id"`
	FullSnapshotID      string `json:"full_snapshot_id"`
	ParentChainPosition int    `json:"parent_chain_position"`
	ParentConfigHash    string `json:"parent_config_hash"`
	// ParentLocalPath is where the agent keeps the parent's snapshot
	// directory (its stored index copy lives there).
	ParentLocalPath string `json:"parent_local_path,omitempty"`
}

// ChainLink is one artifact of an incremental chain in a restore or verify
// payload: the chain is listed tip first, down to its full.
type ChainLink struct {
	SnapshotID string `json:"snapshot_id"`
	SHA256     string `json:"sha256"`
	LocalPath  string `json:"local_path"`
}
