package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/sdk"
)

func TestReport(t *testing.T) {
	now := time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC)
	snaps := map[string][]sdk.Snapshot{
		"fresh": {{ID: "s1", Status: sdk.SnapshotCompleted, CreatedAt: now.Add(-2 * time.Hour)}},
		"old":   {{ID: "s2", Status: sdk.SnapshotFailed, CreatedAt: now.Add(-time.Hour)}, {ID: "s3", Status: sdk.SnapshotCompleted, CreatedAt: now.Add(-50 * time.Hour)}},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.Equal(t, "ten_1", r.URL.Query().Get("tenant_id"))
		switch r.URL.Path {
		case "/api/v1/sources":
			_ = json.NewEncoder(w).Encode(sdk.Page[sdk.Source]{Items: []sdk.Source{
				{ID: "fresh", Name: "web1", Status: sdk.SourceActive},
				{ID: "old", Name: "db1", Status: sdk.SourceActive},
				{ID: "never", Name: "new", Status: sdk.SourceActive},
				{ID: "off", Name: "retired", Status: sdk.SourceDisabled},
			}})
		case "/api/v1/snapshots":
			_ = json.NewEncoder(w).Encode(sdk.Page[sdk.Snapshot]{Items: snaps[r.URL.Query().Get("source_id")]})
		}
	}))
	defer srv.Close()

	var out strings.Builder
	stale, err := report(context.Background(), &out, sdk.New(srv.URL, "tok", sdk.WithTenant("ten_1")), 26*time.Hour, now)
	require.NoError(t, err)
	require.Equal(t, 2, stale, out.String())
	require.Regexp(t, `fresh\s+web1\s+active\s+s1\s+2h0m0s\s+ok`, out.String())
	require.Regexp(t, `old\s+db1\s+active\s+s3\s+50h0m0s\s+STALE`, out.String())
	require.Contains(t, out.String(), "STALE: never backed up")
	require.Contains(t, out.String(), "disabled (not checked)")
}
