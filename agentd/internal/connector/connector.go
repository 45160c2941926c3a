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
	"time"
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
}

// Sink receives entries. Put is called serially, in archive order; for a
// regular file body yields exactly e.Size bytes (the connector pads or cuts a
// file that changed while it was read, and reports that through Warn).
type Sink interface {
	Put(e Entry, body io.Reader) error
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

// ErrPermanent marks an error that retrying cannot fix (host key changed,
// authentication refused, invalid configuration). Wrap with fmt.Errorf("...: %w", ErrPermanent).
var ErrPermanent = errors.New("permanent failure")

// TarHeader renders the entry as a PAX tar header.
func (e Entry) TarHeader() *tar.Header {
	h := &tar.Header{
		Name:    e.Name,
		Mode:    tarMode(e.Mode),
		Uid:     e.UID,
		Gid:     e.GID,
		ModTime: e.ModTime,
		Format:  tar.FormatPAX,
	}
	switch e.Type {
	case TypeDir:
		h.Typeflag = tar.TypeDir
	case TypeSymlink:
		h.Typeflag = tar.TypeSymlink
		h.Linkname = e.LinkTarget
	default:
		h.Typeflag = tar.TypeReg
		h.Size = e.Size
	}
	return h
}

// tarMode converts Go's file mode bits into the Unix mode tar stores.
func tarMode(m fs.FileMode) int64 {
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
