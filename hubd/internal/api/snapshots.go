package api

import (
	"context"
	"net/http"

	"github.com/xvault/xvault/hubd/internal/store"
	"github.com/xvault/xvault/sdk"
)

// GET /api/v1/snapshots[?source_id=]
func (s *Server) listSnapshots(ctx context.Context, c *call) (int, any, error) {
	lp, err := listParams(c)
	if err != nil {
		return 0, nil, err
	}
	q := c.r.URL.Query()
	failed := false
	switch q.Get("failed_verify") {
	case "", "false", "0":
	case "true", "1":
		failed = true
	default:
		return 0, nil, fieldError("failed_verify", "must be true or false")
	}
	rows, next, err := store.ListSnapshots(ctx, s.db, c.tenantID, store.SnapshotListParams{
		ListParams: lp, SourceID: q.Get("source_id"), FailedVerify: failed})
	if err != nil {
		return 0, nil, wrapf(err, "list snapshots")
	}
	return http.StatusOK, page(rows, next, snapshotOut), nil
}

// GET /api/v1/snapshots/{id}
func (s *Server) getSnapshot(ctx context.Context, c *call) (int, any, error) {
	snap, err := store.GetSnapshot(ctx, s.db, c.tenantID, c.r.PathValue("id"))
	if err != nil {
		return 0, nil, wrapf(notFoundAs(err, "snapshot"), "get snapshot")
	}
	return http.StatusOK, snapshotOut(snap), nil
}

func snapshotOut(s *store.Snapshot) sdk.Snapshot { return store.SnapshotView(s) }
