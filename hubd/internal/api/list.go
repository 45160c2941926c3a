package api

import (
	"strconv"

	"github.com/xvault/xvault/hubd/internal/store"
	"github.com/xvault/xvault/sdk"
)

const (
	defaultLimit = 100
	maxLimit     = 500
)

// listParams reads ?limit= and ?cursor=.
func listParams(c *call) (store.ListParams, error) {
	q := c.r.URL.Query()
	p := store.ListParams{Limit: defaultLimit, Cursor: q.Get("cursor")}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxLimit {
			return p, fieldError("limit", "must be an integer 1-500")
		}
		p.Limit = n
	}
	return p, nil
}

// page converts one page of rows into a Page of API objects.
func page[R, T any](rows []R, next string, conv func(*R) T) sdk.Page[T] {
	items := make([]T, 0, len(rows))
	for i := range rows {
		items = append(items, conv(&rows[i]))
	}
	return sdk.Page[T]{Items: items, NextCursor: next}
}
