// Package store is the hub's data layer: bun models of every table, the
// functions that read and write them (one file per table family), the job
// queue's SQL (claim, lease, rescue), opening the database and applying the
// embedded migrations. It runs on SQLite (modernc.org/sqlite, pure Go) and
// PostgreSQL (pgdriver) with the same semantics.
//
// Every function takes a bun.IDB so the caller owns the transaction.
// SQLite is opened with a single connection: inside RunInTx use only the tx,
// never the *DB, or the call waits for the connection the tx holds.
package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	"github.com/uptrace/bun/driver/pgdriver"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// Dialect names carried by DB.DialectName.
const (
	DialectSQLite   = "sqlite"
	DialectPostgres = "postgres"
)

// DB is the hub database: a bun.DB plus which dialect it speaks.
//
// *DB satisfies bun.IDB, so it can be passed straight to every store
// function (store.GetJob(ctx, db, …)). That is why the dialect name is the
// field DialectName and not "Dialect": a field of that name would hide
// bun.DB's Dialect() method and *DB would no longer be a bun.IDB.
type DB struct {
	*bun.DB
	DialectName string // DialectSQLite ("sqlite") or DialectPostgres ("postgres")
}

var _ bun.IDB = (*DB)(nil)

// IsPostgres reports whether db talks to PostgreSQL.
func (db *DB) IsPostgres() bool { return db.DialectName == DialectPostgres }

// Open connects to the database named by rawURL:
//
//	postgres://user:pass@host:5432/db?sslmode=disable   (also postgresql://)
//	sqlite:///abs/path/hub.db                             (absolute path)
//	sqlite://relative/hub.db                              (relative to the cwd)
//
// SQLite runs in WAL mode with a 10 s busy timeout, foreign keys on, times
// read back as UTC and a single connection (one writer; concurrent callers
// queue instead of failing with SQLITE_BUSY). Open pings the database.
func Open(ctx context.Context, rawURL string) (*DB, error) {
	var db *DB
	var err error
	switch {
	case strings.HasPrefix(rawURL, "postgres://"), strings.HasPrefix(rawURL, "postgresql://"):
		db = openPostgres(rawURL)
	case strings.HasPrefix(rawURL, "sqlite://"):
		db, err = openSQLite(rawURL)
	default:
		return nil, fmt.Errorf("open database: unsupported url scheme (hint: use postgres://… or sqlite:///path/hub.db)")
	}
	if err != nil {
		return nil, err
	}
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open %s database: ping: %w", db.DialectName, err)
	}
	return db, nil
}

func openPostgres(rawURL string) *DB {
	sqldb := sql.OpenDB(pgdriver.NewConnector(pgdriver.WithDSN(rawURL)))
	return &DB{DB: bun.NewDB(sqldb, pgdialect.New()), DialectName: DialectPostgres}
}

func openSQLite(rawURL string) (*DB, error) {
	dsn, err := sqliteDSN(rawURL)
	if err != nil {
		return nil, err
	}
	sqldb, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open sqlite database: %w", err)
	}
	// One connection: SQLite has one writer anyway, and a single connection
	// makes concurrent writers queue in database/sql instead of failing.
	sqldb.SetMaxOpenConns(1)
	sqldb.SetMaxIdleConns(1)
	sqldb.SetConnMaxLifetime(0)
	sqldb.SetConnMaxIdleTime(0)
	return &DB{DB: bun.NewDB(sqldb, sqlitedialect.New()), DialectName: DialectSQLite}, nil
}

// sqliteDSN turns sqlite:///abs.db or sqlite://rel.db (plus optional query
// parameters, passed through to modernc.org/sqlite) into a driver DSN.
func sqliteDSN(rawURL string) (string, error) {
	rest := strings.TrimPrefix(rawURL, "sqlite://")
	path, query, _ := strings.Cut(rest, "?")
	if path == "" {
		return "", fmt.Errorf("open sqlite database: empty path (hint: sqlite:///var/lib/xvault/hub.db)")
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		return "", fmt.Errorf("open sqlite database: parse url parameters: %w", err)
	}
	for _, p := range []string{"busy_timeout(10000)", "journal_mode(WAL)", "foreign_keys(1)", "synchronous(NORMAL)"} {
		q.Add("_pragma", p)
	}
	if q.Get("_txlock") == "" {
		q.Set("_txlock", "immediate")
	}
	q.Set("_timezone", "UTC")
	return "file:" + filepath.Clean(path) + "?" + q.Encode(), nil
}

// NewID returns a random UUIDv4 as text.
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	const hex = "0123456789abcdef"
	out := make([]byte, 0, 36)
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out = append(out, '-')
		}
		out = append(out, hex[c>>4], hex[c&0x0f])
	}
	return string(out)
}

// utcMicro normalises t the way the database stores it (UTC, microseconds),
// so a value written and read back compares equal.
func utcMicro(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// nowOr returns t normalised, or the current time when t is zero.
func nowOr(t time.Time) time.Time {
	if t.IsZero() {
		t = time.Now()
	}
	return utcMicro(t)
}
