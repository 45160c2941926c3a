package sdk

import (
	"encoding/json"
	"time"
)

// The agent protocol: every call under /api/v1/agent/ except enroll uses the
// agent's own token; every call about a job carries the lease epoch it holds.

// EnrollRequest is sent with the enrollment token as bearer token.
type EnrollRequest struct {
	Name            string   `json:"name"`
	Version         string   `json:"version,omitempty"`
	PublicKey       string   `json:"public_key"` // the agent's age X25519 recipient
	StorageBasePath string   `json:"storage_base_path,omitempty"`
	Capabilities    []string `json:"capabilities,omitempty"`
}

type EnrollResponse struct {
	AgentID string `json:"agent_id"`
	Token   string `json:"token"` // the agent's own token, shown once
}

type HeartbeatRequest struct {
	Version     string      `json:"version,omitempty"`
	Status      AgentStatus `json:"status,omitempty"` // online or draining
	RunningJobs int         `json:"running_jobs"`
	// Capabilities, when set, replace those reported at enrollment.
	Capabilities []string `json:"capabilities,omitempty"`
	// Free and total bytes of the storage directory's file system (statfs);
	// nil when unknown.
	StorageFreeBytes  *int64 `json:"storage_free_bytes,omitempty"`
	StorageTotalBytes *int64 `json:"storage_total_bytes,omitempty"`
}

type HeartbeatResponse struct {
	ServerTime time.Time `json:"server_time"`
	// Draining: a platform admin drained this agent; it should claim no new
	// jobs (the hub hands it none) and finish the running ones.
	Draining bool `json:"draining,omitempty"`
}

// ClaimRequest long-polls for one job: the hub answers as soon as a job is
// available, or with no job after WaitSeconds (max 60, default 30).
type ClaimRequest struct {
	WaitSeconds int       `json:"wait_seconds,omitempty"`
	Types       []JobType `json:"types,omitempty"` // empty = all types
}

// ClaimResponse holds Job == nil when the wait ended without work.
type ClaimResponse struct {
	Job *ClaimedJob `json:"job"`
}

// ClaimedJob is everything an agent needs to run a job, minus secrets
// (fetched per lease through the credentials endpoint).
type ClaimedJob struct {
	ID              string          `json:"id"`
	TenantID        string          `json:"tenant_id"`
	Type            JobType         `json:"type"`
	Attempt         int             `json:"attempt"`
	LeaseEpoch      int64           `json:"lease_epoch"`
	LeaseExpiresAt  time.Time       `json:"lease_expires_at"`
	LeaseSeconds    int             `json:"lease_seconds"`
	SourceID        string          `json:"source_id,omitempty"`
	SourceType      SourceType      `json:"source_type,omitempty"`
	SourceConfig    json.RawMessage `json:"source_config,omitempty"`
	HostKey         string          `json:"host_key,omitempty"` // pinned or recorded fingerprint; empty = trust on first use
	HasCredential   bool            `json:"has_credential"`
	SnapshotID      string          `json:"snapshot_id,omitempty"` // backup: the id to write; restore/delete: the target
	TenantRecipient string          `json:"tenant_recipient,omitempty"`
	Payload         json.RawMessage `json:"payload,omitempty"`
	// Backup jobs: the incremental plan (nil: make a full) and, for a
	// full the chain would otherwise have continued, the reason.
	Incremental *IncrementalPlan `json:"incremental,omitempty"`
	FullReason  string           `json:"full_reason,omitempty"`
	// Storage is the storage target the job's snapshot lives in (or, for a
	// backup, goes to); nil means the agent's own disk (local_fs). Only
	// agents advertising CapabilityStorageS3 claim such jobs.
	Storage *StorageLease `json:"storage,omitempty"`
	// CopyTo is where a copy job writes (its payload is a CopyPayload):
	// a storage target, or nil for the claiming agent's own disk. Its
	// credential is released as SecretPayload.CopyTo.
	CopyTo *StorageLease `json:"copy_to,omitempty"`
	// IndexRecipients (backups into a storage target): the age recipients
	// of every agent that can reach object storage. The incremental index
	// is encrypted to them too, so that any of them continues the chain.
	IndexRecipients []string `json:"index_recipients,omitempty"`
	// StorageTargetID is set on a test_connection job of a storage target
	// (xv storage test): the agent checks Storage instead of a source.
	StorageTargetID string `json:"storage_target_id,omitempty"`
}

// LeaseRef identifies the lease an agent holds on a job.
type LeaseRef struct {
	LeaseEpoch int64 `json:"lease_epoch"`
}

type RenewRequest struct {
	LeaseEpoch int64    `json:"lease_epoch"`
	Progress   Progress `json:"progress"`
}

type RenewResponse struct {
	LeaseExpiresAt  time.Time `json:"lease_expires_at"`
	CancelRequested bool      `json:"cancel_requested"`
}

// CredentialRelease carries the job's secrets as an age ciphertext (armored)
// encrypted to the agent's own recipient; its plaintext is a JSON SecretPayload.
type CredentialRelease struct {
	Ciphertext string `json:"ciphertext"`
}

// SecretPayload is the decrypted content of a CredentialRelease.
type SecretPayload struct {
	Kind       CredentialKind `json:"kind"`
	Password   string         `json:"password,omitempty"`
	PrivateKey string         `json:"private_key,omitempty"`
	Passphrase string         `json:"passphrase,omitempty"`
	// Kind s3_access_key (storage targets).
	AccessKeyID     string `json:"access_key_id,omitempty"`
	SecretAccessKey string `json:"secret_access_key,omitempty"`
	// SSH is the credential of the source's "ssh" block (mysql and
	// postgres through SSH); DB is the database password of a wordpress
	// source's db_credential_id. Each is released with the job's own.
	SSH *SecretPayload `json:"ssh,omitempty"`
	DB  *SecretPayload `json:"db,omitempty"`
	// Storage is the access key of the job's storage target
	// (ClaimedJob.Storage), kind s3_access_key. When the job has a storage
	// target but its source no credential, the outer payload is empty.
	Storage *SecretPayload `json:"storage,omitempty"`
	// CopyTo is the access key of a copy job's destination target
	// (ClaimedJob.CopyTo).
	CopyTo *SecretPayload `json:"copy_to,omitempty"`
}

// HostKeyReport records the host key fingerprint seen on first connection.
type HostKeyReport struct {
	LeaseEpoch  int64  `json:"lease_epoch"`
	Fingerprint string `json:"fingerprint"` // "SHA256:…"
}

// CompleteRequest ends a job. Completing twice with the same epoch returns the
// first result.
type CompleteRequest struct {
	LeaseEpoch   int64           `json:"lease_epoch"`
	Status       JobStatus       `json:"status"` // completed, failed or canceled
	ErrorMessage string          `json:"error_message,omitempty"`
	Permanent    bool            `json:"permanent,omitempty"` // failed: do not retry
	Warnings     []string        `json:"warnings,omitempty"`
	Progress     *Progress       `json:"progress,omitempty"`
	Snapshot     *SnapshotReport `json:"snapshot,omitempty"` // backup jobs that completed
	Restore      *RestoreReport  `json:"restore,omitempty"`  // restore jobs that completed
	Test         *TestReport     `json:"test,omitempty"`     // test_connection jobs that completed
	Verify       *VerifyReport   `json:"verify,omitempty"`   // verify jobs that completed (with any verdict)
	Copy         *CopyReport     `json:"copy,omitempty"`     // copy jobs that completed
}

// SnapshotReport is what a completed backup produced.
type SnapshotReport struct {
	SizeBytes  int64           `json:"size_bytes"`
	PlainBytes int64           `json:"plain_bytes"`
	FileCount  int64           `json:"file_count"`
	SHA256     string          `json:"sha256"`
	LocalPath  string          `json:"local_path"`
	Manifest   json.RawMessage `json:"manifest,omitempty"`
	StartedAt  time.Time       `json:"started_at"`
	FinishedAt time.Time       `json:"finished_at"`
	// Kind is "full" (also when empty, from older agents) or
	// "incremental"; an incremental names the parent its claim planned.
	Kind             SnapshotKind `json:"kind,omitempty"`
	ParentSnapshotID string       `json:"parent_snapshot_id,omitempty"`
	// ConfigHash identifies the source's paths and excludes the snapshot
	// was taken with (a change starts a new chain).
	ConfigHash string `json:"config_hash,omitempty"`
	// FullReason says why a planned incremental became a full.
	FullReason string `json:"full_reason,omitempty"`
	// StorageTargetID names the storage target the snapshot was uploaded
	// to (the claim's Storage.TargetID); empty means local_fs, and then
	// LocalPath is the snapshot directory, else its key prefix.
	StorageTargetID string `json:"storage_target_id,omitempty"`
}
