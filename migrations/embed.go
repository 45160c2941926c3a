// Package migrations holds the hub's SQL schema history, one folder per SQL
// dialect with the same version numbers in each, embedded into the binary and
// applied by bun/migrate (see hubd/internal/store.Migrate).
//
// File names follow bun/migrate: NNNN_name.tx.up.sql / NNNN_name.tx.down.sql.
// The ".tx" infix makes bun run each file inside one transaction, so a failed
// migration leaves nothing half-applied (both PostgreSQL and SQLite have
// transactional DDL). Statements are separated by "--bun:split" lines.
package migrations

import (
	"embed"
	"io/fs"
)

//go:embed postgres/*.sql sqlite/*.sql
var files embed.FS

// Postgres holds the PostgreSQL migrations (root of the fs = the folder).
var Postgres = mustSub("postgres")

// SQLite holds the SQLite migrations (root of the fs = the folder).
var SQLite = mustSub("sqlite")

func mustSub(dir string) fs.FS {
	sub, err := fs.Sub(files, dir)
	if err != nil {
		panic("migrations: " + err.Error())
	}
	return sub
}
