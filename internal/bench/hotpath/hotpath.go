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
}

// Result is what the child writes as JSON on stdout once the snapshot is committed.
type Result struct {
	Artifact      archive.Result `json:"artifact"`
	ArtifactPath  string         `json:"artifact_path"`
	PullSeconds   float64        `json:"pull_seconds"`   // connect, walk, read, tar, zstd, age, write
	CommitSeconds float64        `json:"commit_seconds"` // fsync, manifest, rename
	Warnings      int            `json:"warnings"`
}
