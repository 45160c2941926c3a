package store

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"
)

// ErrInvalidArgument: a parameter the caller passed cannot be used (a
// malformed list cursor, an unknown completion status). API: 400.
var ErrInvalidArgument = errors.New("invalid argument")

// Page sizes of list functions.
const (
	DefaultListLimit = 50
	MaxListLimit     = 500
)

// ListParams: keyset pagination ordered by (created_at DESC, id DESC);
// Cursor is opaque (encode created_at+id).
type ListParams struct {
	Limit  int // 0 = DefaultListLimit, capped at MaxListLimit
	Cursor string
}

func (p ListParams) limit() int {
	switch {
	case p.Limit <= 0:
		return DefaultListLimit
	case p.Limit > MaxListLimit:
		return MaxListLimit
	}
	return p.Limit
}

func encodeCursor(at time.Time, id string) string {
	raw := at.UTC().Format(time.RFC3339Nano) + "|" + id
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

func decodeCursor(c string) (time.Time, string, error) {
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return time.Time{}, "", fmt.Errorf("%w: malformed cursor", ErrInvalidArgument)
	}
	ts, id, ok := strings.Cut(string(raw), "|")
	at, perr := time.Parse(time.RFC3339Nano, ts)
	if !ok || perr != nil || id == "" {
		return time.Time{}, "", fmt.Errorf("%w: malformed cursor", ErrInvalidArgument)
	}
	return at.UTC(), id, nil
}

// listPage runs a keyset-paginated select of T (newest first) with the
// filters added by filter, and returns the page plus the next cursor ("" on
// the last page). key gives a row's (created_at, id).
func listPage[T any](
	ctx context.Context, db bun.IDB, p ListParams, doing string,
	key func(*T) (time.Time, string), filter func(*bun.SelectQuery) *bun.SelectQuery,
) ([]T, string, error) {
	limit := p.limit()
	rows := make([]T, 0, limit+1)
	q := db.NewSelect().Model(&rows)
	if filter != nil {
		q = filter(q)
	}
	if p.Cursor != "" {
		at, id, err := decodeCursor(p.Cursor)
		if err != nil {
			return nil, "", fmt.Errorf("%s: %w", doing, err)
		}
		q = q.Where("(?TableAlias.created_at < ? OR (?TableAlias.created_at = ? AND ?TableAlias.id < ?))", at, at, id)
	}
	q = q.OrderExpr("?TableAlias.created_at DESC, ?TableAlias.id DESC").Limit(int64(limit + 1))
	if err := q.Scan(ctx); err != nil {
		return nil, "", mapErr(doing, err)
	}
	next := ""
	if len(rows) > limit {
		rows = rows[:limit]
		next = encodeCursor(key(&rows[limit-1]))
	}
	return rows, next, nil
}
