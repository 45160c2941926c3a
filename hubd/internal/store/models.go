package store

import (
	"encoding/json"
	"time"

	"github.com/uptrace/bun"
)

// Rows of the hub's tables. Ids are opaque text (UUIDv4), times are UTC.
// JSON columns are jsonb on PostgreSQL and TEXT on SQLite.

type Tenant struct {
	bun.BaseModel `bun:"table:tenants"`
	ID            string    `bun:"id,pk"`
	Name          string    `bun:"name"`
	Plan          string    `bun:"plan"`
	CreatedAt     time.Time `bun:"created_at"`
	UpdatedAt     time.Time `bun:"updated_at"`

	// DefaultStorageID: the storage target of sources that name none (nil = local_fs).
	DefaultStorageID *string `bun:"default_storage_id"`
}

type TenantKey struct {
	bun.BaseModel       `bun:"table:tenant_keys"`
	ID                  string    `bun:"id,pk"`
	TenantID            string    `bun:"tenant_id"`
	Algorithm           string    `bun:"algorithm"` // "age-x25519"
	PublicKey           string    `bun:"public_key"`
	EncryptedPrivateKey []byte    `bun:"encrypted_private_key"` // sealed with the KEK, AD = tenant id
	KEKID               string    `bun:"kek_id"`
	KeyStatus           string    `bun:"key_status"` // active, rotated, disabled
	CreatedAt           time.Time `bun:"created_at"`
	UpdatedAt           time.Time `bun:"updated_at"`
}

type APIToken struct {
	bun.BaseModel `bun:"table:api_tokens"`
	ID            string     `bun:"id,pk"`
	Kind          string     `bun:"kind"` // platform_admin, tenant, agent
	TenantID      *string    `bun:"tenant_id"`
	AgentID       *string    `bun:"agent_id"`
	Role          *string    `bun:"role"`
	Name          string     `bun:"name"`
	TokenHash     []byte     `bun:"token_hash"` // sha256 of the secret
	CreatedBy     *string    `bun:"created_by"` // token id
	CreatedAt     time.Time  `bun:"created_at"`
	ExpiresAt     *time.Time `bun:"expires_at"`
	RevokedAt     *time.Time `bun:"revoked_at"`
	LastUsedAt    *time.Time `bun:"last_used_at"`
}

type EnrollmentToken struct {
	bun.BaseModel `bun:"table:enrollment_tokens"`
	ID            string     `bun:"id,pk"`
	Name          string     `bun:"name"`
	TokenHash     []byte     `bun:"token_hash"`
	ExpiresAt     time.Time  `bun:"expires_at"`
	MaxUses       int        `bun:"max_uses"`
	Uses          int        `bun:"uses"`
	CreatedBy     *string    `bun:"created_by"`
	CreatedAt     time.Time  `bun:"created_at"`
	RevokedAt     *time.Time `bun:"revoked_at"`
}

type Credential struct {
	bun.BaseModel `bun:"table:credentials"`
	ID            string    `bun:"id,pk"`
	TenantID      string    `bun:"tenant_id,nullzero"` // "" (NULL) = a platform credential
	Name          string    `bun:"name"`
	Kind          string    `bun:"kind"`       // password, ssh_private_key, s3_access_key
	Ciphertext    []byte    `bun:"ciphertext"` // sealed JSON sdk.SecretPayload, AD = tenant id + credential id
	KEKID         string    `bun:"kek_id"`
	HasPassphrase bool      `bun:"has_passphrase"`
	CreatedAt     time.Time `bun:"created_at"`
	UpdatedAt     time.Time `bun:"updated_at"`
}

type Source struct {
	bun.BaseModel      `bun:"table:sources"`
	ID                 string          `bun:"id,pk"`
	TenantID           string          `bun:"tenant_id"`
	Type               string          `bun:"type"`
	Name               string          `bun:"name"`
	Status             string          `bun:"status"`
	Config             json.RawMessage `bun:"config,type:jsonb"`
	CredentialID       *string         `bun:"credential_id"`
	HostKeyFingerprint *string         `bun:"host_key_fingerprint"`
	OverdueRaisedAt    *time.Time      `bun:"overdue_raised_at"` // last source.overdue event (hubd/internal/health)
	StorageID          *string         `bun:"storage_id"`        // storage target; nil = the tenant's default
	CreatedAt          time.Time       `bun:"created_at"`
	UpdatedAt          time.Time       `bun:"updated_at"`
}

type Schedule struct {
	bun.BaseModel   `bun:"table:schedules"`
	ID              string          `bun:"id,pk"`
	TenantID        string          `bun:"tenant_id"`
	SourceID        string          `bun:"source_id"`
	Cron            *string         `bun:"cron"`
	IntervalMinutes *int            `bun:"interval_minutes"`
	Timezone        string          `bun:"timezone"`
	Enabled         bool            `bun:"enabled"`
	RetentionPolicy json.RawMessage `bun:"retention_policy,type:jsonb"`
	NextRunAt       *time.Time      `bun:"next_run_at"`
	LastRunAt       *time.Time      `bun:"last_run_at"`
	VerifyMode      *string         `bun:"verify_mode"` // latest, sample; nil = no verify drills
	VerifyEveryMin  *int            `bun:"verify_every_minutes"`
	NextVerifyAt    *time.Time      `bun:"next_verify_at"`
	AlertAfterMin   *int            `bun:"alert_after_minutes"` // nil: twice the period plus 1 h
	CreatedAt       time.Time       `bun:"created_at"`
	UpdatedAt       time.Time       `bun:"updated_at"`
}

type Agent struct {
	bun.BaseModel   `bun:"table:agents"`
	ID              string          `bun:"id,pk"`
	Name            string          `bun:"name"`
	Status          string          `bun:"status"`
	Version         string          `bun:"version"`
	PublicKey       string          `bun:"public_key"` // age recipient
	Capabilities    json.RawMessage `bun:"capabilities,type:jsonb"`
	StorageBasePath string          `bun:"storage_base_path"`
	LastSeenAt      *time.Time      `bun:"last_seen_at"`
	// Draining (set by a platform admin): the agent claims no new jobs.
	Draining          bool      `bun:"draining"`
	StorageFreeBytes  *int64    `bun:"storage_free_bytes"` // from heartbeats; nil = never reported
	StorageTotalBytes *int64    `bun:"storage_total_bytes"`
	CreatedAt         time.Time `bun:"created_at"`
	UpdatedAt         time.Time `bun:"updated_at"`
}

type Job struct {
	bun.BaseModel   `bun:"table:jobs"`
	ID              string          `bun:"id,pk"`
	TenantID        string          `bun:"tenant_id"`
	SourceID        *string         `bun:"source_id"`
	SnapshotID      *string         `bun:"snapshot_id"` // backup: id to write; restore/delete: target
	Type            string          `bun:"type"`
	Status          string          `bun:"status"`
	Priority        int             `bun:"priority"`
	TargetAgentID   *string         `bun:"target_agent_id"`
	AgentID         *string         `bun:"agent_id"`
	Attempt         int             `bun:"attempt"`
	MaxAttempts     int             `bun:"max_attempts"`
	LeaseEpoch      int64           `bun:"lease_epoch"`
	LeaseExpiresAt  *time.Time      `bun:"lease_expires_at"`
	RunAfter        time.Time       `bun:"run_after"`
	CancelRequested bool            `bun:"cancel_requested"`
	Payload         json.RawMessage `bun:"payload,type:jsonb"`
	Progress        json.RawMessage `bun:"progress,type:jsonb"`
	Warnings        json.RawMessage `bun:"warnings,type:jsonb"`
	Result          json.RawMessage `bun:"result,type:jsonb"`      // what a test_connection job reported
	BackupPlan      json.RawMessage `bun:"backup_plan,type:jsonb"` // backup: what the claim planned (BackupPlan JSON)
	// StorageTargetID: the target a storage test_connection job checks, or
	// the one a copy job copies to (nil: the claiming agent's disk).
	StorageTargetID *string    `bun:"storage_target_id"`
	ErrorMessage    *string    `bun:"error_message"`
	CreatedAt       time.Time  `bun:"created_at"`
	StartedAt       *time.Time `bun:"started_at"`
	FinishedAt      *time.Time `bun:"finished_at"`
	UpdatedAt       time.Time  `bun:"updated_at"`
}

type Snapshot struct {
	bun.BaseModel       `bun:"table:snapshots"`
	ID                  string          `bun:"id,pk"`
	TenantID            string          `bun:"tenant_id"`
	SourceID            string          `bun:"source_id"`
	JobID               string          `bun:"job_id"` // UNIQUE
	Status              string          `bun:"status"`
	SizeBytes           int64           `bun:"size_bytes"`
	PlainBytes          int64           `bun:"plain_bytes"`
	FileCount           int64           `bun:"file_count"`
	SHA256              string          `bun:"sha256"`
	EncryptionAlgorithm string          `bun:"encryption_algorithm"`
	Recipient           string          `bun:"encryption_recipient"`
	ManifestJSON        json.RawMessage `bun:"manifest_json,type:jsonb"`
	StorageBackend      string          `bun:"storage_backend"`
	AgentID             string          `bun:"agent_id"`
	LocalPath           string          `bun:"local_path"`
	StartedAt           *time.Time      `bun:"started_at"`
	FinishedAt          *time.Time      `bun:"finished_at"`
	DurationMS          int64           `bun:"duration_ms"`
	CreatedAt           time.Time       `bun:"created_at"`
	VerifiedAt          *time.Time      `bun:"verified_at"`
	VerifyStatus        *string         `bun:"verify_status"` // ok, failed, corrupt; nil = never verified
	VerifyReport        json.RawMessage `bun:"verify_report,type:jsonb"`
	StorageTargetID     *string         `bun:"storage_target_id"` // storage_backend s3: the target holding it
	// Incremental chains (docs/incremental.md section 4): Kind is full or
	// incremental ("" is stored as full); an incremental names its parent
	// and its chain's full; ChainPosition counts the links below it (0 for
	// a full), ChainBytes the stored bytes of the chain up to it; a
	// snapshot without ConfigHash continues no chain.
	Kind             string  `bun:"kind"`
	ParentSnapshotID *string `bun:"parent_snapshot_id"`
	FullSnapshotID   *string `bun:"full_snapshot_id"`
	ChainPosition    int     `bun:"chain_position"`
	ChainBytes       int64   `bun:"chain_bytes"`
	ConfigHash       *string `bun:"config_hash"`
}

type Restore struct {
	bun.BaseModel     `bun:"table:restores"`
	ID                string          `bun:"id,pk"`
	TenantID          string          `bun:"tenant_id"`
	SnapshotID        string          `bun:"snapshot_id"`
	JobID             *string         `bun:"job_id"`
	Format            string          `bun:"format"` // zip, tar.zst, database
	Paths             json.RawMessage `bun:"paths,type:jsonb"`
	Status            string          `bun:"status"`
	SizeBytes         int64           `bun:"size_bytes"`
	DownloadTokenHash []byte          `bun:"download_token_hash"`   // sha256 of the token
	TokenSealed       []byte          `bun:"download_token_sealed"` // the token sealed with the KEK, AD = keys.DownloadTokenAD
	TokenKEKID        *string         `bun:"download_token_kek_id"`
	DownloadURL       *string         `bun:"download_url"`        // the agent's URL base, without the token (download_via agent)
	DownloadVia       string          `bun:"download_via"`        // agent or bucket
	URLSealed         []byte          `bun:"download_url_sealed"` // download_via bucket: the presigned URL sealed with the KEK, AD = keys.DownloadURLAD
	URLKEKID          *string         `bun:"download_url_kek_id"`
	ExpiresAt         *time.Time      `bun:"expires_at"`
	ErrorMessage      *string         `bun:"error_message"`
	IntoSourceID      *string         `bun:"into_source_id"`     // format database: the source restored into
	Options           json.RawMessage `bun:"options,type:jsonb"` // format database: sdk.DatabaseRestoreOptions
	Report            json.RawMessage `bun:"report,type:jsonb"`  // format database: []sdk.DatabaseRestoreResult
	CreatedAt         time.Time       `bun:"created_at"`
	UpdatedAt         time.Time       `bun:"updated_at"`
}

type AuditEvent struct {
	bun.BaseModel `bun:"table:audit_events"`
	ID            string          `bun:"id,pk"`
	TenantID      *string         `bun:"tenant_id"`
	ActorKind     string          `bun:"actor_kind"`
	ActorID       string          `bun:"actor_id"`
	Action        string          `bun:"action"`
	ObjectType    string          `bun:"object_type"`
	ObjectID      *string         `bun:"object_id"`
	Details       json.RawMessage `bun:"details,type:jsonb"`
	RemoteAddr    string          `bun:"remote_addr"`
	CreatedAt     time.Time       `bun:"created_at"`
}

type SystemSetting struct {
	bun.BaseModel `bun:"table:system_settings"`
	Key           string    `bun:"key,pk"`
	Value         string    `bun:"value"`
	Description   string    `bun:"description"`
	CreatedAt     time.Time `bun:"created_at"`
	UpdatedAt     time.Time `bun:"updated_at"`
}
