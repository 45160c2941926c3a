package sdk

import "time"

// RestoreFormat is the file a restore produces.
type RestoreFormat string

const (
	// RestoreZip is a portable ZIP: directories, regular files, modes, mtimes
	// and symlinks (as symlink entries).
	RestoreZip RestoreFormat = "zip"
	// RestoreTarZst is a zstd-compressed PAX tar keeping every entry of the snapshot.
	RestoreTarZst RestoreFormat = "tar.zst"
	// RestoreDatabase loads the snapshot's database dumps into the server of
	// a mysql or postgres source (CreateRestoreRequest.IntoSourceID); there
	// is no download.
	RestoreDatabase RestoreFormat = "database"
)

// RestoreStatus: pending → running → ready | failed; ready → expired.
type RestoreStatus string

const (
	RestorePending RestoreStatus = "pending"
	RestoreRunning RestoreStatus = "running"
	RestoreReady   RestoreStatus = "ready"
	RestoreFailed  RestoreStatus = "failed"
	RestoreExpired RestoreStatus = "expired"
)

// Ended reports whether a restore in this status will not change any more
// (expired aside).
func (s RestoreStatus) Ended() bool {
	return s == RestoreReady || s == RestoreFailed || s == RestoreExpired
}

// DownloadVia says where a restore's file is served from.
type DownloadVia string

const (
	// DownloadViaBucket writes the file back to the bucket of the snapshot's
	// S3 storage target; the link is a presigned GET URL (the default for a
	// snapshot kept in S3).
	DownloadViaBucket DownloadVia = "bucket"
	// DownloadViaAgent serves the file from the agent's download server (the
	// only way for a local_fs snapshot; for an S3 snapshot, when users cannot
	// reach the bucket).
	DownloadViaAgent DownloadVia = "agent"
)

// CreateRestoreRequest asks for a snapshot to be restored into a download.
type CreateRestoreRequest struct {
	Format    RestoreFormat `json:"format,omitempty"`     // default zip
	ExpiresIn string        `json:"expires_in,omitempty"` // Go duration ("6h"); default and maximum: the setting download_expiration_hours
	Paths     []string      `json:"paths,omitempty"`      // restore only these files/directories (entry names, leading "/" allowed)
	// DownloadVia: bucket (default for a snapshot in an S3 target) or agent
	// (default, and the only choice, for a local_fs snapshot). Not for
	// database restores.
	DownloadVia DownloadVia `json:"download_via,omitempty"`

	// IntoSourceID restores the snapshot's databases into the server of this
	// mysql or postgres source of the tenant (format "database", implied).
	IntoSourceID string `json:"into_source_id,omitempty"`
	DatabaseRestoreOptions
	// Force restores from a snapshot whose last verification found it corrupt.
	Force bool `json:"force,omitempty"`
}

// DatabaseRestoreOptions say which databases of a snapshot are loaded and how.
type DatabaseRestoreOptions struct {
	Databases      []string `json:"databases,omitempty"`       // names in the snapshot; empty = all
	As             string   `json:"as,omitempty"`              // new name; only with exactly one database
	CreateDatabase bool     `json:"create_database,omitempty"` // create a missing target database
	Replace        bool     `json:"replace,omitempty"`         // replace an existing target (loaded under a temporary name first)
	KeepOwners     bool     `json:"keep_owners,omitempty"`     // postgres: keep OWNER and GRANT/REVOKE statements
	TablePrefix    string   `json:"table_prefix,omitempty"`    // wordpress: rename the site's table prefix to this one
}

// DatabaseRestoreResult is what loading one database did.
type DatabaseRestoreResult struct {
	Database string   `json:"database"` // name in the snapshot
	Target   string   `json:"target"`   // name on the target server
	Tables   int      `json:"tables"`
	Rows     int64    `json:"rows"`
	Seconds  float64  `json:"seconds"`
	Warnings []string `json:"warnings,omitempty"`
	Error    string   `json:"error,omitempty"` // the tool's first lines of error output, never a password
}

// Restore is one restore of a snapshot. DownloadURL is set while the
// restore is ready and not expired; it holds the download token (or, for
// download_via bucket, it is a presigned URL of the bucket), so treat it
// like a password.
type Restore struct {
	ID           string        `json:"id"`
	TenantID     string        `json:"tenant_id"`
	SnapshotID   string        `json:"snapshot_id"`
	JobID        string        `json:"job_id,omitempty"`
	Format       RestoreFormat `json:"format"`
	Paths        []string      `json:"paths,omitempty"`
	DownloadVia  DownloadVia   `json:"download_via,omitempty"` // downloads only
	Status       RestoreStatus `json:"status"`
	SizeBytes    int64         `json:"size_bytes"`
	DownloadURL  string        `json:"download_url,omitempty"`
	ExpiresAt    *time.Time    `json:"expires_at,omitempty"`
	ErrorMessage string        `json:"error_message,omitempty"`
	CreatedAt    time.Time     `json:"created_at"`
	UpdatedAt    time.Time     `json:"updated_at"`

	// Format "database" only.
	IntoSourceID string                  `json:"into_source_id,omitempty"`
	Options      *DatabaseRestoreOptions `json:"options,omitempty"`
	Databases    []DatabaseRestoreResult `json:"databases,omitempty"`
}

// RestoreListOptions filter ListRestores.
type RestoreListOptions struct {
	ListOptions
	SnapshotID string
}

// Setting is one platform setting (GET /api/v1/admin/settings).
type Setting struct {
	Key         string    `json:"key"`
	Value       string    `json:"value"`
	Description string    `json:"description,omitempty"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// PutSettingRequest changes a setting's value.
type PutSettingRequest struct {
	Value string `json:"value"`
}

// Keys of the known settings.
const (
	SettingDownloadExpirationHours = "download_expiration_hours"
	SettingMaxDownloadSizeMB       = "max_download_size_mb"
)

// Agent protocol for restores.

// RestorePayload is the ClaimedJob.Payload of a restore job. The hub fills it
// at claim time, so agents follow setting changes without a restart.
type RestorePayload struct {
	RestoreID        string        `json:"restore_id"`
	Format           RestoreFormat `json:"format"`
	Paths            []string      `json:"paths,omitempty"`
	SnapshotSHA256   string        `json:"snapshot_sha256"`    // the hub's record; the artifact must match it
	PlainBytes       int64         `json:"plain_bytes"`        // the snapshot's file contents
	TokenSHA256      string        `json:"token_sha256"`       // hex sha256 of the download token; the agent never sees the token
	ExpiresInSeconds int64         `json:"expires_in_seconds"` // link lifetime from publication
	MaxBytes         int64         `json:"max_bytes"`          // largest download allowed
	// DownloadVia bucket: write the file to the job's storage target and
	// report a presigned URL; agent (or empty, from an older hub): publish
	// it on the agent's download server.
	DownloadVia DownloadVia `json:"download_via,omitempty"`

	// Format "database": what to load. The job's source is the target;
	// SnapshotSourceID is the source the snapshot was taken of (where the
	// agent keeps its artifact).
	Database         *DatabaseRestoreOptions `json:"database,omitempty"`
	SnapshotSourceID string                  `json:"snapshot_source_id,omitempty"`
	// Chain lists the artifacts of an incremental snapshot, tip (the
	// snapshot itself) first, down to its full; empty for a full.
	Chain []ChainLink `json:"chain,omitempty"`
}

// RestoreReport is what a completed restore job published.
type RestoreReport struct {
	SizeBytes int64  `json:"size_bytes"`
	FileName  string `json:"file_name"`
	URLBase   string `json:"url_base"` // the agent's public URL; the link is URLBase + "/download/" + token; empty for download_via bucket
	// DownloadURL is the full presigned GET URL of a download_via bucket
	// restore (a bearer secret: the hub keeps it sealed).
	DownloadURL string    `json:"download_url,omitempty"`
	ExpiresAt   time.Time `json:"expires_at"` // when the link stops working (for bucket: the presigned URL's real expiry)
	// Format "database": one result per database loaded (the other fields are zero).
	Databases []DatabaseRestoreResult `json:"databases,omitempty"`
}

// TenantIdentityRelease carries the tenant's age identity (AGE-SECRET-KEY-1…)
// as an armored age ciphertext encrypted to the agent's own recipient.
type TenantIdentityRelease struct {
	Ciphertext string `json:"ciphertext"`
}

// DownloadReport tells the hub that an agent served (part of) a restore.
type DownloadReport struct {
	RemoteAddr string `json:"remote_addr"`
	Bytes      int64  `json:"bytes"`
	Status     int    `json:"status"`          // HTTP status sent
	Range      string `json:"range,omitempty"` // the Range header asked for
}
