package store

import (
	"database/sql"
	"errors"
	"fmt"

	"github.com/uptrace/bun/driver/pgdriver"
	"modernc.org/sqlite"
)

// Sentinels every store function maps its failures onto. The API turns them
// into HTTP statuses in one place: ErrNotFound → 404, ErrConflict → 409.
var (
	// ErrNotFound: no such row, or a row of another tenant.
	ErrNotFound = errors.New("not found")
	// ErrConflict: a unique, foreign-key or check constraint said no, or a
	// precondition failed (stale lease epoch, object still in use).
	ErrConflict = errors.New("conflict")
)

// SQLite extended result codes (sqlite3.h) of constraint violations.
const (
	sqliteConstraintCheck      = 275
	sqliteConstraintForeignKey = 787
	sqliteConstraintNotNull    = 1299
	sqliteConstraintPrimaryKey = 1555
	sqliteConstraintUnique     = 2067
	sqliteConstraint           = 19
)

// mapErr wraps err with what was being done and, when the database error is
// one the callers handle (no rows, constraint violations), with the matching
// sentinel so errors.Is(err, ErrNotFound/ErrConflict) works. The driver error
// stays in the chain for logs.
func mapErr(doing string, err error) error {
	if err == nil {
		return nil
	}
	if s := sentinel(err); s != nil && !errors.Is(err, s) {
		return fmt.Errorf("%s: %w: %w", doing, s, err)
	}
	return fmt.Errorf("%s: %w", doing, err)
}

// sentinel names the sentinel a database error maps onto, nil for none.
func sentinel(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	var pgErr pgdriver.Error
	if errors.As(err, &pgErr) {
		switch pgErr.Field('C') {
		case "23505", "23503", "23514", "23502", "23P01":
			return ErrConflict
		}
		return nil
	}
	var liteErr *sqlite.Error
	if errors.As(err, &liteErr) {
		switch liteErr.Code() {
		case sqliteConstraintUnique, sqliteConstraintPrimaryKey, sqliteConstraintForeignKey,
			sqliteConstraintCheck, sqliteConstraintNotNull, sqliteConstraint:
			return ErrConflict
		}
	}
	return nil
}

// IsUniqueViolation reports whether err is a unique (or primary key)
// violation, as opposed to another constraint.
func IsUniqueViolation(err error) bool {
	var pgErr pgdriver.Error
	if errors.As(err, &pgErr) {
		return pgErr.Field('C') == "23505"
	}
	var liteErr *sqlite.Error
	if errors.As(err, &liteErr) {
		c := liteErr.Code()
		return c == sqliteConstraintUnique || c == sqliteConstraintPrimaryKey
	}
	return false
}

func isNotFound(err error) bool { return errors.Is(err, ErrNotFound) }
