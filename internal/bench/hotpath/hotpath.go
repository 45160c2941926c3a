// Package hotpath is the contract between the benchmark and its child
// process, the program in ./child that runs xVault's backup hot path alone
// (so that its CPU time and peak RSS are measured without the benchmark's).
//
// The child imports agentd/internal/..., which Go's internal rule forbids
// from here; the benchmark therefore builds it with `go build -overlay`,
// placing child/main.go at agentd/internal/xvbenchchild/main.go (a
// directory that exists only in the overlay, never on disk). The build tag
// [BuildTag] keeps child/main.go out of every other build.
package hotpath

import "github.com/xvault/xvault/sdk/archive"

// BuildTag is the tag child/main.go needs to be compiled.
const BuildTag = "xvbenchchild"

// OverlayDir is where the child's package appears, relative to the module root.
const OverlayDir = "agentd/internal/xvbenchchild"

// Spec is what the child backs up and how; the child reads it as JSON on stdin.
type Spec struct {
	Host       string   `json:"host"`
	Port       int      `json:"port"`
	User       string   `json:"user"`
	PrivateKey []byte   `json:"private_key"` // the benchmark's throwaway client key
	HostKey    string   `json:"host_key"`    // pinned fingerprint
	Paths      []string `json:"paths"`
	Recipient  string   `json:"recipient"` // age X25519 recipient
	StoreDir   string   `json:"store_dir"` // agentd storage root, empty
	CPUProfile string   `json:"cpu_profile,omitempty"`
	// Transfer is the connector's transfer: "sftp" or "exec" (remote tar).
	Transfer string `json:"transfer"`
	// PullOnly discards what the connector yields: no tar, zstd, age or
	// storage. It splits the cost between transport and archive.
	PullOnly bool `json:"pull_only,omitempty"`
	// Incremental, if set, runs the connector's PullIncremental as the
	// agent does (agentd/agent/incremental.go) and stores the new index
	// beside the artifact; nil: a plain Pull (the exec and sftp rows).
	Incremental *IncrementalSpec `json:"incremental,omitempty"`
	// S3, if set, streams the artifact into a multipart upload to this
	// bucket instead of StoreDir, as agentd/agent/pending.go's s3Pending
	// does (Complete, size and sha256 checked, then meta.json and
	// manifest.json).
	S3 *S3Spec `json:"s3,omitempty"`
}

// S3Spec is the storage target of an S3 run (objstore.Config's fields) and
// the snapshot id that names its key.
type S3Spec struct {
	Endpoint        string `json:"endpoint"`
	Bucket          string `json:"bucket"`
	Region          string `json:"region"`
	AccessKeyID     string `json:"access_key_id"`
	SecretAccessKey string `json:"secret_access_key"` // the throwaway server's root secret (JSON on stdin only)
	SnapshotID      string `json:"snapshot_id"`
}

// IncrementalSpec places a backup in its chain. The index is encrypted to
// IndexIdentity (the benchmark's stand-in for the agent's own key).
type IncrementalSpec struct {
	IndexIdentity string `json:"index_identity"` // age X25519 identity (secret: JSON on stdin only)
	SnapshotID    string `json:"snapshot_id"`
	// ParentSnapshotID and ParentIndex (its index file) name the parent;
	// "" makes a full.
	ParentSnapshotID string `json:"parent_snapshot_id,omitempty"`
	ParentIndex      string `json:"parent_index,omitempty"`
	FullSnapshotID   string `json:"full_snapshot_id,omitempty"`
	ChainPosition    int    `json:"chain_position,omitempty"`
}

// Result is what the child writes as JSON on stdout once the snapshot is committed.
type Result struct {
	Artifact      archive.Result `json:"artifact"`
	ArtifactPath  string         `json:"artifact_path"`
	PullSeconds   float64        `json:"pull_seconds"`   // connect, walk, read, tar, zstd, age, write
	CommitSeconds float64        `json:"commit_seconds"` // fsync, manifest, rename
	Warnings      int            `json:"warnings"`
	// SSHBytesRead and SSHBytesWritten are counted on the agent's TCP
	// connection (everything, handshake included).
	SSHBytesRead    int64 `json:"ssh_bytes_read"`
	SSHBytesWritten int64 `json:"ssh_bytes_written"`
	// FilesRead counts the regular files whose content came over the wire.
	FilesRead int64 `json:"files_read"`
	// Incremental is set for an incremental spec.
	Incremental *IncrementalResult `json:"incremental,omitempty"`
	// S3 is set for an S3 spec; ArtifactPath is then the object key.
	S3 *S3Result `json:"s3,omitempty"`
}

// S3Result is what the upload reported. CommitSeconds of an S3 run is
// CompleteSeconds plus the two small PUTs.
type S3Result struct {
	Prefix string `json:"prefix"` // the snapshot's key prefix
	// CompleteSeconds is Upload.Complete: the last part, the wait for the
	// parts in flight, CompleteMultipartUpload (versitygw concatenates
	// the parts there) and the HEAD.
	CompleteSeconds float64 `json:"complete_seconds"`
	// PeakBufferBytes is the most part-buffer memory the upload held.
	PeakBufferBytes int64 `json:"peak_buffer_bytes"`
}

// IncrementalResult is what PullIncremental reported.
type IncrementalResult struct {
	Incremental bool   `json:"incremental"` // false: a full (asked for, or FullReason)
	FullReason  string `json:"full_reason,omitempty"`
	Stored      int    `json:"stored"`
	Unchanged   int    `json:"unchanged"`
	Deleted     int    `json:"deleted"`
	IndexPath   string `json:"index_path"`
	IndexBytes  int64  `json:"index_bytes"`
	// IndexSeconds is the time spent decoding the parent's index.
	IndexSeconds float64 `json:"index_seconds"`
}
