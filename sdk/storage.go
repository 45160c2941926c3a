package sdk

import "time"

// StorageType is the kind of a storage target.
type StorageType string

// StorageS3 is an S3-compatible bucket (AWS S3, Garage, MinIO, Ceph RGW,
// SeaweedFS, Backblaze B2, Wasabi, versitygw).
const StorageS3 StorageType = "s3"

// StorageBackendS3 is Snapshot.StorageBackend of a snapshot kept in a
// storage target (next to StorageLocalFS).
const StorageBackendS3 = "s3"

// CapabilityStorageS3 is the capability an agent advertises when it can
// write snapshots to an s3 storage target. Until one does, the hub refuses
// to queue backups of sources whose storage is an s3 target.
const CapabilityStorageS3 = "storage:s3"

// StorageLocal is what `--storage` / `--default-storage` accept to mean
// "no storage target": the agent's disk (local_fs). On the wire it is "".
const StorageLocal = "local_fs"

// StorageTarget is a bucket snapshots go to instead of an agent's disk.
// A platform target (Platform true, TenantID empty) is made by a platform
// admin and usable by every tenant's sources; a tenant target belongs to
// TenantID and is invisible to other tenants. The credential's secret is
// never returned.
type StorageTarget struct {
	ID           string      `json:"id"`
	TenantID     string      `json:"tenant_id,omitempty"`
	Platform     bool        `json:"platform"`
	Name         string      `json:"name"`
	Type         StorageType `json:"type"`
	Endpoint     string      `json:"endpoint"`
	Bucket       string      `json:"bucket"`
	Region       string      `json:"region,omitempty"`
	Prefix       string      `json:"prefix,omitempty"` // normalised: "" or ending in "/"
	PathStyle    bool        `json:"path_style"`
	CredentialID string      `json:"credential_id,omitempty"` // omitted for tenants looking at a platform target
	CreatedAt    time.Time   `json:"created_at"`
	UpdatedAt    time.Time   `json:"updated_at"`
}

// CreateStorageTargetRequest makes a storage target. Platform true makes a
// platform-wide target (platform admins only; CredentialID must then name a
// platform credential); otherwise the target belongs to the tenant of the
// call and CredentialID names one of that tenant's credentials. The
// credential is of kind s3_access_key.
type CreateStorageTargetRequest struct {
	Platform     bool        `json:"platform,omitempty"`
	Name         string      `json:"name"`
	Type         StorageType `json:"type"`
	Endpoint     string      `json:"endpoint"`
	Bucket       string      `json:"bucket"`
	Region       string      `json:"region,omitempty"`
	Prefix       string      `json:"prefix,omitempty"`
	PathStyle    bool        `json:"path_style,omitempty"`
	CredentialID string      `json:"credential_id"`
}

// UpdateTenantRequest changes only the fields that are set.
type UpdateTenantRequest struct {
	// DefaultStorageID names the storage target of the tenant's sources
	// that name none; "" clears it (back to local_fs).
	DefaultStorageID *string `json:"default_storage_id,omitempty"`
}

// StorageLease is the storage target a claimed job reads or writes: the
// snapshot's (restore, verify, delete) or the source's effective one
// (backup). Its credential is released with the job's (SecretPayload.Storage).
type StorageLease struct {
	TargetID  string      `json:"target_id"`
	Type      StorageType `json:"type"`
	Endpoint  string      `json:"endpoint"`
	Bucket    string      `json:"bucket"`
	Region    string      `json:"region,omitempty"`
	Prefix    string      `json:"prefix,omitempty"`
	PathStyle bool        `json:"path_style"`
}

// CopySnapshotRequest asks for a copy job (POST /api/v1/snapshots/{id}/copy,
// `xv snapshot copy SNAP --to-storage TARGET --move`). The whole chain of
// the snapshot moves: its full and every incremental of that full.
type CopySnapshotRequest struct {
	// ToStorageID is the destination: a storage target's id, or
	// StorageLocal ("local_fs") for an agent's disk.
	ToStorageID string `json:"to_storage_id"`
	// Move: once every artifact is copied and its sha256 checked at the
	// destination, the snapshots point there and the old copies are
	// deleted. Required: a snapshot has one location.
	Move bool `json:"move"`
	// AgentID: for a copy to local_fs, the agent whose disk receives it
	// (default: any agent that can reach the snapshot's bucket).
	AgentID string `json:"agent_id,omitempty"`
}

// CopyLink is one artifact a copy job copies.
type CopyLink struct {
	SnapshotID string `json:"snapshot_id"`
	SHA256     string `json:"sha256"`
	SizeBytes  int64  `json:"size_bytes"`
}

// CopyPayload is the payload of a copy job: the chain's artifacts, its
// full first.
type CopyPayload struct {
	Move  bool       `json:"move"`
	Links []CopyLink `json:"links"`
}

// CopiedLink is one artifact as the agent wrote and read it back at the
// destination: Location is its directory or key prefix there.
type CopiedLink struct {
	CopyLink
	Location string `json:"location"`
}

// CopyReport is what a completed copy job reports (CompleteRequest.Copy),
// the links in payload order.
type CopyReport struct {
	Links []CopiedLink `json:"links"`
}
