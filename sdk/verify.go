package sdk

import "time"

// VerifyStatus is the verdict of a verify job on a snapshot.
type VerifyStatus string

const (
	// VerifyOK: the artifact checked out and every database loaded with the
	// row counts recorded at dump time (or, without a scratch server, every
	// dump was structurally complete; VerifyReport.Mode says which).
	VerifyOK VerifyStatus = "ok"
	// VerifyFailed: the artifact is intact but a dump did not load, or its
	// row counts disagree with those recorded at dump time.
	VerifyFailed VerifyStatus = "failed"
	// VerifyCorrupt: the artifact itself is damaged or missing (sha256, an
	// age chunk, a zstd frame or a tar header failed); it cannot be restored.
	VerifyCorrupt VerifyStatus = "corrupt"
)

// Verification modes of a database dump.
const (
	VerifyModeLoad       = "load"       // loaded into a throwaway database on the agent's scratch server
	VerifyModeStructural = "structural" // no scratch server: checked complete (trailer present), not loaded
)

// VerifyReport is what a verify job found.
type VerifyReport struct {
	Status     VerifyStatus     `json:"status"`
	Message    string           `json:"message"` // one line for humans
	Entries    int64            `json:"entries"` // tar entries read
	PlainBytes int64            `json:"plain_bytes"`
	Databases  []VerifyDatabase `json:"databases,omitempty"`
	Seconds    float64          `json:"seconds"`
	FinishedAt time.Time        `json:"finished_at"`
}

// VerifyDatabase is the check of one database dump of the snapshot.
type VerifyDatabase struct {
	Name    string        `json:"name"`
	Engine  string        `json:"engine"` // mysql, postgres
	Mode    string        `json:"mode"`   // load or structural
	OK      bool          `json:"ok"`
	Tables  []VerifyTable `json:"tables,omitempty"`
	Seconds float64       `json:"seconds"`
	Error   string        `json:"error,omitempty"`
}

// VerifyTable compares one table's rows after loading with the count
// recorded in xvault.json at dump time.
type VerifyTable struct {
	Name     string `json:"name"`
	Expected int64  `json:"expected"`
	Loaded   int64  `json:"loaded"`
}

// Verify drill modes of a schedule.
const (
	VerifyDrillLatest = "latest" // verify the newest snapshot each period
	VerifyDrillSample = "sample" // rotate through the snapshots, least recently verified first
)

// VerifyPayload is the ClaimedJob.Payload of a verify job.
type VerifyPayload struct {
	SnapshotSHA256 string `json:"snapshot_sha256"` // the hub's record; the artifact must match it
	// Chain lists the artifacts of an incremental snapshot, tip first, down
	// to its full (as in RestorePayload); empty for a full.
	Chain []ChainLink `json:"chain,omitempty"`
}
