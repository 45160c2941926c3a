package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"filippo.io/age/armor"
	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/sdk"
)

// backedUp is a tenant with a completed snapshot on agent ag.
func (e *testEnv) backedUp(name string) (*tenantFixture, *agentFixture, string) {
	a, ag := e.newTenant(name), e.enrollAgent(name+"-agent")
	cj := e.claimOne(a, ag)
	e.call("POST", "/api/v1/agent/jobs/"+cj.ID+"/complete", ag.Token, sdk.CompleteRequest{LeaseEpoch: cj.LeaseEpoch,
		Status: sdk.JobCompleted, Snapshot: &sdk.SnapshotReport{SHA256: strings.Repeat("ab", 32), LocalPath: "p",
			PlainBytes: 100, StartedAt: time.Now(), FinishedAt: time.Now()}}, 200, nil)
	return a, ag, cj.SnapshotID
}

func (e *testEnv) claimRestore(ag *agentFixture) (*sdk.ClaimedJob, sdk.RestorePayload) {
	var cr sdk.ClaimResponse
	e.call("POST", "/api/v1/agent/jobs/claim", ag.Token, sdk.ClaimRequest{WaitSeconds: 1}, 200, &cr)
	require.NotNil(e.t, cr.Job)
	require.Equal(e.t, sdk.JobRestore, cr.Job.Type)
	var p sdk.RestorePayload
	require.NoError(e.t, json.Unmarshal(cr.Job.Payload, &p))
	return cr.Job, p
}

func TestRestoreLifecycle(t *testing.T) {
	forEachDialect(t, func(t *testing.T, e *testEnv) {
		a, ag, snap := e.backedUp("acme")
		path := "/api/v1/snapshots/" + snap + "/restore"
		e.apiErr("POST", path, a.Member, sdk.CreateRestoreRequest{}, 403)
		require.Contains(t, e.apiErr("POST", path, a.Owner, sdk.CreateRestoreRequest{ExpiresIn: "3h"}, 400).Fields["expires_in"],
			"download_expiration_hours")
		e.apiErr("POST", path, a.Owner, sdk.CreateRestoreRequest{Format: "rar"}, 400)
		e.apiErr("POST", path, a.Owner, sdk.CreateRestoreRequest{Paths: []string{"../x"}}, 400)

		var r sdk.Restore
		e.call("POST", path, a.Owner, sdk.CreateRestoreRequest{Format: sdk.RestoreTarZst, ExpiresIn: "30m",
			Paths: []string{"/var/www/"}}, 201, &r)
		require.Equal(t, sdk.RestorePending, r.Status)
		require.Equal(t, []string{"var/www"}, r.Paths)
		cj, p := e.claimRestore(ag)
		require.Equal(t, r.ID, p.RestoreID)
		require.Equal(t, strings.Repeat("ab", 32), p.SnapshotSHA256)
		require.EqualValues(t, 1800, p.ExpiresInSeconds)
		require.EqualValues(t, 5000<<20, p.MaxBytes)
		require.Len(t, p.TokenSHA256, 64)

		// The tenant identity goes to the lease holder only, encrypted to it.
		other := e.enrollAgent("other")
		e.apiErr("POST", "/api/v1/agent/jobs/"+cj.ID+"/tenant-identity", other.Token, sdk.LeaseRef{LeaseEpoch: cj.LeaseEpoch}, 409)
		var rel sdk.TenantIdentityRelease
		e.call("POST", "/api/v1/agent/jobs/"+cj.ID+"/tenant-identity", ag.Token, sdk.LeaseRef{LeaseEpoch: cj.LeaseEpoch}, 200, &rel)
		dec, err := age.Decrypt(armor.NewReader(strings.NewReader(rel.Ciphertext)), ag.Identity)
		require.NoError(t, err)
		raw, _ := io.ReadAll(dec)
		id, err := age.ParseX25519Identity(strings.TrimSpace(string(raw)))
		require.NoError(t, err)
		require.Equal(t, cj.TenantRecipient, id.Recipient().String())

		var got sdk.Restore
		e.call("GET", "/api/v1/restores/"+r.ID, a.Member, nil, 200, &got)
		require.Equal(t, sdk.RestoreRunning, got.Status)
		exp := time.Now().Add(30 * time.Minute).UTC()
		e.call("POST", "/api/v1/agent/jobs/"+cj.ID+"/complete", ag.Token, sdk.CompleteRequest{LeaseEpoch: cj.LeaseEpoch,
			Status: sdk.JobCompleted, Restore: &sdk.RestoreReport{SizeBytes: 123, FileName: "f.tar.zst",
				URLBase: "http://agent.example:8082", ExpiresAt: exp}}, 200, nil)
		e.call("GET", "/api/v1/restores/"+r.ID, a.Member, nil, 200, &got)
		require.Equal(t, sdk.RestoreReady, got.Status)
		require.EqualValues(t, 123, got.SizeBytes)
		prefix := "http://agent.example:8082/download/"
		require.True(t, strings.HasPrefix(got.DownloadURL, prefix), got.DownloadURL)
		token := strings.TrimPrefix(got.DownloadURL, prefix)
		sum := sha256.Sum256([]byte(token))
		require.Equal(t, p.TokenSHA256, hex.EncodeToString(sum[:]))
		e.requireNoToken(token)

		var page sdk.Page[sdk.Restore]
		e.call("GET", "/api/v1/restores?snapshot_id="+snap, a.Owner, nil, 200, &page)
		require.Len(t, page.Items, 1)
		require.Equal(t, got.DownloadURL, page.Items[0].DownloadURL)

		b := e.newTenant("bravo")
		e.apiErr("GET", "/api/v1/restores/"+r.ID, b.Owner, nil, 404)

		// Downloads are audited for the restore's tenant; only its agent may report them.
		e.apiErr("POST", "/api/v1/agent/restores/"+r.ID+"/downloads", other.Token,
			sdk.DownloadReport{RemoteAddr: "203.0.113.9", Bytes: 123, Status: 200}, 404)
		e.call("POST", "/api/v1/agent/restores/"+r.ID+"/downloads", ag.Token,
			sdk.DownloadReport{RemoteAddr: "203.0.113.9", Bytes: 123, Status: 200}, 204, nil)
		var evs sdk.Page[sdk.AuditEvent]
		e.call("GET", "/api/v1/audit?action=restore.download", a.Owner, nil, 200, &evs)
		require.Len(t, evs.Items, 1)
		require.Equal(t, "203.0.113.9", evs.Items[0].RemoteAddr)
		e.call("GET", "/api/v1/audit?action=tenant_key.release", a.Owner, nil, 200, &evs)
		require.Len(t, evs.Items, 1)
	})
}

// requireNoToken scans every text and blob column of the tables that could
// hold a download token.
func (e *testEnv) requireNoToken(token string) {
	for _, tbl := range []string{"restores", "jobs", "audit_events"} {
		var rows []map[string]any
		require.NoError(e.t, e.db.NewSelect().Table(tbl).Scan(context.Background(), &rows))
		for _, row := range rows {
			for col, v := range row {
				s := fmt.Sprintf("%s", v)
				require.NotContains(e.t, s, token, "%s.%s holds the raw token", tbl, col)
				require.NotContains(e.t, s, token[4:], "%s.%s holds the raw token", tbl, col)
			}
		}
	}
}

func TestRestoreFailureAndSettings(t *testing.T) {
	forEachDialect(t, func(t *testing.T, e *testEnv) {
		a, ag, snap := e.backedUp("acme")
		var r sdk.Restore
		e.call("POST", "/api/v1/snapshots/"+snap+"/restore", a.Owner, sdk.CreateRestoreRequest{}, 201, &r)
		cj, _ := e.claimRestore(ag)
		e.call("POST", "/api/v1/agent/jobs/"+cj.ID+"/complete", ag.Token, sdk.CompleteRequest{LeaseEpoch: cj.LeaseEpoch,
			Status: sdk.JobFailed, Permanent: true, ErrorMessage: "artifact sha256 mismatch"}, 200, nil)
		var got sdk.Restore
		e.call("GET", "/api/v1/restores/"+r.ID, a.Owner, nil, 200, &got)
		require.Equal(t, sdk.RestoreFailed, got.Status)
		require.Equal(t, "artifact sha256 mismatch", got.ErrorMessage)
		require.Empty(t, got.DownloadURL)

		var list sdk.Page[sdk.Setting]
		e.call("GET", "/api/v1/admin/settings", e.admin, nil, 200, &list)
		require.Len(t, list.Items, 2)
		e.apiErr("PUT", "/api/v1/admin/settings/download_expiration_hours", a.Owner, sdk.PutSettingRequest{Value: "2"}, 403)
		e.apiErr("PUT", "/api/v1/admin/settings/download_expiration_hours", e.admin, sdk.PutSettingRequest{Value: "abc"}, 400)
		e.apiErr("PUT", "/api/v1/admin/settings/nope", e.admin, sdk.PutSettingRequest{Value: "1"}, 404)
		var s sdk.Setting
		e.call("PUT", "/api/v1/admin/settings/download_expiration_hours", e.admin, sdk.PutSettingRequest{Value: "2"}, 200, &s)
		require.Equal(t, "2", s.Value)
		e.call("PUT", "/api/v1/admin/settings/max_download_size_mb", e.admin, sdk.PutSettingRequest{Value: "7"}, 200, &s)
		e.call("GET", "/api/v1/admin/settings/download_expiration_hours", e.admin, nil, 200, &s)
		require.Equal(t, "2", s.Value)
		// The next claim carries the new values.
		e.call("POST", "/api/v1/snapshots/"+snap+"/restore", a.Owner, sdk.CreateRestoreRequest{ExpiresIn: "90m"}, 201, &r)
		_, p := e.claimRestore(ag)
		require.EqualValues(t, 90*60, p.ExpiresInSeconds)
		require.EqualValues(t, 7<<20, p.MaxBytes)
	})
}
