package api

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/sdk"
)

// TestStorageTargetTestJob: `xv storage test` queues a sourceless
// test_connection job that only a storage:s3 agent claims, with the
// target's lease and key and nothing else; another tenant cannot test it.
func TestStorageTargetTestJob(t *testing.T) {
	forEachDialect(t, func(t *testing.T, e *testEnv) {
		a, b := e.newTenant("acme"), e.newTenant("beta")
		_, target := e.newS3Target(a.Owner, "", "b1")
		require.Equal(t, sdk.CodeConflict, e.apiErr("POST", "/api/v1/storage-targets/"+target+"/test", a.Owner, nil, 409).Code,
			"no agent can reach object storage yet")
		plain, s3a := e.enrollAgent("plain"), e.enrollS3Agent("s3-a")
		e.apiErr("POST", "/api/v1/storage-targets/"+target+"/test", b.Owner, nil, 404)
		e.apiErr("POST", "/api/v1/storage-targets/"+target+"/test", a.Member, nil, 403)

		var job sdk.Job
		e.call("POST", "/api/v1/storage-targets/"+target+"/test", a.Owner, nil, 201, &job)
		require.Equal(t, sdk.JobTestConnection, job.Type)
		require.Equal(t, target, job.StorageTargetID)
		require.Empty(t, job.SourceID)
		require.Nil(t, e.tryClaim(plain), "an agent without storage:s3 cannot test a bucket")
		cj := e.tryClaim(s3a)
		require.NotNil(t, cj)
		require.Equal(t, target, cj.StorageTargetID)
		require.Equal(t, target, cj.Storage.TargetID)
		require.Empty(t, cj.SourceID)
		var rel sdk.CredentialRelease
		e.call("POST", "/api/v1/agent/jobs/"+cj.ID+"/credentials", s3a.Token, sdk.LeaseRef{LeaseEpoch: cj.LeaseEpoch}, 200, &rel)
		secrets := decryptRelease(t, s3a.Identity, rel)
		require.Empty(t, secrets.Password)
		require.Equal(t, testSecretKey, secrets.Storage.SecretAccessKey)

		rep := &sdk.TestReport{OK: false, Checks: []sdk.TestCheck{{Name: "bucket, write, read, delete", Detail: "access denied"}}}
		e.call("POST", "/api/v1/agent/jobs/"+cj.ID+"/complete", s3a.Token, sdk.CompleteRequest{LeaseEpoch: cj.LeaseEpoch,
			Status: sdk.JobCompleted, Test: rep}, 200, &job)
		e.call("GET", "/api/v1/jobs/"+job.ID, a.Member, nil, 200, &job)
		require.Equal(t, rep, job.Test)

		// A platform target is tested for a named tenant.
		_, shared := e.platformTarget("shared")
		e.apiErr("POST", "/api/v1/storage-targets/"+shared+"/test", e.admin, nil, 400)
		e.call("POST", "/api/v1/storage-targets/"+shared+"/test?tenant_id="+b.ID, e.admin, nil, 201, &job)
		require.Equal(t, b.ID, job.TenantID)
	})
}

// TestCopyRouteRefusals: the copy route checks its body and says why a
// move cannot run.
func TestCopyRouteRefusals(t *testing.T) {
	forEachDialect(t, func(t *testing.T, e *testEnv) {
		a := e.newTenant("acme")
		_, target := e.newS3Target(a.Owner, "", "b1")
		e.apiErr("POST", "/api/v1/snapshots/nope/copy", a.Owner, sdk.CopySnapshotRequest{}, 400)
		e.apiErr("POST", "/api/v1/snapshots/nope/copy", a.Owner, sdk.CopySnapshotRequest{ToStorageID: target, Move: true}, 404)
		e.apiErr("POST", "/api/v1/snapshots/nope/copy", a.Member, sdk.CopySnapshotRequest{ToStorageID: target, Move: true}, 403)
	})
}
