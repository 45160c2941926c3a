// Package connector defines how agentd pulls data from a customer's system:
// a Connector walks its source and hands every entry, in order, to a Sink
// (the artifact pipeline). Connectors never stage data on disk.
package connector

import (
	"archive/tar"
	"context"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"time"

	"github.com/xvault/xvault/agentd/internal/egress"
	"github.com/xvault/xvault/sdk"
	"github.com/xvault/xvault/sdk/archive"
)

// EntryType is the kind of an archived entry.
type EntryType int

const (
	TypeFile EntryType = iota + 1
	TypeDir
	TypeSymlink
)

// Entry describes one archived object.
type Entry struct {
	// Name is slash-separated, relative and clean: "var/www/index.html" for
	// the remote path /var/www/index.html. Never absolute, never "..".
	Name       string
	Type       EntryType
	Mode       fs.FileMode // permission bits incl. setuid/setgid/sticky
	ModTime    time.Time
	UID, GID   int
	Size       int64  // regular files only
	LinkTarget string // symlinks only; kept as is, never followed
	// Dumpdir is set on the directories of an incremental snapshot: the
	// GNU.dumpdir value naming the directory's children
	// (archive.EncodeDumpdir). Empty: no dumpdir (fulls, parents of roots).
	Dumpdir string
}

// Sink receives entries. Its methods are called serially, in archive order.
// The snapshot layout (docs/format.md) is the sink's business: file-tree
// entries go under files/, objects under their layout name.
type Sink interface {
	// Describe sets the snapshot's descriptor (xvault.json). It may be
	// called once, before the first Put or PutObject; without it the sink
	// writes a descriptor naming just the source type and connector. The
	// sink fills in LayoutVersion, SourceType, CreatedAt, TransferMode and
	// the warnings reported so far.
	Describe(d archive.Descriptor) error
	// Put archives a file-tree entry; e.Name is the remote path without its
	// leading "/". For a regular file body yields exactly e.Size bytes (the
	// connector pads or cuts a file that changed while it was read, and
	// reports that through Warn).
	Put(e Entry, body io.Reader) error
	// PutObject archives content that is not part of the file tree, under
	// its layout name ("databases/shop.sql", "server/grants.sql"). body
	// yields exactly size bytes (a spooled dump: see package spool).
	PutObject(name string, size int64, modTime time.Time, body io.Reader) error
	// Note records a fact learned while the content was written; the sink
	// writes the notes into xvault.end.json, the last entry.
	Note(key string, value any)
	// Warn records a non-fatal problem with one path (vanished, changed while read).
	Warn(path string, err error)
	// Progress reports the path being read now (for the job's progress).
	Progress(path string)
}

// TransferReporter is implemented by sinks that record how a connector
// moved the data ("exec", "sftp"); a connector that has several ways calls
// TransferMode once, before the first entry.
type TransferReporter interface {
	TransferMode(mode string)
}

// Connector pulls one source into a sink.
type Connector interface {
	Pull(ctx context.Context, sink Sink) error
}

// Tester is implemented by connectors that can check a source without
// backing it up (xv source test): connect, list, check privileges, report
// versions, and change nothing. A problem that would make a backup fail is
// a failed check in the report, not an error; the error is for the test
// itself failing to run.
type Tester interface {
	Test(ctx context.Context) (*sdk.TestReport, error)
}

// ErrPermanent marks an error that retrying cannot fix (host key changed,
// authentication refused, invalid configuration). Wrap with fmt.Errorf("...: %w", ErrPermanent).
var ErrPermanent = errors.New("permanent failure")

// TarHeader renders the entry as a PAX tar header.
func (e Entry) TarHeader() *tar.Header {
	h := &tar.Header{
		Name:    e.Name,
		Mode:    UnixMode(e.Mode),
		Uid:     e.UID,
		Gid:     e.GID,
		ModTime: e.ModTime,
		Format:  tar.FormatPAX,
	}
	switch e.Type {
	case TypeDir:
		h.Typeflag = tar.TypeDir
		if e.Dumpdir != "" {
			h.PAXRecords = map[string]string{archive.DumpdirKey: e.Dumpdir}
		}
	case TypeSymlink:
		h.Typeflag = tar.TypeSymlink
		h.Linkname = e.LinkTarget
	default:
		h.Typeflag = tar.TypeReg
		h.Size = e.Size
	}
	return h
}

// UnixMode converts Go's file mode bits into the Unix mode tar stores.
func UnixMode(m fs.FileMode) int64 {
	mode := int64(m.Perm())
	if m&fs.ModeSetuid != 0 {
		mode |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		mode |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		mode |= 0o1000
	}
	return mode
}

// Env is what the agent hands every connector for one job.
type Env struct {
	Logger *slog.Logger
	// TempDir is a private (0700) directory of this job, removed when the
	// job ends: spools and tool option files go there.
	TempDir string
	// Egress says which addresses the connector may dial.
	Egress egress.Policy
	// OnHostKey records an SSH host key seen on first use (see sshconn).
	OnHostKey func(fingerprint string) error
	// LocalRoots are the directories local sources may read
	// (agentd --allow-local-root), already resolved with EvalSymlinks.
	LocalRoots []string
	// ForbiddenRoots are the agent's own state and storage directories,
	// which no local source may read, resolved.
	ForbiddenRoots []string
}

// Secret is the job's released credential(s), kept in memory only.
type Secret = sdk.SecretPayload

// TestItem describes a file-system object for a test report
// (sdk.TestItem.Kind: dir, symlink, file or other).
func TestItem(name string, m fs.FileMode, size int64) sdk.TestItem {
	kind := "other"
	switch {
	case m.IsDir():
		kind = "dir"
	case m&fs.ModeSymlink != 0:
		kind = "symlink"
	case m.IsRegular():
		kind = "file"
	}
	return sdk.TestItem{Name: name, Kind: kind, SizeBytes: size}
}
