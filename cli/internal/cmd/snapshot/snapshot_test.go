package snapshot

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/cli/internal/cmdutil"
	"github.com/xvault/xvault/cli/internal/output"
	"github.com/xvault/xvault/sdk"
)

// chainHub serves three snapshots: snp_c (incremental of snp_b, of the full snp_a).
func chainHub(t *testing.T) *httptest.Server {
	now := time.Date(2026, 11, 20, 2, 0, 0, 0, time.UTC)
	snaps := map[string]sdk.Snapshot{
		"snp_a": {ID: "snp_a", SourceID: "src_1", Kind: sdk.SnapshotFull, ChainLength: 1, ChainBytes: 1000, SizeBytes: 1000, CreatedAt: now},
		"snp_b": {ID: "snp_b", SourceID: "src_1", Kind: sdk.SnapshotIncremental, ParentSnapshotID: "snp_a", ChainLength: 2, ChainBytes: 1100,
			SizeBytes: 100, CreatedAt: now},
		"snp_c": {ID: "snp_c", SourceID: "src_1", Kind: sdk.SnapshotIncremental, ParentSnapshotID: "snp_b", ChainLength: 3, ChainBytes: 1150,
			SizeBytes: 50, CreatedAt: now},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/snapshots/{id}", func(w http.ResponseWriter, r *http.Request) {
		s, ok := snaps[r.PathValue("id")]
		if !ok {
			w.WriteHeader(404)
			_, _ = w.Write([]byte(`{"error":{"code":"not_found","message":"snapshot not found"}}`))
			return
		}
		_ = json.NewEncoder(w).Encode(s)
	})
	mux.HandleFunc("GET /api/v1/snapshots", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(sdk.Page[sdk.Snapshot]{Items: []sdk.Snapshot{snaps["snp_c"], snaps["snp_a"]}})
	})
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	return ts
}

func deps(ts *httptest.Server, format output.Format, out *bytes.Buffer) cmdutil.Deps {
	return cmdutil.Deps{Client: sdk.New(ts.URL, "tok"), Out: &output.Printer{Format: format, Out: out,
		Now: func() time.Time { return time.Date(2026, 11, 20, 3, 0, 0, 0, time.UTC) }}}
}

func TestShowPrintsTheChain(t *testing.T) {
	t.Parallel()
	ts := chainHub(t)
	var out bytes.Buffer
	require.NoError(t, showRun(context.Background(), &cmdutil.IDOptions{Deps: deps(ts, output.FormatTable, &out), ID: "snp_c"}))
	for _, want := range []string{"Kind", "incremental", "Parent", "snp_b", "Chain length", "3",
		"Chain bytes", "(1150 bytes, encrypted)", "Chain", "snp_c snp_b snp_a"} {
		require.Contains(t, out.String(), want)
	}
	out.Reset()
	require.NoError(t, showRun(context.Background(), &cmdutil.IDOptions{Deps: deps(ts, output.FormatTable, &out), ID: "snp_a"}))
	require.Regexp(t, `Kind:\s+full`, out.String())
	require.Regexp(t, `Parent:\s+-`, out.String())

	out.Reset()
	require.NoError(t, showRun(context.Background(), &cmdutil.IDOptions{Deps: deps(ts, output.FormatJSON, &out), ID: "snp_c"}))
	var v map[string]any
	require.NoError(t, json.Unmarshal(out.Bytes(), &v))
	require.Equal(t, "incremental", v["kind"])
	require.Equal(t, "snp_b", v["parent_snapshot_id"])
	require.EqualValues(t, 3, v["chain_length"])
	require.EqualValues(t, 1150, v["chain_bytes"])
}

func TestListHasKindColumn(t *testing.T) {
	t.Parallel()
	ts := chainHub(t)
	var out bytes.Buffer
	require.NoError(t, listRun(context.Background(), &listOptions{Deps: deps(ts, output.FormatTable, &out)}))
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Len(t, lines, 3)
	require.Regexp(t, `^ID\s+SOURCE\s+KIND\s+STATUS`, lines[0])
	require.Regexp(t, `^snp_c\s+src_1\s+incr\s`, lines[1])
	require.Regexp(t, `^snp_a\s+src_1\s+full\s`, lines[2])
}
