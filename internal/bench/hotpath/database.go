package hotpath

import "github.com/xvault/xvault/sdk/archive"

// DBOverlayDir is where the database child's package appears (see OverlayDir).
const DBOverlayDir = "agentd/internal/xvbenchdbchild"

// DBSpec is what the database child (./dbchild) dumps: one database through
// the mysql connector into an artifact at Out. It arrives as JSON on stdin,
// so the password is in neither argv nor the environment.
type DBSpec struct {
	Host      string `json:"host"`
	Port      int    `json:"port"`
	User      string `json:"user"`
	Password  string `json:"password"`
	Database  string `json:"database"`
	Recipient string `json:"recipient"` // age X25519 recipient
	Out       string `json:"out"`       // artifact file to create
	TempDir   string `json:"temp_dir"`  // the connector's private directory (spools, option file)
}

// DBResult is what the database child writes as JSON on stdout.
type DBResult struct {
	Artifact    archive.Result `json:"artifact"`
	PullSeconds float64        `json:"pull_seconds"`
	Warnings    int            `json:"warnings"`
}
