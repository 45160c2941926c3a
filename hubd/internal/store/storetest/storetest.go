// Package storetest gives tests a migrated, isolated hub database on every
// configured dialect: SQLite always (a file in t.TempDir()), PostgreSQL when
// XV_TEST_POSTGRES_URL is set (a fresh schema per database, dropped at the
// end). With XV_TEST_REQUIRE_SERVICES=1 a missing PostgreSQL fails the test
// instead of skipping it.
//
//	for _, d := range storetest.Dialects(t) {
//		t.Run(d, func(t *testing.T) { db := storetest.Open(t, d); … })
//	}
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/xvault/xvault/hubd/internal/store"
)

// Environment variables read by this package.
const (
	EnvPostgresURL     = "XV_TEST_POSTGRES_URL"     // e.g. postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable
	EnvRequireServices = "XV_TEST_REQUIRE_SERVICES" // "1": fail instead of skip when a service is missing
)

// Dialects lists the dialects to test: "sqlite", plus "postgres" when
// XV_TEST_POSTGRES_URL is set. With XV_TEST_REQUIRE_SERVICES=1 and no URL it
// fails the test.
func Dialects(t testing.TB) []string {
	t.Helper()
	ds := []string{store.DialectSQLite}
	if os.Getenv(EnvPostgresURL) != "" {
		return append(ds, store.DialectPostgres)
	}
	if os.Getenv(EnvRequireServices) == "1" {
		t.Fatalf("%s is not set but %s=1 (hint: export %s=postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable)",
			EnvPostgresURL, EnvRequireServices, EnvPostgresURL)
	}
	t.Logf("PostgreSQL tests skipped: set %s to run them", EnvPostgresURL)
	return ds
}

// Open returns a migrated database of the dialect that no other test sees,
// closed (and dropped, on PostgreSQL) when the test ends.
func Open(t testing.TB, dialect string) *store.DB {
	t.Helper()
	ctx := context.Background()
	var db *store.DB
	switch dialect {
	case store.DialectSQLite:
		db = openSQLite(t)
	case store.DialectPostgres:
		db = openPostgres(t)
	default:
		t.Fatalf("storetest: unknown dialect %q", dialect)
	}
	if err := store.Migrate(ctx, db); err != nil {
		t.Fatalf("storetest: migrate %s: %v", dialect, err)
	}
	return db
}

func openSQLite(t testing.TB) *store.DB {
	path := filepath.Join(t.TempDir(), "hub.db")
	db, err := store.Open(context.Background(), "sqlite://"+path)
	if err != nil {
		t.Fatalf("storetest: open sqlite: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func openPostgres(t testing.TB) *store.DB {
	base := os.Getenv(EnvPostgresURL)
	if base == "" {
		if os.Getenv(EnvRequireServices) == "1" {
			t.Fatalf("storetest: %s is not set", EnvPostgresURL)
		}
		t.Skipf("storetest: set %s to run PostgreSQL tests", EnvPostgresURL)
	}
	ctx := context.Background()
	admin, err := store.Open(ctx, base)
	if err != nil {
		t.Fatalf("storetest: open postgres: %v", err)
	}
	schema := "xvtest_" + randHex(8)
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		_ = admin.Close()
		t.Fatalf("storetest: create schema: %v", err)
	}
	db, err := store.Open(ctx, withSearchPath(t, base, schema))
	if err != nil {
		t.Fatalf("storetest: open postgres schema %s: %v", schema, err)
	}
	t.Cleanup(func() {
		_ = db.Close()
		if _, err := admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("storetest: drop schema %s: %v", schema, err)
		}
		_ = admin.Close()
	})
	return db
}

func withSearchPath(t testing.TB, rawURL, schema string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatalf("storetest: parse %s: %v", EnvPostgresURL, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
