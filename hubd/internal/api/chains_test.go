package api

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/hubd/internal/validate"
	"github.com/xvault/xvault/sdk"
)

const testConfigHash = "5f9c4ab08cac7457e9111a30e4664920607ea2c115a1433d7be98e97e64244ca"

// incrAgent is an enrolled agent that announces the incremental capability.
func (e *testEnv) incrAgent(name string) *agentFixture {
	e.t.Helper()
	ag := e.enrollAgent(name)
	e.call("POST", "/api/v1/agent/heartbeat", ag.Token, sdk.HeartbeatRequest{
		Capabilities: []string{sdk.CapabilityIncremental}}, 200, nil)
	return ag
}

// chainBackup runs one backup of the tenant's source on ag, reporting what
// the claim planned; it returns the claim and the new snapshot.
func (e *testEnv) chainBackup(a *tenantFixture, ag *agentFixture, size int64) (*sdk.ClaimedJob, sdk.Snapshot) {
	e.t.Helper()
	cj := e.claimOne(a, ag)
	rep := &sdk.SnapshotReport{SizeBytes: size, SHA256: strings.Repeat("ab", 32), LocalPath: "snap/" + cj.SnapshotID,
		ConfigHash: testConfigHash, Kind: sdk.SnapshotFull, StartedAt: time.Now(), FinishedAt: time.Now()}
	if cj.Incremental != nil {
		rep.Kind, rep.ParentSnapshotID = sdk.SnapshotIncremental, cj.Incremental.ParentSnapshotID
	}
	var job sdk.Job
	e.call("POST", "/api/v1/agent/jobs/"+cj.ID+"/complete", ag.Token, sdk.CompleteRequest{LeaseEpoch: cj.LeaseEpoch,
		Status: sdk.JobCompleted, Snapshot: rep}, 200, &job)
	require.Equal(e.t, sdk.JobCompleted, job.Status, job.ErrorMessage)
	var snap sdk.Snapshot
	e.call("GET", "/api/v1/snapshots/"+cj.SnapshotID, a.Member, nil, 200, &snap)
	return cj, snap
}

func TestIncrementalChainOverTheAPI(t *testing.T) {
	forEachDialect(t, func(t *testing.T, e *testEnv) {
		a := e.newTenant("acme")
		ag := e.incrAgent("a1")
		cj, full := e.chainBackup(a, ag, 1000)
		require.Nil(t, cj.Incremental)
		require.Empty(t, cj.FullReason)
		require.Equal(t, sdk.SnapshotFull, full.Kind)
		require.Equal(t, 1, full.ChainLength)

		cj, inc := e.chainBackup(a, ag, 100)
		require.Equal(t, &sdk.IncrementalPlan{ParentSnapshotID: full.ID, FullSnapshotID: full.ID,
			ParentConfigHash: testConfigHash, ParentLocalPath: "snap/" + full.ID}, cj.Incremental)
		require.Equal(t, sdk.SnapshotIncremental, inc.Kind)
		require.Equal(t, full.ID, inc.ParentSnapshotID)
		require.Equal(t, 2, inc.ChainLength)
		require.EqualValues(t, 1100, inc.ChainBytes)

		// The next backup is targeted at the chain's agent.
		var job sdk.Job
		e.call("POST", "/api/v1/jobs", a.Owner, sdk.CreateJobRequest{SourceID: a.Source}, 201, &job)
		require.Equal(t, ag.ID, job.TargetAgentID)
		e.call("POST", "/api/v1/jobs/"+job.ID+"/cancel", a.Owner, nil, 200, nil)

		// Restore and verify payloads carry the chain, tip first.
		e.call("POST", "/api/v1/snapshots/"+inc.ID+"/restore", a.Owner, sdk.CreateRestoreRequest{}, 201, nil)
		rj, p := e.claimRestore(ag)
		require.Equal(t, []sdk.ChainLink{{SnapshotID: inc.ID, SHA256: inc.SHA256, LocalPath: inc.LocalPath},
			{SnapshotID: full.ID, SHA256: full.SHA256, LocalPath: full.LocalPath}}, p.Chain)
		e.call("POST", "/api/v1/agent/jobs/"+rj.ID+"/complete", ag.Token, sdk.CompleteRequest{LeaseEpoch: rj.LeaseEpoch,
			Status: sdk.JobFailed, Permanent: true, ErrorMessage: "test"}, 200, nil)
		e.call("POST", "/api/v1/snapshots/"+inc.ID+"/verify", a.Owner, nil, 201, nil)
		vj := e.claim(ag, sdk.JobVerify)
		var vp sdk.VerifyPayload
		require.NoError(t, json.Unmarshal(vj.Payload, &vp))
		require.Len(t, vp.Chain, 2)
		require.Equal(t, full.ID, vp.Chain[1].SnapshotID)
		e.call("POST", "/api/v1/agent/jobs/"+vj.ID+"/complete", ag.Token, sdk.CompleteRequest{LeaseEpoch: vj.LeaseEpoch,
			Status: sdk.JobCompleted, Verify: &sdk.VerifyReport{Status: sdk.VerifyOK}}, 200, nil)

		// The full is the parent of a live snapshot: deleting it is refused.
		err := e.apiErr("DELETE", "/api/v1/snapshots/"+full.ID, a.Owner, nil, 409)
		require.Equal(t, "snapshot "+full.ID+" is the parent of "+inc.ID+
			" (hint: delete the newer snapshots of its chain first)", err.Message)
		e.call("DELETE", "/api/v1/snapshots/"+inc.ID, a.Owner, nil, 202, nil)
		e.call("DELETE", "/api/v1/snapshots/"+full.ID, a.Owner, nil, 202, nil)
	})
}

func TestRestoreOfBrokenChainIsRefused(t *testing.T) {
	forEachDialect(t, func(t *testing.T, e *testEnv) {
		a := e.newTenant("acme")
		ag := e.incrAgent("a1")
		_, full := e.chainBackup(a, ag, 1000)
		_, inc := e.chainBackup(a, ag, 100)
		_, err := e.db.NewUpdate().Table("snapshots").Set("status = 'deleting'").Where("id = ?", full.ID).Exec(t.Context())
		require.NoError(t, err)
		want := "chain of snapshot " + inc.ID + " is broken: its member " + full.ID + " (parent of " + inc.ID + ") is being deleted"
		require.Equal(t, want, e.apiErr("POST", "/api/v1/snapshots/"+inc.ID+"/restore", a.Owner, sdk.CreateRestoreRequest{}, 409).Message)
		require.Equal(t, want, e.apiErr("POST", "/api/v1/snapshots/"+inc.ID+"/verify", a.Owner, nil, 409).Message)
	})
}

func TestIncrementalReportMustNameThePlannedParent(t *testing.T) {
	forEachDialect(t, func(t *testing.T, e *testEnv) {
		a := e.newTenant("acme")
		ag := e.incrAgent("a1")
		e.chainBackup(a, ag, 1000)
		cj := e.claimOne(a, ag)
		require.NotNil(t, cj.Incremental)
		rep := &sdk.SnapshotReport{SizeBytes: 5, SHA256: strings.Repeat("ab", 32), LocalPath: "p", ConfigHash: testConfigHash,
			Kind: sdk.SnapshotIncremental, ParentSnapshotID: "snp_elsewhere"}
		var job sdk.Job
		e.call("POST", "/api/v1/agent/jobs/"+cj.ID+"/complete", ag.Token, sdk.CompleteRequest{LeaseEpoch: cj.LeaseEpoch,
			Status: sdk.JobCompleted, Snapshot: rep}, 200, &job)
		require.Equal(t, sdk.JobFailed, job.Status)
		require.Equal(t, `incremental snapshot reported with parent "snp_elsewhere", but the claim planned parent `+
			cj.Incremental.ParentSnapshotID, job.ErrorMessage)

		// Malformed chain fields are a 400 naming the field.
		cj = e.claimOne(a, ag)
		bad := *rep
		bad.Kind, bad.ConfigHash = "differential", "XYZ"
		f := e.apiErr("POST", "/api/v1/agent/jobs/"+cj.ID+"/complete", ag.Token, sdk.CompleteRequest{
			LeaseEpoch: cj.LeaseEpoch, Status: sdk.JobCompleted, Snapshot: &bad}, 400).Fields
		require.Contains(t, f, "snapshot.kind")
		require.Contains(t, f, "snapshot.config_hash")
	})
}

func TestAgentWithoutCapabilityGetsFulls(t *testing.T) {
	forEachDialect(t, func(t *testing.T, e *testEnv) {
		a := e.newTenant("acme")
		ag := e.enrollAgent("old")
		_, full := e.chainBackup(a, ag, 1000)
		cj, _ := e.chainBackup(a, ag, 1000)
		require.Nil(t, cj.Incremental)
		require.Empty(t, cj.FullReason)
		require.Equal(t, sdk.SnapshotFull, full.Kind)
	})
}

func TestSimulateRetentionWithChains(t *testing.T) {
	forEachDialect(t, func(t *testing.T, e *testEnv) {
		a := e.newTenant("acme")
		body := `{"policy":{"keep_last_n":1},"now":"2026-11-21T00:00:00Z","verify":true,"snapshots":[
			{"id":"f1","created_at":"2026-11-17T02:00:00Z"},{"id":"i1","created_at":"2026-11-18T02:00:00Z","parent_id":"f1"},
			{"id":"f2","created_at":"2026-11-19T02:00:00Z"},{"id":"i2","created_at":"2026-11-20T02:00:00Z","parent_id":"f2"}]}`
		var out sdk.RetentionDecisions
		e.call("POST", "/api/v1/retention/simulate", a.Member, body, 200, &out)
		require.Equal(t, []bool{true, true, true, true}, keeps(out.Decisions))
		require.Equal(t, []string{"ancestor of kept snapshot i2 (incremental chain)"}, out.Decisions[1].Reasons)
		require.Equal(t, []string{"previous chain kept until full f2 is verified ok"}, out.Decisions[2].Reasons)
		require.Equal(t, "f1", out.Decisions[2].ParentID)

		f := e.apiErr("POST", "/api/v1/retention/simulate", a.Member, `{"policy":{},"snapshots":[
			{"id":"x","created_at":"2026-01-01T00:00:00Z","parent_id":"x"},
			{"id":"y","created_at":"2026-01-01T00:00:00Z","parent_id":"nope"}]}`, 400).Fields
		require.Contains(t, f, "snapshots[0].parent_id")
		require.Contains(t, f, "snapshots[1].parent_id")
	})
}

// FuzzSnapshotReportChain: whatever an agent reports, a report that passes
// the checks is a full without parent or an incremental with a parent and
// a well-formed config hash.
func FuzzSnapshotReportChain(f *testing.F) {
	f.Add([]byte(`{"sha256":"` + strings.Repeat("ab", 32) + `","local_path":"p","kind":"incremental","parent_snapshot_id":"x","config_hash":"` + testConfigHash + `"}`))
	f.Add([]byte(`{"sha256":"` + strings.Repeat("ab", 32) + `","local_path":"p","kind":"full","parent_snapshot_id":"x"}`))
	f.Add([]byte(`{"kind":"differential","config_hash":"ZZ","full_reason":""}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var r sdk.SnapshotReport
		if json.Unmarshal(b, &r) != nil {
			return
		}
		fields := validate.Fields{}
		s := snapshotIn(fields, &r)
		if len(fields) > 0 {
			return
		}
		switch s.Kind {
		case "full":
			require.Nil(t, s.ParentSnapshotID)
		case "incremental":
			require.NotEmpty(t, *s.ParentSnapshotID)
			require.Len(t, *s.ConfigHash, 64)
		default:
			t.Fatalf("kind %q passed the checks", s.Kind)
		}
	})
}
