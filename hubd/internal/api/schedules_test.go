package api

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/hubd/internal/store"
	"github.com/xvault/xvault/sdk"
)

// backupDone runs one backup of a's source through agent ag and returns its snapshot id.
func (e *testEnv) backupDone(a *tenantFixture, ag *agentFixture) string {
	e.t.Helper()
	cj := e.claimOne(a, ag)
	e.call("POST", "/api/v1/agent/jobs/"+cj.ID+"/complete", ag.Token, sdk.CompleteRequest{LeaseEpoch: cj.LeaseEpoch,
		Status: sdk.JobCompleted, Snapshot: &sdk.SnapshotReport{SHA256: strings.Repeat("0", 64), LocalPath: "p",
			StartedAt: time.Now(), FinishedAt: time.Now()}}, 200, nil)
	return cj.SnapshotID
}

func TestScheduleCRUD(t *testing.T) {
	forEachDialect(t, func(t *testing.T, e *testEnv) {
		a := e.newTenant("acme")
		var sch sdk.Schedule
		e.call("POST", "/api/v1/schedules", a.Owner, sdk.CreateScheduleRequest{SourceID: a.Source, Cron: "30 2 * * *",
			Timezone: "Europe/Berlin", RetentionPolicy: &sdk.RetentionPolicy{KeepDaily: 7}}, 201, &sch)
		require.True(t, sch.Enabled)
		require.NotNil(t, sch.NextRunAt)
		require.Equal(t, 30, sch.NextRunAt.In(mustLoc(t, "Europe/Berlin")).Minute())
		require.Equal(t, &sdk.RetentionPolicy{KeepDaily: 7}, sch.RetentionPolicy)

		var ret sdk.SourceRetention
		e.call("GET", "/api/v1/sources/"+a.Source+"/retention", a.Member, nil, 200, &ret)
		require.Equal(t, sdk.RetentionPolicy{KeepDaily: 7}, ret.Policy, "a schedule's policy becomes the source's")
		require.Equal(t, "Europe/Berlin", ret.Timezone)

		var list sdk.Page[sdk.Schedule]
		e.call("GET", "/api/v1/schedules?source_id="+a.Source, a.Member, nil, 200, &list)
		require.Len(t, list.Items, 1)

		off := false
		var paused sdk.Schedule
		e.call("PUT", "/api/v1/schedules/"+sch.ID, a.Owner, sdk.UpdateScheduleRequest{Enabled: &off}, 200, &paused)
		require.False(t, paused.Enabled)
		require.Nil(t, paused.NextRunAt, "a paused schedule has no next run")
		iv, on := 90, true
		var resumed sdk.Schedule
		e.call("PUT", "/api/v1/schedules/"+sch.ID, a.Owner, sdk.UpdateScheduleRequest{IntervalMinutes: &iv, Enabled: &on}, 200, &resumed)
		require.Empty(t, resumed.Cron, "setting the interval clears the cron spec")
		require.Equal(t, 90, resumed.IntervalMinutes)
		require.NotNil(t, resumed.NextRunAt)

		e.call("DELETE", "/api/v1/schedules/"+sch.ID, a.Member, nil, 403, nil)
		e.call("DELETE", "/api/v1/schedules/"+sch.ID, a.Owner, nil, 204, nil)
		e.call("GET", "/api/v1/schedules/"+sch.ID, a.Owner, nil, 404, nil)
		e.call("GET", "/api/v1/sources/"+a.Source+"/retention", a.Member, nil, 200, &ret)
		require.Equal(t, sdk.RetentionPolicy{KeepDaily: 7}, ret.Policy, "the policy outlives the schedule")
		require.Equal(t, "UTC", ret.Timezone)
	})
}

func mustLoc(t *testing.T, name string) *time.Location {
	l, err := time.LoadLocation(name)
	require.NoError(t, err)
	return l
}

func TestRetentionRunDeletesThroughAgent(t *testing.T) {
	forEachDialect(t, func(t *testing.T, e *testEnv) {
		a := e.newTenant("acme")
		ag := e.enrollAgent("a1")
		var snaps []string
		for range 4 {
			snaps = append(snaps, e.backupDone(a, ag))
			time.Sleep(5 * time.Millisecond)
		}
		e.call("PUT", "/api/v1/sources/"+a.Source+"/retention", a.Owner, sdk.RetentionPolicy{KeepLastN: 2}, 200, nil)

		var prev sdk.RetentionDecisions
		e.call("GET", "/api/v1/sources/"+a.Source+"/retention/preview", a.Member, nil, 200, &prev)
		require.Len(t, prev.Decisions, 4)
		require.Equal(t, snaps[3], prev.Decisions[0].ID, "newest first")
		require.Equal(t, []bool{true, true, false, false}, keeps(prev.Decisions))
		require.Equal(t, []string{"last 1", "newest completed snapshot (never deleted)"}, prev.Decisions[0].Reasons)

		var run sdk.RetentionRunResponse
		e.call("POST", "/api/v1/admin/retention/run/"+a.Source, e.admin, nil, 200, &run)
		require.Equal(t, sdk.RetentionRunSummary{SourcesEvaluated: 1, TotalSnapshots: 4, TotalToKeep: 2, TotalToDelete: 2,
			JobsEnqueued: 2}, run.Summary)
		e.call("POST", "/api/v1/admin/retention/run", e.admin, nil, 200, &run)
		require.Equal(t, 0, run.Summary.JobsEnqueued, "deletes under way are not re-selected")
		require.Equal(t, 2, run.Summary.TotalToDelete)

		var snap sdk.Snapshot
		e.call("GET", "/api/v1/snapshots/"+snaps[0], a.Owner, nil, 200, &snap)
		require.Equal(t, sdk.SnapshotDeleting, snap.Status)

		other := e.enrollAgent("a2")
		var cr sdk.ClaimResponse
		e.call("POST", "/api/v1/agent/jobs/claim", other.Token, sdk.ClaimRequest{WaitSeconds: 0}, 200, &cr)
		require.Nil(t, cr.Job, "delete jobs go to the agent holding the snapshot")
		for range 2 {
			e.call("POST", "/api/v1/agent/jobs/claim", ag.Token, sdk.ClaimRequest{WaitSeconds: 1}, 200, &cr)
			require.NotNil(t, cr.Job)
			require.Equal(t, sdk.JobDeleteSnapshot, cr.Job.Type)
			require.Equal(t, a.Source, cr.Job.SourceID)
			require.Contains(t, snaps[:2], cr.Job.SnapshotID)
			e.call("POST", "/api/v1/agent/jobs/"+cr.Job.ID+"/complete", ag.Token,
				sdk.CompleteRequest{LeaseEpoch: cr.Job.LeaseEpoch, Status: sdk.JobCompleted}, 200, nil)
		}
		var left sdk.Page[sdk.Snapshot]
		e.call("GET", "/api/v1/snapshots?source_id="+a.Source, a.Owner, nil, 200, &left)
		require.Len(t, left.Items, 2)
		var audit sdk.Page[sdk.AuditEvent]
		e.call("GET", "/api/v1/audit?action=snapshot.delete", a.Owner, nil, 200, &audit)
		require.Len(t, audit.Items, 2)
		require.Contains(t, string(audit.Items[0].Details), "not kept by any rule")
	})
}

func keeps(ds []sdk.RetentionDecision) []bool {
	out := make([]bool, len(ds))
	for i, d := range ds {
		out[i] = d.Keep
	}
	return out
}

func TestSnapshotDeleteRoute(t *testing.T) {
	forEachDialect(t, func(t *testing.T, e *testEnv) {
		a := e.newTenant("acme")
		ag := e.enrollAgent("a1")
		id := e.backupDone(a, ag)
		e.call("DELETE", "/api/v1/snapshots/"+id, a.Member, nil, 403, nil)
		var job, again sdk.Job
		e.call("DELETE", "/api/v1/snapshots/"+id, a.Owner, nil, 202, &job)
		require.Equal(t, sdk.JobDeleteSnapshot, job.Type)
		require.Equal(t, ag.ID, job.TargetAgentID)
		e.call("DELETE", "/api/v1/snapshots/"+id, a.Owner, nil, 200, &again)
		require.Equal(t, job.ID, again.ID, "a second delete returns the job under way")
		e.call("DELETE", "/api/v1/snapshots/nope", a.Owner, nil, 404, nil)
	})
}

func TestSimulateRetention(t *testing.T) {
	forEachDialect(t, func(t *testing.T, e *testEnv) {
		a := e.newTenant("acme")
		body := `{"policy":{"keep_daily":1,"keep_weekly":2},"timezone":"Europe/Berlin","now":"2026-11-21T00:00:00Z",
			"snapshots":[{"id":"a","created_at":"2026-11-20T10:00:00Z"},{"id":"b","created_at":"2026-11-13T10:00:00Z"},
			{"id":"c","created_at":"2026-11-12T10:00:00Z"}]}`
		var out sdk.RetentionDecisions
		e.call("POST", "/api/v1/retention/simulate", a.Member, body, 200, &out)
		require.Equal(t, "Europe/Berlin", out.Timezone)
		require.Equal(t, []bool{true, true, false}, keeps(out.Decisions))
		require.Equal(t, []string{"weekly 2026-W46"}, out.Decisions[1].Reasons)
		var before int
		require.NoError(t, json.Unmarshal([]byte("0"), &before))
	})
}

func TestScheduleRetentionBadInput(t *testing.T) {
	forEachDialect(t, func(t *testing.T, e *testEnv) {
		a, b := e.newTenant("alpha"), e.newTenant("bravo")
		sch := "/api/v1/schedules"
		var ok sdk.Schedule
		e.call("POST", sch, a.Owner, sdk.CreateScheduleRequest{SourceID: a.Source, IntervalMinutes: 60}, 201, &ok)
		ret := "/api/v1/sources/" + a.Source + "/retention"
		sim := "/api/v1/retention/simulate"
		cases := []badCase{
			{name: "neither cron nor interval", method: "POST", path: sch, token: a.Owner, body: `{"source_id":"` + a.Source + `"}`, status: 400, fields: []string{"cron"}},
			{name: "both cron and interval", method: "POST", path: sch, token: a.Owner, body: `{"source_id":"` + a.Source + `","cron":"* * * * *","interval_minutes":5}`, status: 400, fields: []string{"cron"}},
			{name: "bad cron", method: "POST", path: sch, token: a.Owner, body: `{"source_id":"` + a.Source + `","cron":"61 * * * *"}`, status: 400, fields: []string{"cron"}},
			{name: "six-field cron", method: "POST", path: sch, token: a.Owner, body: `{"source_id":"` + a.Source + `","cron":"0 * * * * *"}`, status: 400, fields: []string{"cron"}},
			{name: "interval below 1", method: "POST", path: sch, token: a.Owner, body: `{"source_id":"` + a.Source + `","interval_minutes":-5}`, status: 400, fields: []string{"interval_minutes"}},
			{name: "unknown timezone", method: "POST", path: sch, token: a.Owner, body: `{"source_id":"` + a.Source + `","cron":"* * * * *","timezone":"Mars/Olympus"}`, status: 400, fields: []string{"timezone"}},
			{name: "no source", method: "POST", path: sch, token: a.Owner, body: `{"cron":"* * * * *"}`, status: 400, fields: []string{"source_id"}},
			{name: "other tenant's source", method: "POST", path: sch, token: a.Owner, body: sdk.CreateScheduleRequest{SourceID: b.Source, Cron: "* * * * *"}, status: 404, message: "source not found"},
			{name: "bad schedule policy", method: "POST", path: sch, token: a.Owner, body: `{"source_id":"` + a.Source + `","cron":"* * * * *","retention_policy":{"keep_daily":-1,"keep_within":"soon"}}`, status: 400, fields: []string{"retention_policy.keep_daily", "retention_policy.keep_within"}},
			{name: "unknown policy key", method: "POST", path: sch, token: a.Owner, body: `{"source_id":"` + a.Source + `","cron":"* * * * *","retention_policy":{"keep_forever":true}}`, status: 400, fields: []string{"keep_forever"}},
			{name: "update both", method: "PUT", path: sch + "/" + ok.ID, token: a.Owner, body: `{"cron":"* * * * *","interval_minutes":5}`, status: 400, fields: []string{"cron"}},
			{name: "update bad tz", method: "PUT", path: sch + "/" + ok.ID, token: a.Owner, body: `{"timezone":"Nowhere"}`, status: 400, fields: []string{"timezone"}},
			{name: "update unknown field", method: "PUT", path: sch + "/" + ok.ID, token: a.Owner, body: `{"paused":true}`, status: 400, fields: []string{"paused"}},
			{name: "member creating", method: "POST", path: sch, token: a.Member, body: sdk.CreateScheduleRequest{SourceID: a.Source, Cron: "* * * * *"}, status: 403, message: "read-only"},
			{name: "policy negative", method: "PUT", path: ret, token: a.Owner, body: `{"keep_last_n":-1}`, status: 400, fields: []string{"keep_last_n"}},
			{name: "policy float", method: "PUT", path: ret, token: a.Owner, body: `{"keep_hourly":1.5}`, status: 400, fields: []string{"keep_hourly"}},
			{name: "policy unknown key", method: "PUT", path: ret, token: a.Owner, body: `{"keep_dayly":3}`, status: 400, fields: []string{"keep_dayly"}},
			{name: "policy bad duration", method: "PUT", path: ret, token: a.Owner, body: `{"keep_within":"7 days"}`, status: 400, fields: []string{"keep_within"}},
			{name: "policy min over max", method: "PUT", path: ret, token: a.Owner, body: `{"min_age_hours":100,"max_age_days":1}`, status: 400, fields: []string{"min_age_hours"}},
			{name: "member setting policy", method: "PUT", path: ret, token: a.Member, body: `{}`, status: 403, message: "read-only"},
			{name: "simulate bad tz", method: "POST", path: sim, token: a.Owner, body: `{"policy":{},"timezone":"X/Y","snapshots":[]}`, status: 400, fields: []string{"timezone"}},
			{name: "simulate bad policy", method: "POST", path: sim, token: a.Owner, body: `{"policy":{"max_age_days":-3},"snapshots":[]}`, status: 400, fields: []string{"policy.max_age_days"}},
			{name: "simulate missing time", method: "POST", path: sim, token: a.Owner, body: `{"policy":{},"snapshots":[{"id":"x"}]}`, status: 400, fields: []string{"snapshots[0].created_at"}},
			{name: "simulate duplicate id", method: "POST", path: sim, token: a.Owner, body: `{"policy":{},"snapshots":[{"id":"x","created_at":"2026-01-01T00:00:00Z"},{"id":"x","created_at":"2026-01-02T00:00:00Z"}]}`, status: 400, fields: []string{"snapshots[1].id"}},
			{name: "simulate bad time", method: "POST", path: sim, token: a.Owner, body: `{"policy":{},"snapshots":[{"created_at":"yesterday"}]}`, status: 400, message: "parsing time"},
			{name: "run as tenant", method: "POST", path: "/api/v1/admin/retention/run", token: a.Owner, status: 403, message: "platform admin"},
			{name: "run unknown source", method: "POST", path: "/api/v1/admin/retention/run/nope", token: e.admin, status: 404, message: "source not found"},
			{name: "run with body", method: "POST", path: "/api/v1/admin/retention/run", token: e.admin, body: `{"x":1}`, status: 400, fields: []string{"x"}},
		}
		for _, tc := range cases {
			before := e.snapshotCounts()
			status, resp := e.do(tc.method, tc.path, tc.token, tc.body)
			require.Equal(t, tc.status, status, "%s: %s", tc.name, resp)
			var eb sdk.ErrorBody
			require.NoError(t, json.Unmarshal(resp, &eb), "%s: %s", tc.name, resp)
			for _, f := range tc.fields {
				require.Contains(t, eb.Error.Fields, f, "%s: %s", tc.name, resp)
			}
			require.Contains(t, eb.Error.Error(), tc.message, tc.name)
			require.Equal(t, before, e.snapshotCounts(), "%s changed the database", tc.name)
		}
	})
}

func TestScheduleVerifyDrills(t *testing.T) {
	forEachDialect(t, func(t *testing.T, e *testEnv) {
		a := e.newTenant("acme")
		before := time.Now().Add(-time.Second)
		var sch sdk.Schedule
		e.call("POST", "/api/v1/schedules", a.Owner, sdk.CreateScheduleRequest{SourceID: a.Source, IntervalMinutes: 60,
			Verify: sdk.VerifyDrillSample, VerifyEvery: "1w"}, 201, &sch)
		require.Equal(t, sdk.VerifyDrillSample, sch.Verify)
		require.Equal(t, "7d", sch.VerifyEvery, "shown normalised")
		require.NotNil(t, sch.NextVerifyAt)
		require.WithinRange(t, *sch.NextVerifyAt, before, time.Now().Add(time.Second), "the first drill is due at once")
		var minutes int
		require.NoError(t, e.db.NewSelect().Table("schedules").Column("verify_every_minutes").Where("id = ?", sch.ID).Scan(context.Background(), &minutes))
		require.Equal(t, 7*24*60, minutes)

		var shown sdk.Schedule
		e.call("GET", "/api/v1/schedules/"+sch.ID, a.Member, nil, 200, &shown)
		require.Equal(t, sch, shown)

		var upd sdk.Schedule
		iv := 30
		e.call("PUT", "/api/v1/schedules/"+sch.ID, a.Owner, sdk.UpdateScheduleRequest{IntervalMinutes: &iv}, 200, &upd)
		require.Equal(t, sch.NextVerifyAt, upd.NextVerifyAt, "an unchanged drill keeps its next_verify_at")
		latest, every := sdk.VerifyDrillLatest, "1d12h"
		e.call("PUT", "/api/v1/schedules/"+sch.ID, a.Owner, sdk.UpdateScheduleRequest{Verify: &latest}, 200, &upd)
		require.Equal(t, sdk.VerifyDrillLatest, upd.Verify)
		require.Equal(t, "7d", upd.VerifyEvery, "the period stays")
		e.call("PUT", "/api/v1/schedules/"+sch.ID, a.Owner, sdk.UpdateScheduleRequest{VerifyEvery: &every}, 200, &upd)
		require.Equal(t, "1d12h", upd.VerifyEvery)
		require.Equal(t, sdk.VerifyDrillLatest, upd.Verify)

		var list sdk.Page[sdk.Schedule]
		e.call("GET", "/api/v1/schedules?source_id="+a.Source, a.Member, nil, 200, &list)
		require.Equal(t, "1d12h", list.Items[0].VerifyEvery)

		off := ""
		var offed sdk.Schedule
		e.call("PUT", "/api/v1/schedules/"+sch.ID, a.Owner, sdk.UpdateScheduleRequest{Verify: &off}, 200, &offed)
		require.Empty(t, offed.Verify)
		require.Empty(t, offed.VerifyEvery)
		require.Nil(t, offed.NextVerifyAt)
		var raw map[string]any
		e.call("GET", "/api/v1/schedules/"+sch.ID, a.Member, nil, 200, &raw)
		require.NotContains(t, raw, "verify", "omitted when off")
		require.NotContains(t, raw, "verify_every")

		var audit sdk.Page[sdk.AuditEvent]
		e.call("GET", "/api/v1/audit?action=schedule.update", a.Owner, nil, 200, &audit)
		require.Contains(t, string(audit.Items[0].Details), `"verify"`)
	})
}

func TestScheduleVerifyDrillBadInput(t *testing.T) {
	forEachDialect(t, func(t *testing.T, e *testEnv) {
		a := e.newTenant("acme")
		create := func(mode, every string) sdk.CreateScheduleRequest {
			return sdk.CreateScheduleRequest{SourceID: a.Source, IntervalMinutes: 60, Verify: mode, VerifyEvery: every}
		}
		for _, tc := range []struct {
			req    sdk.CreateScheduleRequest
			fields []string
		}{
			{create("latest", ""), []string{"verify_every"}},
			{create("", "7d"), []string{"verify"}},
			{create("newest", "7d"), []string{"verify"}},
			{create("latest", "30m"), []string{"verify_every"}},
			{create("latest", "366d"), []string{"verify_every"}},
			{create("sample", "7 days"), []string{"verify_every"}},
			{create("weekly", "0h"), []string{"verify", "verify_every"}},
		} {
			ae := e.apiErr("POST", "/api/v1/schedules", a.Owner, tc.req, 400)
			require.Len(t, ae.Fields, len(tc.fields), "%+v: %v", tc.req, ae)
			for _, f := range tc.fields {
				require.Contains(t, ae.Fields, f, "%+v", tc.req)
			}
		}
		require.Zero(t, e.count("schedules"))

		var sch sdk.Schedule
		e.call("POST", "/api/v1/schedules", a.Owner, sdk.CreateScheduleRequest{SourceID: a.Source, IntervalMinutes: 60}, 201, &sch)
		s := func(v string) *string { return &v }
		for _, tc := range []struct {
			req   sdk.UpdateScheduleRequest
			field string
		}{
			{sdk.UpdateScheduleRequest{Verify: s("latest")}, "verify_every"},
			{sdk.UpdateScheduleRequest{VerifyEvery: s("7d")}, "verify"},
			{sdk.UpdateScheduleRequest{Verify: s(""), VerifyEvery: s("7d")}, "verify_every"},
			{sdk.UpdateScheduleRequest{Verify: s("all"), VerifyEvery: s("7d")}, "verify"},
		} {
			ae := e.apiErr("PUT", "/api/v1/schedules/"+sch.ID, a.Owner, tc.req, 400)
			require.Contains(t, ae.Fields, tc.field, "%+v: %v", tc.req, ae)
		}
		var got sdk.Schedule
		e.call("GET", "/api/v1/schedules/"+sch.ID, a.Owner, nil, 200, &got)
		require.Equal(t, sch, got, "a refused update changes nothing")
		e.call("PUT", "/api/v1/schedules/"+sch.ID, a.Owner, `{"verify":"latest","verify_every":7}`, 400, nil)
	})
}

// The preview shows the verification rule on real snapshots.
func TestRetentionPreviewKeepsNewestVerified(t *testing.T) {
	forEachDialect(t, func(t *testing.T, e *testEnv) {
		a := e.newTenant("acme")
		ag := e.enrollAgent("a1")
		var snaps []string
		for range 3 {
			snaps = append(snaps, e.backupDone(a, ag))
			time.Sleep(5 * time.Millisecond)
		}
		require.NoError(t, store.RecordVerify(context.Background(), e.db, a.ID, snaps[0], store.VerifyOK, []byte(`{"status":"ok"}`), time.Now()))
		require.NoError(t, store.RecordVerify(context.Background(), e.db, a.ID, snaps[1], store.VerifyCorrupt, []byte(`{"status":"corrupt"}`), time.Now()))
		e.call("PUT", "/api/v1/sources/"+a.Source+"/retention", a.Owner, sdk.RetentionPolicy{KeepLastN: 1}, 200, nil)
		var prev sdk.RetentionDecisions
		e.call("GET", "/api/v1/sources/"+a.Source+"/retention/preview", a.Member, nil, 200, &prev)
		require.Equal(t, []bool{true, false, true}, keeps(prev.Decisions))
		require.Equal(t, []string{"newest verified snapshot (newer ones are not verified ok)"}, prev.Decisions[2].Reasons)
		require.Equal(t, sdk.VerifyOK, prev.Decisions[2].VerifyStatus)
		require.Equal(t, sdk.VerifyCorrupt, prev.Decisions[1].VerifyStatus)

		var run sdk.RetentionRunResponse
		e.call("POST", "/api/v1/admin/retention/run/"+a.Source, e.admin, nil, 200, &run)
		require.Equal(t, 1, run.Summary.JobsEnqueued, "only the corrupt one goes")
		var snap sdk.Snapshot
		e.call("GET", "/api/v1/snapshots/"+snaps[0], a.Owner, nil, 200, &snap)
		require.Equal(t, sdk.SnapshotCompleted, snap.Status)

		var sim sdk.RetentionDecisions
		e.call("POST", "/api/v1/retention/simulate", a.Member, sdk.SimulateRetentionRequest{Policy: sdk.RetentionPolicy{KeepLastN: 1},
			Snapshots: []sdk.SimulatedSnapshot{{ID: "old", CreatedAt: time.Now().Add(-time.Hour), VerifyStatus: sdk.VerifyOK},
				{ID: "new", CreatedAt: time.Now()}}}, 200, &sim)
		require.Equal(t, []bool{true, true}, keeps(sim.Decisions))
		ae := e.apiErr("POST", "/api/v1/retention/simulate", a.Member, `{"policy":{},"snapshots":[{"created_at":"2026-11-20T00:00:00Z","verify_status":"fine"}]}`, 400)
		require.Contains(t, ae.Fields, "snapshots[0].verify_status")
	})
}
