package connector

import (
	"context"
	"io"

	"github.com/xvault/xvault/sdk/archive"
)

// LoadOptions say how one dump of a snapshot is loaded into a database
// server (a restore into a database, or a verify job's throwaway database).
type LoadOptions struct {
	// Database is the database to load into, on the loader's server.
	Database string
	// Format is archive.Database.Format: "sql" (plain) or "custom" (pg_dump -Fc).
	Format string
	// Create creates Database when it does not exist; without it a missing
	// database is a permanent error naming --create-database.
	Create bool
	// Replace replaces an existing Database: the dump is loaded into a
	// temporary database first, and the target is touched only once that
	// load succeeded. Without it an existing database is a permanent error
	// naming --replace.
	Replace bool
	// KeepOwners keeps OWNER and GRANT/REVOKE statements (postgres); by
	// default they are dropped (--no-owner --no-acl).
	KeepOwners bool
	// TablePrefix renames a WordPress table prefix (mysql); nil keeps it.
	TablePrefix *PrefixRename
	// Open opens the dump's bytes from the start. It may be called more
	// than once (a loader that needs a second pass); each reader is closed.
	Open func() (io.ReadCloser, error)
}

// PrefixRename renames tables From… to To… (and the rows WordPress keys
// by its prefix: the user_roles option, the usermeta capability keys).
type PrefixRename struct{ From, To string }

// LoadResult is what loading one dump did.
type LoadResult struct {
	// Tables are the target's tables with their row counts counted after
	// the load (SELECT count(*)), named as in the dump's descriptor.
	Tables   []archive.Table
	Warnings []string
}

// Loader loads dumps into one database server. Errors name the database
// and carry the client tool's first lines of error output, never a
// password; ErrPermanent marks those a retry cannot fix.
type Loader interface {
	Load(ctx context.Context, opts LoadOptions) (*LoadResult, error)
	// Databases lists the server's databases (system ones excluded).
	Databases(ctx context.Context) ([]string, error)
	// Drop drops a database if it exists.
	Drop(ctx context.Context, database string) error
	Close() error
}
