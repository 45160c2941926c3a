package archive

import "time"

// Manifest is written next to the artifact as manifest.json. It describes
// the artifact so that it can be checked and opened without the hub.
type Manifest struct {
	FormatVersion int       `json:"format_version"` // FormatVersion
	TenantID      string    `json:"tenant_id"`
	SourceID      string    `json:"source_id"`
	SnapshotID    string    `json:"snapshot_id"`
	JobID         string    `json:"job_id"`
	AgentID       string    `json:"agent_id"`
	Files         int64     `json:"files"`
	Entries       int64     `json:"entries"`
	PlainBytes    int64     `json:"plain_bytes"`
	TarBytes      int64     `json:"tar_bytes"`
	StoredBytes   int64     `json:"stored_bytes"`
	SHA256        string    `json:"sha256"`        // hex sha256 of backup.tar.zst.age
	AgeRecipient  string    `json:"age_recipient"` // the tenant recipient it is encrypted to
	Compression   string    `json:"compression"`   // Compression
	Level         string    `json:"level"`         // zstd.EncoderLevel.String(): fastest, default, better, best
	StartedAt     time.Time `json:"started_at"`
	FinishedAt    time.Time `json:"finished_at"`
	DurationMS    int64     `json:"duration_ms"`
	Warnings      []string  `json:"warnings"`
	TransferMode  string    `json:"transfer_mode,omitempty"`
	// Incremental chains (docs/incremental.md): the kind, the parent an
	// incremental continues, why a planned incremental became a full, and
	// the index stored beside the artifact (encrypted to the agent's key).
	Kind             string `json:"kind,omitempty"`
	ParentSnapshotID string `json:"parent_snapshot_id,omitempty"`
	FullReason       string `json:"full_reason,omitempty"`
	IndexSHA256      string `json:"index_sha256,omitempty"`
	IndexBytes       int64  `json:"index_bytes,omitempty"`
}

// IndexName is the snapshot's incremental index, stored beside the artifact.
const IndexName = "index.zst.age"

// SetResult copies the counts, sizes and sha256 of r into m and fills the
// format version and compression name.
func (m *Manifest) SetResult(r Result) {
	m.FormatVersion = FormatVersion
	m.Compression = Compression
	m.Files = r.Files
	m.Entries = r.Entries
	m.PlainBytes = r.PlainBytes
	m.TarBytes = r.TarBytes
	m.StoredBytes = r.StoredBytes
	m.SHA256 = r.SHA256
}

// Meta is written next to the artifact as meta.json: who the snapshot
// belongs to, readable without parsing the manifest.
type Meta struct {
	TenantID   string    `json:"tenant_id"`
	SourceID   string    `json:"source_id"`
	SnapshotID string    `json:"snapshot_id"`
	JobID      string    `json:"job_id"`
	AgentID    string    `json:"agent_id"`
	CreatedAt  time.Time `json:"created_at"`
}
