package api

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/hubd/internal/keys"
	"github.com/xvault/xvault/hubd/internal/store"
	"github.com/xvault/xvault/sdk"
)

// testPresigned looks like a presigned GET URL of the test target; its
// signature is what must never be stored in clear.
const testPresigned = "http://127.0.0.1:7070/xvault-test/backups/restores/t/r.1/restore-r.zip?X-Amz-Algorithm=AWS4-HMAC-SHA256" +
	"&X-Amz-Credential=AKIA%2F20260101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20260101T000000Z&X-Amz-Expires=3600" +
	"&X-Amz-SignedHeaders=host&X-Amz-Signature=5f1e0c9d3b7a4e2f8c6d1a0b9e8f7d6c5b4a3928171615141312111009080706"

const testSignature = "5f1e0c9d3b7a4e2f8c6d1a0b9e8f7d6c5b4a3928171615141312111009080706"

// TestRestoreDownloadVia: the field's default follows where the snapshot
// is kept, bucket is refused for a local_fs snapshot and a database
// restore, and the payload carries it.
func TestRestoreDownloadVia(t *testing.T) {
	forEachDialect(t, func(t *testing.T, e *testEnv) {
		a, ag, snap := e.backedUp("acme")
		path := "/api/v1/snapshots/" + snap + "/restore"
		er := e.apiErr("POST", path, a.Owner, sdk.CreateRestoreRequest{DownloadVia: sdk.DownloadViaBucket}, 400)
		require.Contains(t, er.Fields["download_via"], "S3 storage target")
		er = e.apiErr("POST", path, a.Owner, sdk.CreateRestoreRequest{DownloadVia: "hub"}, 400)
		require.Contains(t, er.Fields["download_via"], "bucket or agent")
		er = e.apiErr("POST", path, a.Owner, sdk.CreateRestoreRequest{IntoSourceID: a.Source,
			DownloadVia: sdk.DownloadViaBucket}, 400)
		require.Contains(t, er.Fields["download_via"], "not for a restore into a database")
		require.Zero(t, e.count("restores"))

		var local sdk.Restore
		e.call("POST", path, a.Owner, sdk.CreateRestoreRequest{}, 201, &local)
		require.Equal(t, sdk.DownloadViaAgent, local.DownloadVia)
		_, p := e.claimRestore(ag)
		require.Equal(t, sdk.DownloadViaAgent, p.DownloadVia)

		e.moveToS3(a, snap)
		var r sdk.Restore
		e.call("POST", path, a.Owner, sdk.CreateRestoreRequest{}, 201, &r)
		require.Equal(t, sdk.DownloadViaBucket, r.DownloadVia)
		var viaAgent sdk.Restore
		e.call("POST", path, a.Owner, sdk.CreateRestoreRequest{DownloadVia: sdk.DownloadViaAgent}, 201, &viaAgent)
		require.Equal(t, sdk.DownloadViaAgent, viaAgent.DownloadVia)
	})
}

// moveToS3 records the tenant's snapshot as kept in a new S3 target and
// lets every agent claim S3 jobs.
func (e *testEnv) moveToS3(a *tenantFixture, snap string) string {
	e.t.Helper()
	_, target := e.newS3Target(a.Owner, "", "primary")
	_, err := e.db.NewUpdate().Table("snapshots").Set("storage_target_id = ?", target).
		Set("storage_backend = ?", sdk.StorageBackendS3).Where("id = ?", snap).Exec(context.Background())
	require.NoError(e.t, err)
	return target
}

// TestBucketRestoreLinkSealed: a bucket restore completes with a presigned
// URL only (no URL base), which is shown while ready and unexpired and is
// stored only sealed with the KEK, bound to the tenant and restore.
func TestBucketRestoreLinkSealed(t *testing.T) {
	forEachDialect(t, func(t *testing.T, e *testEnv) {
		a, ag, snap := e.backedUp("acme")
		e.moveToS3(a, snap)
		e.heartbeat(ag, sdk.HeartbeatRequest{Capabilities: []string{"backup:sftp", sdk.CapabilityStorageS3}})
		var r sdk.Restore
		e.call("POST", "/api/v1/snapshots/"+snap+"/restore", a.Owner, sdk.CreateRestoreRequest{ExpiresIn: "1h"}, 201, &r)
		cj, p := e.claimRestore(ag)
		require.Equal(t, sdk.DownloadViaBucket, p.DownloadVia)
		complete := func(rep sdk.RestoreReport, status int) *sdk.Error {
			req := sdk.CompleteRequest{LeaseEpoch: cj.LeaseEpoch, Status: sdk.JobCompleted, Restore: &rep}
			if status != 200 {
				return e.apiErr("POST", "/api/v1/agent/jobs/"+cj.ID+"/complete", ag.Token, req, status)
			}
			e.call("POST", "/api/v1/agent/jobs/"+cj.ID+"/complete", ag.Token, req, 200, nil)
			return nil
		}
		exp := time.Now().Add(time.Hour).UTC()
		base := sdk.RestoreReport{SizeBytes: 42, FileName: "restore-" + r.ID + ".zip", ExpiresAt: exp}
		for name, tc := range map[string]struct {
			mod   func(*sdk.RestoreReport)
			field string
		}{
			"no url":        {func(rep *sdk.RestoreReport) {}, "restore.download_url"},
			"url base":      {func(rep *sdk.RestoreReport) { rep.DownloadURL, rep.URLBase = testPresigned, "http://a:1" }, "restore.url_base"},
			"not http":      {func(rep *sdk.RestoreReport) { rep.DownloadURL = "file:///etc/passwd" }, "restore.download_url"},
			"no host":       {func(rep *sdk.RestoreReport) { rep.DownloadURL = "https:///x" }, "restore.download_url"},
			"way too long":  {func(rep *sdk.RestoreReport) { rep.DownloadURL = testPresigned + strings.Repeat("a", 8192) }, "restore.download_url"},
			"no expiry":     {func(rep *sdk.RestoreReport) { rep.DownloadURL, rep.ExpiresAt = testPresigned, time.Time{} }, "restore.expires_at"},
			"negative size": {func(rep *sdk.RestoreReport) { rep.DownloadURL, rep.SizeBytes = testPresigned, -1 }, "restore.size_bytes"},
		} {
			rep := base
			tc.mod(&rep)
			er := complete(rep, 400)
			require.Containsf(t, er.Fields, tc.field, "%s: %+v", name, er)
		}
		var got sdk.Restore
		e.call("GET", "/api/v1/restores/"+r.ID, a.Member, nil, 200, &got)
		require.Equal(t, sdk.RestoreRunning, got.Status, "refused completions changed nothing")
		require.Empty(t, got.DownloadURL)

		rep := base
		rep.DownloadURL = testPresigned
		complete(rep, 200)
		e.call("GET", "/api/v1/restores/"+r.ID, a.Member, nil, 200, &got)
		require.Equal(t, sdk.RestoreReady, got.Status)
		require.Equal(t, testPresigned, got.DownloadURL)
		require.Equal(t, sdk.DownloadViaBucket, got.DownloadVia)
		require.EqualValues(t, 42, got.SizeBytes)
		require.WithinDuration(t, exp, *got.ExpiresAt, time.Millisecond)
		var page sdk.Page[sdk.Restore]
		e.call("GET", "/api/v1/restores?snapshot_id="+snap, a.Owner, nil, 200, &page)
		require.Equal(t, testPresigned, page.Items[0].DownloadURL)
		e.requireNoPresigned()

		// sealed with AD = (tenant, restore): it opens for this restore only
		row, err := store.GetRestore(context.Background(), e.db, a.ID, r.ID)
		require.NoError(t, err)
		require.NotNil(t, row.URLKEKID)
		require.Nil(t, row.DownloadURL, "no URL base for a bucket restore")
		plain, err := e.srv.cfg.Keys.Open(row.URLSealed, keys.DownloadURLAD(a.ID, r.ID), *row.URLKEKID)
		require.NoError(t, err)
		require.Equal(t, testPresigned, string(plain))
		_, err = e.srv.cfg.Keys.Open(row.URLSealed, keys.DownloadURLAD(a.ID, "other"), *row.URLKEKID)
		require.Error(t, err)
		_, err = e.srv.cfg.Keys.Open(row.URLSealed, keys.DownloadTokenAD(a.ID, r.ID), *row.URLKEKID)
		require.Error(t, err)

		// past its expiry the restore is expired and shows no link
		e.srv.cfg.Now = func() time.Time { return exp.Add(time.Second) }
		var expired sdk.Restore
		e.call("GET", "/api/v1/restores/"+r.ID, a.Member, nil, 200, &expired)
		require.Equal(t, sdk.RestoreExpired, expired.Status)
		require.Empty(t, expired.DownloadURL)
	})
}

// TestAgentRestoreRefusesPresignedURL: an agent-served restore takes no
// download_url, and a failed job reports none.
func TestAgentRestoreRefusesPresignedURL(t *testing.T) {
	forEachDialect(t, func(t *testing.T, e *testEnv) {
		a, ag, snap := e.backedUp("acme")
		e.call("POST", "/api/v1/snapshots/"+snap+"/restore", a.Owner, sdk.CreateRestoreRequest{}, 201, nil)
		cj, _ := e.claimRestore(ag)
		url := "/api/v1/agent/jobs/" + cj.ID + "/complete"
		er := e.apiErr("POST", url, ag.Token, sdk.CompleteRequest{LeaseEpoch: cj.LeaseEpoch, Status: sdk.JobCompleted,
			Restore: &sdk.RestoreReport{SizeBytes: 1, FileName: "f.zip", URLBase: "http://agent.example:8082",
				DownloadURL: testPresigned, ExpiresAt: time.Now().Add(time.Hour)}}, 400)
		require.Contains(t, er.Fields, "restore.download_url")
		er = e.apiErr("POST", url, ag.Token, sdk.CompleteRequest{LeaseEpoch: cj.LeaseEpoch, Status: sdk.JobFailed,
			ErrorMessage: "x", Restore: &sdk.RestoreReport{DownloadURL: testPresigned}}, 400)
		require.Contains(t, er.Fields, "restore")
		e.requireNoPresigned()
	})
}

// requireNoPresigned scans the tables a restore's link could end up in.
func (e *testEnv) requireNoPresigned() {
	for _, tbl := range []string{"restores", "jobs", "audit_events", "events"} {
		var rows []map[string]any
		require.NoError(e.t, e.db.NewSelect().Table(tbl).Scan(context.Background(), &rows))
		for _, row := range rows {
			for col, v := range row {
				s := fmt.Sprintf("%s", v)
				require.NotContains(e.t, s, testSignature, "%s.%s holds the presigned URL", tbl, col)
				require.NotContains(e.t, s, "X-Amz-", "%s.%s holds the presigned URL", tbl, col)
			}
		}
	}
}
