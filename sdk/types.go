package sdk

import (
	"encoding/json"
	"time"
)

// Role is the permission level of a tenant-scoped token. Member is read-only.
type Role string

const (
	RoleOwner  Role = "owner"
	RoleAdmin  Role = "admin"
	RoleMember Role = "member"
)

// TokenKind tells what a bearer token may do.
type TokenKind string

const (
	TokenPlatformAdmin TokenKind = "platform_admin"
	TokenTenant        TokenKind = "tenant"
	TokenAgent         TokenKind = "agent"
)

// SourceType is the kind of system a source pulls from.
type SourceType string

const (
	SourceSSH       SourceType = "ssh"
	SourceSFTP      SourceType = "sftp"
	SourceFTP       SourceType = "ftp"
	SourceMySQL     SourceType = "mysql"
	SourcePostgres  SourceType = "postgres"
	SourceWordPress SourceType = "wordpress"
	SourceLocal     SourceType = "local"
)

// Database engines of snapshots' dumps (SourceType.Engine).
const (
	EngineMySQL    = "mysql"    // MySQL and MariaDB
	EnginePostgres = "postgres" // PostgreSQL
)

// Engine is the database engine of the dumps in this source type's
// snapshots, "" when they hold none: WordPress sites keep a MySQL database.
func (t SourceType) Engine() string {
	switch t {
	case SourceMySQL, SourceWordPress:
		return EngineMySQL
	case SourcePostgres:
		return EnginePostgres
	}
	return ""
}

// SourceStatus: disabled sources are never scheduled.
type SourceStatus string

const (
	SourceActive   SourceStatus = "active"
	SourceDisabled SourceStatus = "disabled"
)

// CredentialKind is what a credential holds.
type CredentialKind string

const (
	CredentialPassword      CredentialKind = "password"
	CredentialSSHPrivateKey CredentialKind = "ssh_private_key"
	// CredentialS3AccessKey is an S3 access key id and secret access key,
	// used by storage targets (docs/storage.md).
	CredentialS3AccessKey CredentialKind = "s3_access_key"
)

// JobType is what a job does.
type JobType string

const (
	JobBackup         JobType = "backup"
	JobRestore        JobType = "restore"
	JobDeleteSnapshot JobType = "delete_snapshot"
	JobTestConnection JobType = "test_connection"
	JobVerify         JobType = "verify"
	JobCopy           JobType = "copy"
)

// JobStatus: queued → running → (finalizing) → completed | failed | canceled.
type JobStatus string

const (
	JobQueued     JobStatus = "queued"
	JobRunning    JobStatus = "running"
	JobFinalizing JobStatus = "finalizing"
	JobCompleted  JobStatus = "completed"
	JobFailed     JobStatus = "failed"
	JobCanceled   JobStatus = "canceled"
)

// Active reports whether a job in this status has not ended yet.
func (s JobStatus) Active() bool { return s == JobQueued || s == JobRunning || s == JobFinalizing }

// SnapshotStatus of a recorded snapshot.
type SnapshotStatus string

const (
	SnapshotCompleted SnapshotStatus = "completed"
	SnapshotFailed    SnapshotStatus = "failed"
	SnapshotDeleting  SnapshotStatus = "deleting"
)

// AgentStatus as seen by the hub.
type AgentStatus string

const (
	AgentOnline   AgentStatus = "online"
	AgentOffline  AgentStatus = "offline"
	AgentDraining AgentStatus = "draining"
)

// StorageLocalFS is the storage backend of snapshots kept on an agent's disk.
const StorageLocalFS = "local_fs"

// Page is one page of a list. NextCursor is empty on the last page.
type Page[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// ListOptions are common to every list call.
type ListOptions struct {
	Limit  int    // 1-500, default 100
	Cursor string // from Page.NextCursor
}

// Status answers `xv status`: who am I and how is the hub.
type Status struct {
	Version  string            `json:"version"`
	Database string            `json:"database"` // "sqlite" or "postgres"
	Caller   Caller            `json:"caller"`
	Agents   AgentsSummary     `json:"agents"`
	Jobs     map[JobStatus]int `json:"jobs"`
	// Health is fleet health: the sources that need attention (docs/api.md).
	Health HealthSummary `json:"health"`
}

// Caller describes the token making a request.
type Caller struct {
	Kind     TokenKind `json:"kind"`
	TokenID  string    `json:"token_id"`
	TenantID string    `json:"tenant_id,omitempty"`
	Role     Role      `json:"role,omitempty"`
	AgentID  string    `json:"agent_id,omitempty"`
}

// AgentsSummary counts agents by liveness. Online counts every agent seen
// lately, draining ones included. Items lists them for platform admins
// (tenants see the counts only).
type AgentsSummary struct {
	Total    int     `json:"total"`
	Online   int     `json:"online"`
	Offline  int     `json:"offline"`
	Draining int     `json:"draining"`
	Items    []Agent `json:"items,omitempty"`
}

// Tenant is a customer account; its age recipient encrypts all its snapshots.
type Tenant struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Plan      string    `json:"plan"`
	PublicKey string    `json:"public_key"` // age X25519 recipient (age1…)
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`

	// DefaultStorageID is the storage target of sources that name none.
	DefaultStorageID string `json:"default_storage_id,omitempty"`
}

type CreateTenantRequest struct {
	Name string `json:"name"`
	Plan string `json:"plan,omitempty"`
}

// TenantKeyExport is the tenant's age identity, for disaster recovery.
type TenantKeyExport struct {
	TenantID  string `json:"tenant_id"`
	KeyID     string `json:"key_id"`
	PublicKey string `json:"public_key"`
	Identity  string `json:"identity"` // AGE-SECRET-KEY-1…
}

// APIToken describes a token; the secret itself is shown only once, at creation.
type APIToken struct {
	ID         string     `json:"id"`
	Kind       TokenKind  `json:"kind"`
	TenantID   string     `json:"tenant_id,omitempty"`
	AgentID    string     `json:"agent_id,omitempty"`
	Role       Role       `json:"role,omitempty"`
	Name       string     `json:"name"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
}

type CreateTokenRequest struct {
	Role      Role   `json:"role"`
	Name      string `json:"name,omitempty"`
	ExpiresIn string `json:"expires_in,omitempty"` // Go duration, e.g. "720h"; empty = never
}

// CreatedToken is returned once, when a token is made.
type CreatedToken struct {
	APIToken
	Token string `json:"token"`
}

// Credential is a secret used to reach a source. The secret is never returned.
type Credential struct {
	ID            string         `json:"id"`
	TenantID      string         `json:"tenant_id"`
	Name          string         `json:"name"`
	Kind          CredentialKind `json:"kind"`
	HasPassphrase bool           `json:"has_passphrase"`
	CreatedAt     time.Time      `json:"created_at"`
	UpdatedAt     time.Time      `json:"updated_at"`

	// Platform: a credential of no tenant (TenantID empty), made by a
	// platform admin for platform storage targets.
	Platform bool `json:"platform,omitempty"`
}

type CreateCredentialRequest struct {
	Name       string         `json:"name"`
	Kind       CredentialKind `json:"kind"`
	Password   string         `json:"password,omitempty"`    // kind password
	PrivateKey string         `json:"private_key,omitempty"` // kind ssh_private_key, PEM/OpenSSH
	Passphrase string         `json:"passphrase,omitempty"`  // optional, for an encrypted private key
	// Kind s3_access_key: both are sealed; neither is ever returned.
	AccessKeyID     string `json:"access_key_id,omitempty"`
	SecretAccessKey string `json:"secret_access_key,omitempty"`
}

// Source is a system to back up.
type Source struct {
	ID           string          `json:"id"`
	TenantID     string          `json:"tenant_id"`
	Type         SourceType      `json:"type"`
	Name         string          `json:"name"`
	Status       SourceStatus    `json:"status"`
	CredentialID string          `json:"credential_id,omitempty"`
	Config       json.RawMessage `json:"config"`
	// HostKeyFingerprint is the SSH host key recorded on first connection
	// (trust on first use) when the config pins none.
	HostKeyFingerprint string    `json:"host_key_fingerprint,omitempty"`
	CreatedAt          time.Time `json:"created_at"`
	UpdatedAt          time.Time `json:"updated_at"`

	// StorageID names the storage target its snapshots go to; empty: the
	// tenant's default_storage_id, else local_fs (docs/storage.md).
	StorageID string `json:"storage_id,omitempty"`
}

// SSHConfig is the config of ssh and sftp sources.
type SSHConfig struct {
	Host     string   `json:"host"`
	Port     int      `json:"port"`
	Username string   `json:"username"`
	Paths    []string `json:"paths"`
	Exclude  []string `json:"exclude,omitempty"`
	HostKey  string   `json:"host_key,omitempty"` // pinned "SHA256:…"
	// Transfer is how files are pulled: TransferAuto (default when empty),
	// TransferExec or TransferSFTP; see docs/transfer.md.
	Transfer string `json:"transfer,omitempty"`
	// Compression is the zstd effort: CompressionFastest, CompressionDefault
	// (when empty), CompressionBetter or CompressionNone; see docs/performance.md.
	Compression string `json:"compression,omitempty"`
	// Incremental turns incremental backups off when false (default: on);
	// see docs/incremental.md.
	Incremental *bool `json:"incremental,omitempty"`
	// FullEvery is how old a chain's full may grow before the next backup
	// starts a new full ("7d" when empty; the syntax of keep_within).
	FullEvery string `json:"full_every,omitempty"`
}

// IncrementalEnabled reports whether the source makes incremental backups.
func (c SSHConfig) IncrementalEnabled() bool { return c.Incremental == nil || *c.Incremental }

// Transfer modes of ssh/sftp sources (SSHConfig.Transfer).
const (
	TransferAuto = "auto" // stream a remote tar where the account allows it, else SFTP
	TransferExec = "exec" // stream a remote tar; fail when the account cannot run one
	TransferSFTP = "sftp" // walk the tree over SFTP
)

// Compression levels of a source (SSHConfig.Compression).
const (
	CompressionFastest = "fastest"
	CompressionDefault = "default"
	CompressionBetter  = "better"
	CompressionNone    = "none" // stored: zstd frames of raw blocks
)

type CreateSourceRequest struct {
	Type         SourceType      `json:"type"`
	Name         string          `json:"name"`
	CredentialID string          `json:"credential_id,omitempty"`
	Config       json.RawMessage `json:"config"`
	StorageID    string          `json:"storage_id,omitempty"` // a storage target id; empty: the tenant's default
}

// UpdateSourceRequest changes only the fields that are set. Config replaces
// the whole config and is validated like at creation.
type UpdateSourceRequest struct {
	Name         *string         `json:"name,omitempty"`
	Status       *SourceStatus   `json:"status,omitempty"`
	CredentialID *string         `json:"credential_id,omitempty"`
	Config       json.RawMessage `json:"config,omitempty"`
	StorageID    *string         `json:"storage_id,omitempty"` // "" clears it (back to the tenant's default)
}

// Progress of a running job, reported by the agent on every lease renewal.
type Progress struct {
	FilesDone    int64  `json:"files_done"`
	BytesRead    int64  `json:"bytes_read"`
	BytesWritten int64  `json:"bytes_written"`
	CurrentPath  string `json:"current_path,omitempty"`
	Warnings     int64  `json:"warnings"`
	// TransferMode is how the source's files were pulled ("exec", "sftp"),
	// once the agent has chosen.
	TransferMode string `json:"transfer_mode,omitempty"`
}

// Job is one unit of work for an agent.
type Job struct {
	ID            string    `json:"id"`
	TenantID      string    `json:"tenant_id"`
	SourceID      string    `json:"source_id,omitempty"`
	Type          JobType   `json:"type"`
	Status        JobStatus `json:"status"`
	Attempt       int       `json:"attempt"`
	MaxAttempts   int       `json:"max_attempts"`
	AgentID       string    `json:"agent_id,omitempty"`
	TargetAgentID string    `json:"target_agent_id,omitempty"`
	SnapshotID    string    `json:"snapshot_id,omitempty"`
	Progress      *Progress `json:"progress,omitempty"`
	Warnings      []string  `json:"warnings,omitempty"`
	ErrorMessage  string    `json:"error_message,omitempty"`
	// Test is what a test_connection job found.
	Test *TestReport `json:"test,omitempty"`
	// Verify is what a completed verify job found.
	Verify *VerifyReport `json:"verify,omitempty"`
	// StorageTargetID: the target a storage test checks, or the one a
	// copy job copies to (empty for a copy to an agent's disk).
	StorageTargetID string `json:"storage_target_id,omitempty"`
	// Copy is what a completed copy job copied.
	Copy            *CopyReport `json:"copy,omitempty"`
	CancelRequested bool        `json:"cancel_requested"`
	CreatedAt       time.Time   `json:"created_at"`
	RunAfter        *time.Time  `json:"run_after,omitempty"`
	StartedAt       *time.Time  `json:"started_at,omitempty"`
	FinishedAt      *time.Time  `json:"finished_at,omitempty"`
}

type CreateJobRequest struct {
	SourceID string  `json:"source_id"`
	Type     JobType `json:"type,omitempty"` // default backup; only backup may be created directly
}

type JobListOptions struct {
	ListOptions
	Status   JobStatus
	SourceID string
	Type     JobType
}

// Snapshot is one completed backup artifact.
type Snapshot struct {
	ID             string          `json:"id"`
	TenantID       string          `json:"tenant_id"`
	SourceID       string          `json:"source_id"`
	JobID          string          `json:"job_id"`
	Status         SnapshotStatus  `json:"status"`
	SizeBytes      int64           `json:"size_bytes"`  // stored (encrypted) size
	PlainBytes     int64           `json:"plain_bytes"` // sum of file contents
	SHA256         string          `json:"sha256"`
	FileCount      int64           `json:"file_count"`
	StorageBackend string          `json:"storage_backend"`
	AgentID        string          `json:"agent_id"`
	LocalPath      string          `json:"local_path"`
	Recipient      string          `json:"age_recipient"`
	Manifest       json.RawMessage `json:"manifest,omitempty"`
	StartedAt      *time.Time      `json:"started_at,omitempty"`
	FinishedAt     *time.Time      `json:"finished_at,omitempty"`
	CreatedAt      time.Time       `json:"created_at"`
	VerifiedAt     *time.Time      `json:"verified_at,omitempty"`
	VerifyStatus   VerifyStatus    `json:"verify_status,omitempty"` // "" = never verified
	VerifyReport   *VerifyReport   `json:"verify_report,omitempty"`
	// Kind is full or incremental; an incremental names its parent.
	// ChainLength counts the artifacts a restore reads (1 for a full);
	// ChainBytes is their stored size together.
	Kind             SnapshotKind `json:"kind"`
	ParentSnapshotID string       `json:"parent_snapshot_id,omitempty"`
	ChainLength      int          `json:"chain_length"`
	ChainBytes       int64        `json:"chain_bytes"`
	// StorageTargetID names the storage target holding an s3 snapshot.
	StorageTargetID string `json:"storage_target_id,omitempty"`
}

type SnapshotListOptions struct {
	ListOptions
	SourceID string
	// FailedVerify lists only snapshots whose last verification was failed or corrupt.
	FailedVerify bool
}

// Agent is a worker process that pulls and stores data.
type Agent struct {
	ID              string      `json:"id"`
	Name            string      `json:"name"`
	Status          AgentStatus `json:"status"`
	Version         string      `json:"version,omitempty"`
	PublicKey       string      `json:"public_key"` // the agent's own age recipient
	StorageBasePath string      `json:"storage_base_path,omitempty"`
	Capabilities    []string    `json:"capabilities"`
	LastSeenAt      *time.Time  `json:"last_seen_at,omitempty"`
	CreatedAt       time.Time   `json:"created_at"`
	// Draining is set by a platform admin (xv agent drain): the agent
	// claims no new jobs and finishes its running ones.
	Draining bool `json:"draining"`
	// RunningJobs is the number of jobs the agent holds (running or finalizing).
	RunningJobs int `json:"running_jobs"`
	// Storage of the agent's snapshot directory, from its last heartbeat
	// (omitted until it reports them).
	StorageFreeBytes  *int64 `json:"storage_free_bytes,omitempty"`
	StorageTotalBytes *int64 `json:"storage_total_bytes,omitempty"`
}

// EnrollmentToken lets agents enroll; platform admins make them.
type EnrollmentToken struct {
	ID        string     `json:"id"`
	Name      string     `json:"name,omitempty"`
	ExpiresAt time.Time  `json:"expires_at"`
	MaxUses   int        `json:"max_uses"`
	Uses      int        `json:"uses"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
}

type CreateEnrollmentTokenRequest struct {
	Name      string `json:"name,omitempty"`
	ExpiresIn string `json:"expires_in,omitempty"` // Go duration, default "24h", max 30 days
	Uses      int    `json:"uses,omitempty"`       // default 1
}

type CreatedEnrollmentToken struct {
	EnrollmentToken
	Token string `json:"token"`
}

// AuditEvent records one mutating call.
type AuditEvent struct {
	ID         string          `json:"id"`
	TenantID   string          `json:"tenant_id,omitempty"`
	ActorKind  TokenKind       `json:"actor_kind"`
	ActorID    string          `json:"actor_id"` // token id (or agent id for agents)
	Action     string          `json:"action"`   // e.g. "source.create"
	ObjectType string          `json:"object_type"`
	ObjectID   string          `json:"object_id,omitempty"`
	Details    json.RawMessage `json:"details,omitempty"`
	RemoteAddr string          `json:"remote_addr,omitempty"`
	CreatedAt  time.Time       `json:"created_at"`
}

type AuditListOptions struct {
	ListOptions
	Action   string
	ObjectID string
}
