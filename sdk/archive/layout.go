package archive

import (
	"strings"
	"time"
)

// The snapshot layout (docs/format.md): where each kind of content lives
// inside the tar.
const (
	// DescriptorName is the first entry of every snapshot made since format
	// version 2: what the snapshot holds and how it was made.
	DescriptorName = "xvault.json"
	// EndName is the last entry: what was learned while the content was
	// written (warnings, timings).
	EndName = "xvault.end.json"
	// FilesPrefix holds file content: files/<remote path without the leading slash>.
	FilesPrefix = "files/"
	// DatabasesPrefix holds dumps: databases/<db>.sql or .dump.
	DatabasesPrefix = "databases/"
	// ServerPrefix holds server-wide objects (roles, grants).
	ServerPrefix = "server/"
)

// LayoutVersion is the snapshot layout version recorded in [Descriptor].
// Version 1 (no descriptor, file content at the root) is still read.
const LayoutVersion = 2

// LayoutIncremental is the layout version of an incremental snapshot: its
// artifact holds only what changed since its parent, and its directories
// carry GNU.dumpdir records (docs/incremental.md). A reader that does not
// assemble chains must refuse it.
const LayoutIncremental = 3

// Descriptor is xvault.json: written before any content, so a reader learns
// what a snapshot holds from its first entry.
type Descriptor struct {
	LayoutVersion int       `json:"layout_version"`
	SnapshotID    string    `json:"snapshot_id,omitempty"`
	Kind          string    `json:"kind,omitempty"` // "full" or "incremental" (layout 3); empty before incrementals
	SourceType    string    `json:"source_type"`
	Connector     string    `json:"connector"`
	TransferMode  string    `json:"transfer_mode,omitempty"`
	CreatedAt     time.Time `json:"created_at"`
	// Server is the remote software ("MariaDB 10.11.19", "vsftpd", "PostgreSQL 15.19").
	Server *Software `json:"server,omitempty"`
	// Tools are the programs that made the content (mysqldump, pg_dump).
	Tools []Software `json:"tools,omitempty"`
	// Options are the dump options used, as passed to the tool (no secrets).
	Options   []string   `json:"options,omitempty"`
	Databases []Database `json:"databases,omitempty"`
	// Globals names the server-wide files (server/globals.sql, server/grants.sql).
	Globals   []string   `json:"globals,omitempty"`
	WordPress *WordPress `json:"wordpress,omitempty"`
	// Incremental describes the chain link of an incremental snapshot.
	Incremental *Incremental `json:"incremental,omitempty"`
	// AssembledFrom is set by [ChainReader] on the descriptor of an assembled
	// incremental (layout_version 2, a whole tree): the chain's snapshot
	// ids, tip first. Never written into an artifact.
	AssembledFrom []string `json:"assembled_from,omitempty"`
	Warnings      []string `json:"warnings"`
}

// Incremental is the descriptor part of an incremental snapshot.
type Incremental struct {
	ParentSnapshotID string `json:"parent_snapshot_id"`
	FullSnapshotID   string `json:"full_snapshot_id"`
	ChainPosition    int    `json:"chain_position"` // the full is 0
	Listing          string `json:"listing"`        // "find" or "sftp"
	// Deleted holds the top-most paths deleted since the parent (at most
	// 10,000; DeletedTruncated counts the rest). For people and checks:
	// the dumpdirs are what restores apply.
	Deleted          []string `json:"deleted"`
	DeletedTruncated int      `json:"deleted_truncated"`
}

// Software names a program and its version.
type Software struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Database is one dumped database.
type Database struct {
	Name   string  `json:"name"`
	File   string  `json:"file"`   // entry name: databases/<db>.sql
	Format string  `json:"format"` // "sql" (plain) or "custom" (pg_dump -Fc)
	Tables []Table `json:"tables"`
}

// Table is one table of a dumped database with the rows it held in the
// dump's snapshot (for later verification).
type Table struct {
	Name   string `json:"name"`
	Rows   int64  `json:"rows"`
	Engine string `json:"engine,omitempty"` // MySQL/MariaDB storage engine
}

// WordPress describes a WordPress site snapshot.
type WordPress struct {
	Version     string `json:"version,omitempty"`
	TablePrefix string `json:"table_prefix"`
	Multisite   bool   `json:"multisite"`
	Database    string `json:"database"`
	ConfigPath  string `json:"config_path"`
}

// End is xvault.end.json, the last entry.
type End struct {
	FinishedAt time.Time      `json:"finished_at"`
	Files      int64          `json:"files"`
	Warnings   []string       `json:"warnings"`
	Notes      map[string]any `json:"notes,omitempty"`
	// Vanished lists the paths an incremental listed as stored but could not
	// read (gone or replaced meanwhile); a correction dumpdir drops them.
	Vanished []string `json:"vanished,omitempty"`
}

// DatabaseEntry is the entry name of database db's dump with extension ext
// ("sql" or "dump"): databases/<db>.<ext>, db percent-encoded outside
// [A-Za-z0-9._-] so that any database name is one safe path element.
func DatabaseEntry(db, ext string) string {
	return DatabasesPrefix + EscapeElement(db) + "." + ext
}

// EscapeElement percent-encodes every byte of s outside [A-Za-z0-9._-] and
// a leading ".", so the result is a single, non-hidden, valid path element.
func EscapeElement(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		keep := c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-' || (c == '.' && i > 0)
		if keep {
			b.WriteByte(c)
			continue
		}
		const hex = "0123456789ABCDEF"
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// FileEntry is the entry name of a remote file path ("/var/www/a" →
// "files/var/www/a").
func FileEntry(remote string) string {
	return FilesPrefix + strings.TrimPrefix(remote, "/")
}

// Selected reports whether the entry name is selected by paths: an entry
// is selected when it is one of them or lies below one. A path also selects
// the file-tree entries of that remote path ("var/www" selects
// "files/var/www/index.php"), so a --path keeps working on snapshots of
// both layouts. No paths select everything.
func Selected(paths []string, name string) bool {
	if len(paths) == 0 {
		return true
	}
	for _, p := range paths {
		p = strings.Trim(p, "/")
		if p == "" {
			return true
		}
		for _, q := range []string{p, FilesPrefix + p} {
			if name == q || strings.HasPrefix(name, q+"/") {
				return true
			}
		}
	}
	return false
}
