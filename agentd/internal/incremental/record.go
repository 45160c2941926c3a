// Package incremental holds what incremental backups of file sources need
// on the agent (docs/incremental.md): the index of a snapshot's entries,
// its encrypted encoding and cache, and the comparison of a new listing
// with the parent's index that decides what a backup stores.
package incremental

// Type is the kind of a listed entry: the byte find's %y prints.
type Type byte

const (
	TypeFile    Type = 'f'
	TypeDir     Type = 'd'
	TypeSymlink Type = 'l'
)

// Flags of a record.
const (
	// FlagReread: the entry must be read again by the next backup whatever
	// its fields say (racy mtime, changed while read).
	FlagReread byte = 1 << 0
	// FlagExec: ctime, inode and nlink come from a find listing and are valid.
	FlagExec byte = 1 << 1
)

// Record is one entry of a listing or an index (docs/incremental.md,
// section 1). Path is the remote path without its leading "/"
// ("var/www/index.php"), valid as archive.ValidName.
type Record struct {
	Path    string
	Type    Type
	Flags   byte
	Size    int64 // regular files; 0 otherwise
	MtimeNS int64
	CtimeNS int64  // 0 unless FlagExec
	Inode   uint64 // 0 unless FlagExec
	Mode    uint32 // permission bits incl. setuid/setgid/sticky (& 07777)
	UID     uint32
	GID     uint32
	Nlink   uint32 // 0 unless FlagExec
	Target  string // symlinks
}
