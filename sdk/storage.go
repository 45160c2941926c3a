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
