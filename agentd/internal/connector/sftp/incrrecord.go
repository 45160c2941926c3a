package sftp

import (
	"time"

	"github.com/xvault/xvault/agentd/internal/connector"
	"github.com/xvault/xvault/agentd/internal/connector/sshconn"
	"github.com/xvault/xvault/agentd/internal/incremental"
)

// recordOf is the index record of a listed entry (SFTP: no ctime, inode or
// link count).
func recordOf(e connector.Entry) incremental.Record {
	r := incremental.Record{
		Path: e.Name, MtimeNS: e.ModTime.UnixNano(), Mode: uint32(connector.UnixMode(e.Mode)),
		UID: uint32(e.UID), GID: uint32(e.GID),
	}
	switch e.Type {
	case connector.TypeDir:
		r.Type = incremental.TypeDir
	case connector.TypeSymlink:
		r.Type = incremental.TypeSymlink
		r.Target = e.LinkTarget
	default:
		r.Type = incremental.TypeFile
		r.Size = e.Size
	}
	return r
}

// entryOfRecord is the archive entry of a listing record.
func entryOfRecord(r incremental.Record) connector.Entry {
	e := connector.Entry{
		Name: r.Path, Mode: sshconn.PermMode(r.Mode), ModTime: time.Unix(0, r.MtimeNS),
		UID: int(r.UID), GID: int(r.GID),
	}
	switch r.Type {
	case incremental.TypeDir:
		e.Type = connector.TypeDir
	case incremental.TypeSymlink:
		e.Type = connector.TypeSymlink
		e.LinkTarget = r.Target
	default:
		e.Type = connector.TypeFile
		e.Size = r.Size
	}
	return e
}
