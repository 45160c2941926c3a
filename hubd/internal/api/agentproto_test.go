package api

import (
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"filippo.io/age/armor"
	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/sdk"
)

const (
	fp1 = "SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8"
	fp2 = "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU"
)

func TestEnrollment(t *testing.T) {
	forEachDialect(t, func(t *testing.T, e *testEnv) {
		id, err := age.GenerateX25519Identity()
		require.NoError(t, err)
		req := sdk.EnrollRequest{Name: "a1", PublicKey: id.Recipient().String()}

		var once sdk.CreatedEnrollmentToken
		e.call("POST", "/api/v1/agents/enrollment-tokens", e.admin, sdk.CreateEnrollmentTokenRequest{Uses: 1}, 201, &once)
		before := e.snapshotCounts()
		bad := e.apiErr("POST", "/api/v1/agent/enroll", once.Token, sdk.EnrollRequest{Name: "a1", PublicKey: "nope"}, 400)
		require.Contains(t, bad.Fields, "public_key")
		require.Equal(t, before, e.snapshotCounts(), "a bad enrollment must not consume a use")
		e.call("POST", "/api/v1/agent/enroll", once.Token, req, 201, nil)
		e.apiErr("POST", "/api/v1/agent/enroll", once.Token, req, 401) // uses exhausted

		var short sdk.CreatedEnrollmentToken
		e.call("POST", "/api/v1/agents/enrollment-tokens", e.admin, sdk.CreateEnrollmentTokenRequest{ExpiresIn: "1ms"}, 201, &short)
		time.Sleep(20 * time.Millisecond)
		e.apiErr("POST", "/api/v1/agent/enroll", short.Token, req, 401) // expired
		e.apiErr("POST", "/api/v1/agent/enroll", e.admin, req, 401)     // not an enrollment token

		var list sdk.Page[sdk.EnrollmentToken]
		e.call("GET", "/api/v1/agents/enrollment-tokens", e.admin, nil, 200, &list)
		require.Len(t, list.Items, 2)
		var agents sdk.Page[sdk.Agent]
		e.call("GET", "/api/v1/agents", e.admin, nil, 200, &agents)
		require.Len(t, agents.Items, 1)
		require.Equal(t, sdk.AgentOnline, agents.Items[0].Status)
	})
}

func TestClaimLongPollWakesOnEnqueue(t *testing.T) {
	forEachDialect(t, func(t *testing.T, e *testEnv) {
		a := e.newTenant("acme")
		ag := e.enrollAgent("a1")

		var empty sdk.ClaimResponse
		e.call("POST", "/api/v1/agent/jobs/claim", ag.Token, sdk.ClaimRequest{WaitSeconds: 1}, 200, &empty)
		require.Nil(t, empty.Job)

		got := make(chan sdk.ClaimResponse, 1)
		go func() {
			var cr sdk.ClaimResponse
			e.call("POST", "/api/v1/agent/jobs/claim", ag.Token, sdk.ClaimRequest{WaitSeconds: 30}, 200, &cr)
			got <- cr
		}()
		require.Eventually(t, func() bool { return e.waker.subscribers() == 1 }, 5*time.Second, 5*time.Millisecond)
		start := time.Now()
		var job sdk.Job
		e.call("POST", "/api/v1/jobs", a.Owner, sdk.CreateJobRequest{SourceID: a.Source}, 201, &job)
		var cr sdk.ClaimResponse
		select {
		case cr = <-got:
		case <-time.After(10 * time.Second):
			t.Fatal("claim did not return after the enqueue")
		}
		// ClaimRecheck is a minute in tests: only the wake-up explains a quick answer.
		require.Less(t, time.Since(start), 5*time.Second)
		require.NotNil(t, cr.Job)
		var tn sdk.Tenant
		e.call("GET", "/api/v1/tenants/"+a.ID, a.Owner, nil, 200, &tn)
		cj := cr.Job
		require.Equal(t, job.ID, cj.ID)
		require.Equal(t, job.SnapshotID, cj.SnapshotID)
		require.Equal(t, sdk.SourceSFTP, cj.SourceType)
		require.True(t, cj.HasCredential)
		require.Equal(t, tn.PublicKey, cj.TenantRecipient)
		require.EqualValues(t, 1, cj.LeaseEpoch)
		require.Empty(t, cj.HostKey)
		require.JSONEq(t, `{"host":"web.example.com","port":2222,"username":"backup","paths":["/var/www"]}`, string(cj.SourceConfig))
	})
}

// claimOne enqueues a backup of the tenant's source and claims it.
func (e *testEnv) claimOne(a *tenantFixture, ag *agentFixture) *sdk.ClaimedJob {
	e.t.Helper()
	e.call("POST", "/api/v1/jobs", a.Owner, sdk.CreateJobRequest{SourceID: a.Source}, 201, nil)
	var cr sdk.ClaimResponse
	e.call("POST", "/api/v1/agent/jobs/claim", ag.Token, sdk.ClaimRequest{WaitSeconds: 1}, 200, &cr)
	require.NotNil(e.t, cr.Job)
	return cr.Job
}

func decryptRelease(t *testing.T, id *age.X25519Identity, rel sdk.CredentialRelease) sdk.SecretPayload {
	r, err := age.Decrypt(armor.NewReader(strings.NewReader(rel.Ciphertext)), id)
	require.NoError(t, err)
	b, err := io.ReadAll(r)
	require.NoError(t, err)
	var p sdk.SecretPayload
	require.NoError(t, json.Unmarshal(b, &p))
	return p
}

func TestAgentLeaseProtocol(t *testing.T) {
	forEachDialect(t, func(t *testing.T, e *testEnv) {
		a := e.newTenant("acme")
		ag, other := e.enrollAgent("a1"), e.enrollAgent("a2")
		cj := e.claimOne(a, ag)
		base := "/api/v1/agent/jobs/" + cj.ID
		live, stale := sdk.LeaseRef{LeaseEpoch: cj.LeaseEpoch}, sdk.LeaseRef{LeaseEpoch: cj.LeaseEpoch + 1}

		e.call("POST", "/api/v1/agent/heartbeat", ag.Token, sdk.HeartbeatRequest{RunningJobs: 1}, 200, nil)
		e.apiErr("POST", base+"/renew", ag.Token, sdk.RenewRequest{LeaseEpoch: stale.LeaseEpoch}, 409)
		var rr sdk.RenewResponse
		e.call("POST", base+"/renew", ag.Token, sdk.RenewRequest{LeaseEpoch: cj.LeaseEpoch,
			Progress: sdk.Progress{FilesDone: 3, BytesRead: 100}}, 200, &rr)
		require.False(t, rr.CancelRequested)
		var job sdk.Job
		e.call("GET", "/api/v1/jobs/"+cj.ID, a.Member, nil, 200, &job)
		require.EqualValues(t, 3, job.Progress.FilesDone)

		// Credentials: only for the live lease, readable only by the agent.
		e.apiErr("POST", base+"/credentials", ag.Token, stale, 409)
		e.apiErr("POST", base+"/credentials", other.Token, live, 409)
		var rel sdk.CredentialRelease
		e.call("POST", base+"/credentials", ag.Token, live, 200, &rel)
		require.Equal(t, "s3cret-acme", decryptRelease(t, ag.Identity, rel).Password)
		_, err := age.Decrypt(armor.NewReader(strings.NewReader(rel.Ciphertext)), other.Identity)
		require.Error(t, err)
		var audit sdk.Page[sdk.AuditEvent]
		e.call("GET", "/api/v1/audit?action=credential.release", a.Owner, nil, 200, &audit)
		require.Len(t, audit.Items, 1)
		require.NotContains(t, string(audit.Items[0].Details), "s3cret")

		// Host key: trust on first use.
		var hk hostKeyResponse
		e.call("POST", base+"/host-key", ag.Token, sdk.HostKeyReport{LeaseEpoch: cj.LeaseEpoch, Fingerprint: fp1}, 200, &hk)
		require.Equal(t, fp1, hk.Fingerprint)
		e.call("POST", base+"/host-key", ag.Token, sdk.HostKeyReport{LeaseEpoch: cj.LeaseEpoch, Fingerprint: fp2}, 200, &hk)
		require.Equal(t, fp1, hk.Fingerprint, "the first fingerprint stays")
		e.apiErr("POST", base+"/host-key", ag.Token, sdk.HostKeyReport{LeaseEpoch: cj.LeaseEpoch, Fingerprint: "md5"}, 400)

		// Cancel reaches the agent on its next renewal.
		e.call("POST", "/api/v1/jobs/"+cj.ID+"/cancel", a.Owner, nil, 200, nil)
		e.call("POST", base+"/renew", ag.Token, sdk.RenewRequest{LeaseEpoch: cj.LeaseEpoch}, 200, &rr)
		require.True(t, rr.CancelRequested)
		e.call("POST", base+"/complete", ag.Token, sdk.CompleteRequest{LeaseEpoch: cj.LeaseEpoch, Status: sdk.JobCanceled}, 200, &job)
		require.Equal(t, sdk.JobCanceled, job.Status)

		// The next backup of the source carries the recorded host key.
		cj2 := e.claimOne(a, ag)
		require.Equal(t, fp1, cj2.HostKey)
	})
}

func TestCompleteIsIdempotent(t *testing.T) {
	forEachDialect(t, func(t *testing.T, e *testEnv) {
		a := e.newTenant("acme")
		ag := e.enrollAgent("a1")
		cj := e.claimOne(a, ag)
		base := "/api/v1/agent/jobs/" + cj.ID
		done := sdk.CompleteRequest{LeaseEpoch: cj.LeaseEpoch, Status: sdk.JobCompleted, Snapshot: &sdk.SnapshotReport{
			SizeBytes: 10, PlainBytes: 20, FileCount: 2, SHA256: strings.Repeat("ab", 32), LocalPath: "tenants/x/y",
			Manifest: json.RawMessage(`{"files":2}`), StartedAt: time.Now().Add(-time.Minute), FinishedAt: time.Now()}}

		noSnap := done
		noSnap.Snapshot = nil
		e.apiErr("POST", base+"/complete", ag.Token, noSnap, 400)
		e.apiErr("POST", base+"/complete", ag.Token, sdk.CompleteRequest{LeaseEpoch: 99, Status: sdk.JobCompleted, Snapshot: done.Snapshot}, 409)
		var j1, j2 sdk.Job
		e.call("POST", base+"/complete", ag.Token, done, 200, &j1)
		e.call("POST", base+"/complete", ag.Token, done, 200, &j2)
		require.Equal(t, sdk.JobCompleted, j1.Status)
		require.Equal(t, j1, j2)
		require.Equal(t, 1, e.count("snapshots"))

		var snap sdk.Snapshot
		e.call("GET", "/api/v1/snapshots/"+cj.SnapshotID, a.Member, nil, 200, &snap)
		require.Equal(t, cj.ID, snap.JobID)
		require.Equal(t, ag.ID, snap.AgentID)
		require.Equal(t, sdk.StorageLocalFS, snap.StorageBackend)
		require.Equal(t, cj.TenantRecipient, snap.Recipient)
		require.EqualValues(t, 2, snap.FileCount)
		e.apiErr("POST", base+"/renew", ag.Token, sdk.RenewRequest{LeaseEpoch: cj.LeaseEpoch}, 409)
	})
}

func TestClaimEndsAtShutdown(t *testing.T) {
	e := newEnv(t, "sqlite")
	ag := e.enrollAgent("a1")
	got := make(chan sdk.ClaimResponse, 1)
	go func() {
		var cr sdk.ClaimResponse
		e.call("POST", "/api/v1/agent/jobs/claim", ag.Token, sdk.ClaimRequest{WaitSeconds: 60}, 200, &cr)
		got <- cr
	}()
	require.Eventually(t, func() bool { return e.waker.subscribers() == 1 }, 5*time.Second, 5*time.Millisecond)
	e.srv.BeginShutdown()
	select {
	case cr := <-got:
		require.Nil(t, cr.Job)
	case <-time.After(5 * time.Second):
		t.Fatal("a waiting claim did not end at shutdown")
	}
}
