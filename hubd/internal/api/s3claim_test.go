package api

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/sdk"
)

// enrollS3Agent enrolls an agent that advertises sdk.CapabilityStorageS3.
func (e *testEnv) enrollS3Agent(name string) *agentFixture {
	e.t.Helper()
	var et sdk.CreatedEnrollmentToken
	e.call("POST", "/api/v1/agents/enrollment-tokens", e.admin, sdk.CreateEnrollmentTokenRequest{}, 201, &et)
	id, err := age.GenerateX25519Identity()
	require.NoError(e.t, err)
	var resp sdk.EnrollResponse
	e.call("POST", "/api/v1/agent/enroll", et.Token, sdk.EnrollRequest{Name: name, PublicKey: id.Recipient().String(),
		Capabilities: []string{sdk.CapabilityStorageS3}}, 201, &resp)
	return &agentFixture{ID: resp.AgentID, Token: resp.Token, Identity: id}
}

// tryClaim claims with a one-second wait; nil when nothing was handed out.
func (e *testEnv) tryClaim(ag *agentFixture) *sdk.ClaimedJob {
	e.t.Helper()
	var cr sdk.ClaimResponse
	e.call("POST", "/api/v1/agent/jobs/claim", ag.Token, sdk.ClaimRequest{WaitSeconds: 1}, 200, &cr)
	return cr.Job
}

func s3Report(targetID string) *sdk.SnapshotReport {
	return &sdk.SnapshotReport{SizeBytes: 10, PlainBytes: 20, FileCount: 2, SHA256: strings.Repeat("ab", 32),
		LocalPath: "tenants/x/sources/y/snapshots/z/", Manifest: json.RawMessage(`{"files":2}`),
		StartedAt: time.Now().Add(-time.Minute), FinishedAt: time.Now(), StorageTargetID: targetID}
}

// TestS3JobsGoToCapableAgents: a backup to an s3 target and the jobs on its
// snapshot are claimed only by agents advertising storage:s3, by any of
// them, with the target in the claim and its key in the credential release.
func TestS3JobsGoToCapableAgents(t *testing.T) {
	forEachDialect(t, func(t *testing.T, e *testEnv) {
		a := e.newTenant("acme")
		_, target := e.newS3Target(a.Owner, "", "b1")
		e.call("PATCH", "/api/v1/sources/"+a.Source, a.Owner, sdk.UpdateSourceRequest{StorageID: &target}, 200, nil)
		plain, s3a, s3b := e.enrollAgent("plain"), e.enrollS3Agent("s3-a"), e.enrollS3Agent("s3-b")

		e.call("POST", "/api/v1/jobs", a.Owner, sdk.CreateJobRequest{SourceID: a.Source}, 201, nil)
		require.Nil(t, e.tryClaim(plain), "an agent without storage:s3 claims no s3 backup")
		cj := e.tryClaim(s3a)
		require.NotNil(t, cj)
		require.Equal(t, &sdk.StorageLease{TargetID: target, Type: sdk.StorageS3, Endpoint: "http://127.0.0.1:7070",
			Bucket: "xvault-test", Prefix: "backups/", PathStyle: true}, cj.Storage)

		var rel sdk.CredentialRelease
		e.call("POST", "/api/v1/agent/jobs/"+cj.ID+"/credentials", s3a.Token, sdk.LeaseRef{LeaseEpoch: cj.LeaseEpoch}, 200, &rel)
		secrets := decryptRelease(t, s3a.Identity, rel)
		require.Equal(t, "s3cret-acme", secrets.Password)
		require.NotNil(t, secrets.Storage)
		require.Equal(t, testAccessKey, secrets.Storage.AccessKeyID)
		require.Equal(t, testSecretKey, secrets.Storage.SecretAccessKey)

		var job sdk.Job
		e.call("POST", "/api/v1/agent/jobs/"+cj.ID+"/complete", s3a.Token, sdk.CompleteRequest{LeaseEpoch: cj.LeaseEpoch,
			Status: sdk.JobCompleted, Snapshot: s3Report(target)}, 200, &job)
		require.Equal(t, sdk.JobCompleted, job.Status, job.ErrorMessage)
		var snap sdk.Snapshot
		e.call("GET", "/api/v1/snapshots/"+cj.SnapshotID, a.Member, nil, 200, &snap)
		require.Equal(t, sdk.StorageBackendS3, snap.StorageBackend)
		require.Equal(t, target, snap.StorageTargetID)

		// Verify: not tied to agent s3-a; s3-b runs it.
		e.call("POST", "/api/v1/snapshots/"+snap.ID+"/verify", a.Owner, nil, 201, nil)
		require.Nil(t, e.tryClaim(plain))
		vj := e.tryClaim(s3b)
		require.NotNil(t, vj)
		require.Equal(t, sdk.JobVerify, vj.Type)
		require.Equal(t, target, vj.Storage.TargetID)
		e.call("POST", "/api/v1/agent/jobs/"+vj.ID+"/credentials", s3b.Token, sdk.LeaseRef{LeaseEpoch: vj.LeaseEpoch}, 200, &rel)
		require.Equal(t, testSecretKey, decryptRelease(t, s3b.Identity, rel).Storage.SecretAccessKey)

		// A local_fs source stays claimable by every agent.
		var src sdk.Source
		e.call("POST", "/api/v1/sources", a.Owner, sftpSource("local", a.Credential), 201, &src)
		e.call("POST", "/api/v1/jobs", a.Owner, sdk.CreateJobRequest{SourceID: src.ID}, 201, nil)
		lj := e.tryClaim(plain)
		require.NotNil(t, lj)
		require.Nil(t, lj.Storage)
		e.call("POST", "/api/v1/agent/jobs/"+lj.ID+"/complete", plain.Token, sdk.CompleteRequest{LeaseEpoch: lj.LeaseEpoch,
			Status: sdk.JobFailed, ErrorMessage: "x", Permanent: true}, 200, nil)

		// The tenant's default storage counts like the source's own.
		e.call("PATCH", "/api/v1/tenants/"+a.ID, a.Owner, sdk.UpdateTenantRequest{DefaultStorageID: &target}, 200, nil)
		e.call("POST", "/api/v1/jobs", a.Owner, sdk.CreateJobRequest{SourceID: src.ID}, 201, nil)
		require.Nil(t, e.tryClaim(plain), "the tenant default is an s3 target")
		dj := e.tryClaim(s3b)
		require.NotNil(t, dj)
		require.Equal(t, target, dj.Storage.TargetID)
	})
}

// TestS3ReportOfForeignTargetFails: a snapshot report naming a storage
// target the tenant may not use fails the job and records nothing.
func TestS3ReportOfForeignTargetFails(t *testing.T) {
	forEachDialect(t, func(t *testing.T, e *testEnv) {
		a, b := e.newTenant("acme"), e.newTenant("bravo")
		_, mine := e.newS3Target(a.Owner, "", "b1")
		_, theirs := e.newS3Target(b.Owner, "", "b2")
		e.call("PATCH", "/api/v1/sources/"+a.Source, a.Owner, sdk.UpdateSourceRequest{StorageID: &mine}, 200, nil)
		ag := e.enrollS3Agent("s3-a")
		e.call("POST", "/api/v1/jobs", a.Owner, sdk.CreateJobRequest{SourceID: a.Source}, 201, nil)
		cj := e.tryClaim(ag)
		require.NotNil(t, cj)
		var job sdk.Job
		e.call("POST", "/api/v1/agent/jobs/"+cj.ID+"/complete", ag.Token, sdk.CompleteRequest{LeaseEpoch: cj.LeaseEpoch,
			Status: sdk.JobCompleted, Snapshot: s3Report(theirs)}, 200, &job)
		require.Equal(t, sdk.JobFailed, job.Status)
		require.Contains(t, job.ErrorMessage, "may not use")
		require.Equal(t, 0, e.count("snapshots"))
	})
}
