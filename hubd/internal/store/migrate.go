package store

import (
	"context"
	"fmt"
	"io/fs"
	"time"

	"github.com/uptrace/bun/migrate"

	"github.com/xvault/xvault/migrations"
)

// pgMigrateLockKey is the pg_advisory_lock key that serialises Migrate
// across hub replicas ("xvmigrat" as an int64).
const pgMigrateLockKey = 0x78766d6967726174

// MigrationInfo is one migration and whether it has been applied.
type MigrationInfo struct {
	Version   string // "0001"
	Name      string // "init"
	Applied   bool
	AppliedAt *time.Time // nil when not applied
}

func migrationsFS(db *DB) fs.FS {
	if db.IsPostgres() {
		return migrations.Postgres
	}
	return migrations.SQLite
}

func newMigrator(db *DB) (*migrate.Migrator, error) {
	ms := migrate.NewMigrations()
	if err := ms.Discover(migrationsFS(db)); err != nil {
		return nil, fmt.Errorf("discover %s migrations: %w", db.DialectName, err)
	}
	return migrate.NewMigrator(db.DB, ms, migrate.WithMarkAppliedOnSuccess(true)), nil
}

// Migrate applies every pending migration of db's dialect. It is idempotent.
// On PostgreSQL a session advisory lock serialises concurrent hub replicas.
func Migrate(ctx context.Context, db *DB) error {
	m, err := newMigrator(db)
	if err != nil {
		return err
	}
	if db.IsPostgres() {
		unlock, err := pgAdvisoryLock(ctx, db)
		if err != nil {
			return err
		}
		defer unlock()
	}
	if err := m.Init(ctx); err != nil {
		return fmt.Errorf("migrate: create migration tables: %w", err)
	}
	if _, err := m.Migrate(ctx); err != nil {
		return fmt.Errorf("migrate %s database: %w", db.DialectName, err)
	}
	return nil
}

// pgAdvisoryLock holds a session-level advisory lock on its own connection
// until the returned function runs.
func pgAdvisoryLock(ctx context.Context, db *DB) (func(), error) {
	conn, err := db.DB.DB.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate: get connection for lock: %w", err)
	}
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", int64(pgMigrateLockKey)); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("migrate: take advisory lock: %w", err)
	}
	return func() {
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", int64(pgMigrateLockKey))
		_ = conn.Close()
	}, nil
}

// MigrationStatus lists every known migration, oldest first, with whether
// and when it was applied.
func MigrationStatus(ctx context.Context, db *DB) ([]MigrationInfo, error) {
	m, err := newMigrator(db)
	if err != nil {
		return nil, err
	}
	if err := m.Init(ctx); err != nil {
		return nil, fmt.Errorf("migration status: create migration tables: %w", err)
	}
	ms, err := m.MigrationsWithStatus(ctx)
	if err != nil {
		return nil, fmt.Errorf("migration status: %w", err)
	}
	out := make([]MigrationInfo, 0, len(ms))
	for _, mg := range ms {
		info := MigrationInfo{Version: mg.Name, Name: mg.Comment, Applied: mg.IsApplied()}
		if info.Applied && !mg.MigratedAt.IsZero() {
			at := mg.MigratedAt.UTC()
			info.AppliedAt = &at
		}
		out = append(out, info)
	}
	return out, nil
}
