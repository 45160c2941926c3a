package api

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/sdk"
)

// mysqlBackedUp is a tenant with a completed snapshot of a mysql source on
// agent ag, and a second mysql source to restore into.
func (e *testEnv) mysqlBackedUp(name string) (a *tenantFixture, ag *agentFixture, snap, target string) {
	a, ag = e.newTenant(name), e.enrollAgent(name+"-agent")
	var shop, other sdk.Source
	e.call("POST", "/api/v1/sources", a.Owner, sdk.CreateSourceRequest{Type: sdk.SourceMySQL, Name: "shop",
		CredentialID: a.Credential, Config: json.RawMessage(`{"host":"db.example.com","username":"shop","databases":["shop"]}`)},
		201, &shop)
	e.call("POST", "/api/v1/sources", a.Owner, sdk.CreateSourceRequest{Type: sdk.SourceMySQL, Name: "other",
		CredentialID: a.Credential, Config: json.RawMessage(`{"host":"db2.example.com","username":"root","all_databases":true}`)},
		201, &other)
	e.call("POST", "/api/v1/jobs", a.Owner, sdk.CreateJobRequest{SourceID: shop.ID}, 201, nil)
	var cr sdk.ClaimResponse
	e.call("POST", "/api/v1/agent/jobs/claim", ag.Token, sdk.ClaimRequest{WaitSeconds: 1}, 200, &cr)
	require.NotNil(e.t, cr.Job)
	e.call("POST", "/api/v1/agent/jobs/"+cr.Job.ID+"/complete", ag.Token, sdk.CompleteRequest{LeaseEpoch: cr.Job.LeaseEpoch,
		Status: sdk.JobCompleted, Snapshot: &sdk.SnapshotReport{SHA256: strings.Repeat("cd", 32), LocalPath: "p",
			PlainBytes: 100, StartedAt: time.Now(), FinishedAt: time.Now()}}, 200, nil)
	return a, ag, cr.Job.SnapshotID, other.ID
}

func (e *testEnv) claim(ag *agentFixture, typ sdk.JobType) *sdk.ClaimedJob {
	e.t.Helper()
	var cr sdk.ClaimResponse
	e.call("POST", "/api/v1/agent/jobs/claim", ag.Token, sdk.ClaimRequest{WaitSeconds: 1}, 200, &cr)
	require.NotNil(e.t, cr.Job)
	require.Equal(e.t, typ, cr.Job.Type)
	return cr.Job
}

func TestVerifyRecordsVerdicts(t *testing.T) {
	forEachDialect(t, func(t *testing.T, e *testEnv) {
		a, ag, snap := e.backedUp("acme")
		path := "/api/v1/snapshots/" + snap + "/verify"
		e.apiErr("POST", path, a.Member, nil, 403)
		var job, again sdk.Job
		e.call("POST", path, a.Owner, nil, 201, &job)
		require.Equal(t, sdk.JobVerify, job.Type)
		require.Equal(t, ag.ID, job.TargetAgentID)
		e.call("POST", path, a.Admin, nil, 200, &again)
		require.Equal(t, job.ID, again.ID, "one active verify job per snapshot")
		e.apiErr("POST", "/api/v1/snapshots/"+snap+"/verify", e.newTenant("bravo").Owner, nil, 404)

		cj := e.claim(ag, sdk.JobVerify)
		var p sdk.VerifyPayload
		require.NoError(t, json.Unmarshal(cj.Payload, &p))
		require.Equal(t, strings.Repeat("ab", 32), p.SnapshotSHA256)
		// The tenant identity is released to verify jobs too (audited).
		e.call("POST", "/api/v1/agent/jobs/"+cj.ID+"/tenant-identity", ag.Token, sdk.LeaseRef{LeaseEpoch: cj.LeaseEpoch}, 200, nil)
		complete := "/api/v1/agent/jobs/" + cj.ID + "/complete"
		e.apiErr("POST", complete, ag.Token, sdk.CompleteRequest{LeaseEpoch: cj.LeaseEpoch, Status: sdk.JobCompleted,
			Verify: &sdk.VerifyReport{Status: "great"}}, 400)
		e.apiErr("POST", complete, ag.Token, sdk.CompleteRequest{LeaseEpoch: cj.LeaseEpoch, Status: sdk.JobCompleted}, 400)
		e.call("POST", complete, ag.Token, sdk.CompleteRequest{LeaseEpoch: cj.LeaseEpoch, Status: sdk.JobCompleted,
			Verify: &sdk.VerifyReport{Status: sdk.VerifyCorrupt, Message: "artifact damaged: sha256 mismatch"}}, 200, nil)

		var s sdk.Snapshot
		e.call("GET", "/api/v1/snapshots/"+snap, a.Member, nil, 200, &s)
		require.Equal(t, sdk.VerifyCorrupt, s.VerifyStatus)
		require.NotNil(t, s.VerifiedAt)
		require.Equal(t, "artifact damaged: sha256 mismatch", s.VerifyReport.Message)
		var j sdk.Job
		e.call("GET", "/api/v1/jobs/"+cj.ID, a.Member, nil, 200, &j)
		require.Equal(t, sdk.VerifyCorrupt, j.Verify.Status)
		var page sdk.Page[sdk.Snapshot]
		e.call("GET", "/api/v1/snapshots?failed_verify=true", a.Member, nil, 200, &page)
		require.Len(t, page.Items, 1)
		e.apiErr("GET", "/api/v1/snapshots?failed_verify=maybe", a.Member, nil, 400)
		var evs sdk.Page[sdk.AuditEvent]
		e.call("GET", "/api/v1/audit?action=snapshot.verify_corrupt", a.Owner, nil, 200, &evs)
		require.Len(t, evs.Items, 1)

		// A corrupt snapshot is no restore source without force.
		rp := "/api/v1/snapshots/" + snap + "/restore"
		require.Contains(t, e.apiErr("POST", rp, a.Owner, sdk.CreateRestoreRequest{}, 409).Message, "--force")
		e.call("POST", rp, a.Owner, sdk.CreateRestoreRequest{Force: true}, 201, nil)
	})
}

func TestDatabaseRestoreRequests(t *testing.T) {
	forEachDialect(t, func(t *testing.T, e *testEnv) {
		a, ag, snap, target := e.mysqlBackedUp("acme")
		rp := "/api/v1/snapshots/" + snap + "/restore"
		bad := func(req sdk.CreateRestoreRequest, field string) {
			t.Helper()
			er := e.apiErr("POST", rp, a.Owner, req, 400)
			require.Containsf(t, er.Fields, field, "%+v", er)
		}
		into := func(o sdk.DatabaseRestoreOptions) sdk.CreateRestoreRequest {
			return sdk.CreateRestoreRequest{IntoSourceID: target, DatabaseRestoreOptions: o}
		}
		bad(sdk.CreateRestoreRequest{DatabaseRestoreOptions: sdk.DatabaseRestoreOptions{As: "x"}}, "into_source_id")
		bad(sdk.CreateRestoreRequest{IntoSourceID: "nope"}, "into_source_id")
		bad(sdk.CreateRestoreRequest{IntoSourceID: a.Source}, "into_source_id") // an sftp source
		bad(sdk.CreateRestoreRequest{IntoSourceID: target, Paths: []string{"x"}}, "paths")
		bad(sdk.CreateRestoreRequest{IntoSourceID: target, Format: sdk.RestoreZip}, "format")
		bad(into(sdk.DatabaseRestoreOptions{As: "-x"}), "as")
		bad(into(sdk.DatabaseRestoreOptions{As: "mysql"}), "as")
		bad(into(sdk.DatabaseRestoreOptions{As: "x", Databases: []string{"a", "b"}}), "as")
		bad(into(sdk.DatabaseRestoreOptions{Databases: []string{"bad\nname"}}), "databases")
		bad(into(sdk.DatabaseRestoreOptions{KeepOwners: true}), "keep_owners")
		bad(into(sdk.DatabaseRestoreOptions{TablePrefix: "wp_"}), "table_prefix")
		// Another tenant's source is not a target.
		b := e.newTenant("bravo")
		var foreign sdk.Source
		e.call("POST", "/api/v1/sources", b.Owner, sdk.CreateSourceRequest{Type: sdk.SourceMySQL, Name: "x",
			CredentialID: b.Credential, Config: json.RawMessage(`{"host":"db.example.com","username":"u","databases":["d"]}`)},
			201, &foreign)
		bad(sdk.CreateRestoreRequest{IntoSourceID: foreign.ID}, "into_source_id")

		opts := sdk.DatabaseRestoreOptions{Databases: []string{"shop"}, As: "shop_restored", CreateDatabase: true}
		var r sdk.Restore
		e.call("POST", rp, a.Owner, into(opts), 201, &r)
		require.Equal(t, sdk.RestoreDatabase, r.Format)
		require.Equal(t, target, r.IntoSourceID)
		require.Equal(t, &opts, r.Options)

		// The agent holding the snapshot gets the target's connection and credentials.
		cj := e.claim(ag, sdk.JobRestore)
		require.Equal(t, target, cj.SourceID)
		require.Equal(t, sdk.SourceMySQL, cj.SourceType)
		require.Contains(t, string(cj.SourceConfig), "db2.example.com")
		var p sdk.RestorePayload
		require.NoError(t, json.Unmarshal(cj.Payload, &p))
		require.Equal(t, sdk.RestoreDatabase, p.Format)
		require.Equal(t, &opts, p.Database)
		require.Empty(t, p.TokenSHA256)
		var snapRow sdk.Snapshot
		e.call("GET", "/api/v1/snapshots/"+snap, a.Member, nil, 200, &snapRow)
		require.Equal(t, snapRow.SourceID, p.SnapshotSourceID)
		e.call("POST", "/api/v1/agent/jobs/"+cj.ID+"/credentials", ag.Token, sdk.LeaseRef{LeaseEpoch: cj.LeaseEpoch}, 200, nil)

		// A failed load reports what it did; the restore is failed with the tool's words.
		e.call("POST", "/api/v1/agent/jobs/"+cj.ID+"/complete", ag.Token, sdk.CompleteRequest{LeaseEpoch: cj.LeaseEpoch,
			Status: sdk.JobFailed, Permanent: true, ErrorMessage: "database shop_restored already exists; pass --replace",
			Restore: &sdk.RestoreReport{Databases: []sdk.DatabaseRestoreResult{{Database: "shop", Target: "shop_restored",
				Error: "database shop_restored already exists; pass --replace"}}}}, 200, nil)
		var got sdk.Restore
		e.call("GET", "/api/v1/restores/"+r.ID, a.Member, nil, 200, &got)
		require.Equal(t, sdk.RestoreFailed, got.Status)
		require.Contains(t, got.ErrorMessage, "--replace")
		require.Len(t, got.Databases, 1)

		// A completed one is ready with its results and no link.
		e.call("POST", rp, a.Owner, into(opts), 201, &r)
		cj = e.claim(ag, sdk.JobRestore)
		e.apiErr("POST", "/api/v1/agent/jobs/"+cj.ID+"/complete", ag.Token, sdk.CompleteRequest{LeaseEpoch: cj.LeaseEpoch,
			Status: sdk.JobCompleted, Restore: &sdk.RestoreReport{}}, 400)
		e.call("POST", "/api/v1/agent/jobs/"+cj.ID+"/complete", ag.Token, sdk.CompleteRequest{LeaseEpoch: cj.LeaseEpoch,
			Status: sdk.JobCompleted, Restore: &sdk.RestoreReport{Databases: []sdk.DatabaseRestoreResult{{Database: "shop",
				Target: "shop_restored", Tables: 3, Rows: 42, Seconds: 1.5}}}}, 200, nil)
		e.call("GET", "/api/v1/restores/"+r.ID, a.Member, nil, 200, &got)
		require.Equal(t, sdk.RestoreReady, got.Status)
		require.Empty(t, got.DownloadURL)
		require.EqualValues(t, 42, got.Databases[0].Rows)
	})
}
