package api

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"github.com/xvault/xvault/hubd/internal/events"
	"github.com/xvault/xvault/hubd/internal/store"
	"github.com/xvault/xvault/sdk"
)

// sseFrame is one frame of the raw event stream.
type sseFrame struct {
	ID    int64
	Event string
	Data  string
}

// sseStream reads GET /api/v1/events frames in the background.
type sseStream struct {
	t      *testing.T
	resp   *http.Response
	frames chan sseFrame
	done   chan struct{} // closed when the server ended the stream
	cancel context.CancelFunc
}

// openStream opens the event stream; query and lastID may be empty. It
// returns once the hub answered (the subscription exists then).
func (e *testEnv) openStream(t *testing.T, token, query, lastID string) *sseStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, "GET", e.ts.URL+"/api/v1/events"+query, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	require.Equal(t, 200, resp.StatusCode)
	require.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	require.Equal(t, "no", resp.Header.Get("X-Accel-Buffering"))
	require.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
	s := &sseStream{t: t, resp: resp, frames: make(chan sseFrame, 10000), done: make(chan struct{}), cancel: cancel}
	t.Cleanup(func() { cancel(); resp.Body.Close() })
	go s.read()
	return s
}

func (s *sseStream) read() {
	defer close(s.done)
	sc := bufio.NewScanner(s.resp.Body)
	var f sseFrame
	seen := false
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if seen && f.Data != "" {
				s.frames <- f
			}
			f, seen = sseFrame{}, false
		case strings.HasPrefix(line, ":"):
		case strings.HasPrefix(line, "id: "):
			f.ID, _ = strconv.ParseInt(line[4:], 10, 64)
			seen = true
		case strings.HasPrefix(line, "event: "):
			f.Event, seen = line[7:], true
		case strings.HasPrefix(line, "data: "):
			f.Data, seen = line[6:], true
		}
	}
}

// next waits for the next frame with data.
func (s *sseStream) next() sseFrame {
	s.t.Helper()
	select {
	case f := <-s.frames:
		return f
	case <-time.After(10 * time.Second):
		s.t.Fatal("no event within 10 s")
		return sseFrame{}
	}
}

// event waits for the next frame and decodes its sdk.Event.
func (s *sseStream) event() sdk.Event {
	s.t.Helper()
	f := s.next()
	var ev sdk.Event
	require.NoError(s.t, json.Unmarshal([]byte(f.Data), &ev), f.Data)
	require.Equal(s.t, f.ID, ev.ID)
	require.Equal(s.t, f.Event, ev.Type)
	return ev
}

// quiet asserts no frame arrives for a while.
func (s *sseStream) quiet(d time.Duration) {
	s.t.Helper()
	select {
	case f := <-s.frames:
		s.t.Fatalf("unexpected event %d %s: %s", f.ID, f.Event, f.Data)
	case <-time.After(d):
	}
}

func jobOf(t *testing.T, ev sdk.Event) sdk.Job {
	t.Helper()
	var j sdk.Job
	require.NoError(t, json.Unmarshal(ev.Data, &j), "%s", ev.Data)
	return j
}

// wantJob checks the next event is typ about job id in status st.
func (s *sseStream) wantJob(typ, id string, st sdk.JobStatus) sdk.Event {
	s.t.Helper()
	ev := s.event()
	require.Equal(s.t, typ, ev.Type, "%s", ev.Data)
	j := jobOf(s.t, ev)
	require.Equal(s.t, id, j.ID)
	require.Equal(s.t, st, j.Status)
	require.Equal(s.t, j.TenantID, ev.TenantID)
	return ev
}

func TestEventsFollowJobLifecycle(t *testing.T) {
	forEachDialect(t, func(t *testing.T, e *testEnv) {
		a := e.newTenant("acme")
		ag := e.enrollAgent("a1")
		st := e.openStream(t, a.Member, "", "")

		cj := e.claimOne(a, ag)
		base := "/api/v1/agent/jobs/" + cj.ID
		created := st.wantJob(sdk.EventJobCreated, cj.ID, sdk.JobQueued)
		require.Equal(t, a.ID, created.TenantID)
		running := jobOf(t, st.wantJob(sdk.EventJobUpdated, cj.ID, sdk.JobRunning))
		require.Equal(t, ag.ID, running.AgentID)

		renew := sdk.RenewRequest{LeaseEpoch: cj.LeaseEpoch, Progress: sdk.Progress{FilesDone: 3, BytesRead: 100}}
		e.call("POST", base+"/renew", ag.Token, renew, 200, nil)
		prog := jobOf(t, st.wantJob(sdk.EventJobProgress, cj.ID, sdk.JobRunning))
		require.EqualValues(t, 3, prog.Progress.FilesDone)
		renew.Progress.FilesDone = 4 // within a second of the last: coalesced away
		e.call("POST", base+"/renew", ag.Token, renew, 200, nil)

		done := sdk.CompleteRequest{LeaseEpoch: cj.LeaseEpoch, Status: sdk.JobCompleted, Snapshot: &sdk.SnapshotReport{
			SHA256: strings.Repeat("ab", 32), LocalPath: "p", FileCount: 4, StartedAt: time.Now(), FinishedAt: time.Now()}}
		e.call("POST", base+"/complete", ag.Token, done, 200, nil)
		e.call("POST", base+"/complete", ag.Token, done, 200, nil) // idempotent repeat: no events
		fin := jobOf(t, st.wantJob(sdk.EventJobUpdated, cj.ID, sdk.JobCompleted))
		require.EqualValues(t, 4, fin.Progress.FilesDone, "the last progress arrives with the status change")
		snapEv := st.event()
		require.Equal(t, sdk.EventSnapshotCreated, snapEv.Type)
		var snap sdk.Snapshot
		require.NoError(t, json.Unmarshal(snapEv.Data, &snap))
		var rest sdk.Snapshot
		e.call("GET", "/api/v1/snapshots/"+cj.SnapshotID, a.Member, nil, 200, &rest)
		require.Equal(t, rest.ID, snap.ID)
		require.Equal(t, rest.SHA256, snap.SHA256)
		require.Equal(t, rest.FileCount, snap.FileCount)

		// A permanent failure: job.updated, then job.failed.
		cj2 := e.claimOne(a, ag)
		st.wantJob(sdk.EventJobCreated, cj2.ID, sdk.JobQueued)
		st.wantJob(sdk.EventJobUpdated, cj2.ID, sdk.JobRunning)
		e.call("POST", "/api/v1/agent/jobs/"+cj2.ID+"/complete", ag.Token, sdk.CompleteRequest{LeaseEpoch: cj2.LeaseEpoch,
			Status: sdk.JobFailed, ErrorMessage: "disk full", Permanent: true}, 200, nil)
		failed := jobOf(t, st.wantJob(sdk.EventJobUpdated, cj2.ID, sdk.JobFailed))
		require.Equal(t, "disk full", failed.ErrorMessage)
		last := st.wantJob(sdk.EventJobFailed, cj2.ID, sdk.JobFailed)
		st.quiet(300 * time.Millisecond)

		// Resume after the first event: the rest again, in order, then live.
		again := e.openStream(t, a.Member, "", strconv.FormatInt(created.ID, 10))
		var types []string
		prev := created.ID
		for {
			ev := again.event()
			require.Greater(t, ev.ID, prev)
			prev = ev.ID
			types = append(types, ev.Type)
			if ev.ID == last.ID {
				break
			}
		}
		require.Equal(t, []string{sdk.EventJobUpdated, sdk.EventJobProgress, sdk.EventJobUpdated, sdk.EventSnapshotCreated,
			sdk.EventJobCreated, sdk.EventJobUpdated, sdk.EventJobUpdated, sdk.EventJobFailed}, types)
		e.call("POST", "/api/v1/jobs", a.Owner, sdk.CreateJobRequest{SourceID: a.Source}, 201, nil)
		require.Equal(t, sdk.EventJobCreated, again.event().Type)

		// ?types= and ?since= filter and replay.
		only := e.openStream(t, a.Member, "?types=snapshot.created,job.failed&since=0", "")
		require.Equal(t, sdk.EventSnapshotCreated, only.event().Type)
		require.Equal(t, sdk.EventJobFailed, only.event().Type)
		only.quiet(300 * time.Millisecond)

		e.apiErr("GET", "/api/v1/events?types=job.nope", a.Member, nil, 400)
		e.apiErr("GET", "/api/v1/events?since=-1", a.Member, nil, 400)
		e.apiErr("GET", "/api/v1/events?since=x", a.Member, nil, 400)
	})
}

// TestEventsCancelAndRescue: a cancel and a lease rescue are status changes too.
func TestEventsCancelAndRescue(t *testing.T) {
	forEachDialect(t, func(t *testing.T, e *testEnv) {
		a := e.newTenant("acme")
		ag := e.enrollAgent("a1")
		st := e.openStream(t, a.Member, "?types=job.updated", "")
		var queued sdk.Job
		e.call("POST", "/api/v1/jobs", a.Owner, sdk.CreateJobRequest{SourceID: a.Source}, 201, &queued)
		e.call("POST", "/api/v1/jobs/"+queued.ID+"/cancel", a.Owner, nil, 200, nil)
		st.wantJob(sdk.EventJobUpdated, queued.ID, sdk.JobCanceled)

		cj := e.claimOne(a, ag)
		st.wantJob(sdk.EventJobUpdated, cj.ID, sdk.JobRunning)
		e.call("POST", "/api/v1/jobs/"+cj.ID+"/cancel", a.Owner, nil, 200, nil)
		asked := jobOf(t, st.wantJob(sdk.EventJobUpdated, cj.ID, sdk.JobRunning))
		require.True(t, asked.CancelRequested)
		e.call("POST", "/api/v1/jobs/"+cj.ID+"/cancel", a.Owner, nil, 200, nil) // nothing new

		// The lease expires: the rescuer re-queues (another attempt is left).
		_, err := store.RescueExpired(context.Background(), e.db, store.RescueParams{Now: time.Now().Add(time.Hour)})
		require.NoError(t, err)
		e.srv.events.Notify()
		st.wantJob(sdk.EventJobUpdated, cj.ID, sdk.JobCanceled) // a requested cancel ends it canceled
		st.quiet(300 * time.Millisecond)
	})
}

func TestEventsResetWhenTooOld(t *testing.T) {
	forEachDialect(t, func(t *testing.T, e *testEnv) {
		a := e.newTenant("acme")
		for range 3 {
			var j sdk.Job
			e.call("POST", "/api/v1/jobs", a.Owner, sdk.CreateJobRequest{SourceID: a.Source}, 201, &j)
			e.call("POST", "/api/v1/jobs/"+j.ID+"/cancel", a.Owner, nil, 200, nil)
		}
		oldest, newest, err := store.EventBounds(context.Background(), e.db)
		require.NoError(t, err)
		p := &events.Pruner{DB: e.db, KeepLast: 2, Now: func() time.Time { return time.Now().Add(2 * time.Hour) }}
		n, err := p.RunOnce(context.Background())
		require.NoError(t, err)
		require.EqualValues(t, newest-oldest-1, n)

		st := e.openStream(t, a.Member, "", strconv.FormatInt(oldest, 10))
		f := st.next()
		require.Equal(t, sdk.EventReset, f.Event)
		require.Equal(t, newest, f.ID, "the stream goes on after the newest event")
		e.call("POST", "/api/v1/jobs", a.Owner, sdk.CreateJobRequest{SourceID: a.Source}, 201, nil)
		ev := st.event()
		require.Equal(t, sdk.EventJobCreated, ev.Type)
		require.Greater(t, ev.ID, newest)

		// Still kept: a replay, no reset.
		kept := e.openStream(t, a.Member, "", strconv.FormatInt(newest-1, 10))
		require.Equal(t, newest, kept.event().ID)
	})
}

// TestEventsSlowConsumerIsReset: a subscriber that cannot keep up gets a
// reset and is dropped; the broker never waits for it.
func TestEventsSlowConsumerIsReset(t *testing.T) {
	forEachDialect(t, func(t *testing.T, e *testEnv) {
		a := e.newTenant("acme")
		e.srv.events.Buffer = 1
		st := e.openStream(t, a.Member, "", "")
		// Many events in one commit reach the broker in one read, faster
		// than any stream can write them out.
		err := e.db.RunInTx(context.Background(), nil, func(ctx context.Context, tx bun.Tx) error {
			for i := range 300 {
				ev := &store.Event{TenantID: &a.ID, Type: sdk.EventJobProgress, ObjectID: fmt.Sprint(i)}
				if err := store.AddEvent(ctx, tx, ev, map[string]int{"i": i}); err != nil {
					return err
				}
			}
			return nil
		})
		require.NoError(t, err)
		e.srv.events.Notify()
		for {
			f := st.next()
			if f.Event == sdk.EventReset {
				break
			}
		}
		select {
		case <-st.done:
		case <-time.After(10 * time.Second):
			t.Fatal("the stream did not end after its reset")
		}
		require.Eventually(t, func() bool { return e.srv.events.Subscribers() == 0 }, 5*time.Second, 10*time.Millisecond)
	})
}

// TestEventsTenantIsolation: B never sees A's events, live or replayed,
// and a platform admin sees both (or one tenant with ?tenant_id=).
func TestEventsTenantIsolation(t *testing.T) {
	forEachDialect(t, func(t *testing.T, e *testEnv) {
		a, b := e.newTenant("alpha"), e.newTenant("bravo")
		bs := e.openStream(t, b.Member, "", "")
		all := e.openStream(t, e.admin, "", "")
		onlyA := e.openStream(t, e.admin, "?tenant_id="+a.ID, "")
		var ja, jb sdk.Job
		e.call("POST", "/api/v1/jobs", a.Owner, sdk.CreateJobRequest{SourceID: a.Source}, 201, &ja)
		e.call("POST", "/api/v1/jobs", b.Owner, sdk.CreateJobRequest{SourceID: b.Source}, 201, &jb)
		require.Equal(t, jb.ID, jobOf(t, bs.event()).ID)
		require.Equal(t, ja.ID, jobOf(t, all.event()).ID)
		require.Equal(t, jb.ID, jobOf(t, all.event()).ID)
		require.Equal(t, ja.ID, jobOf(t, onlyA.event()).ID)
		bs.quiet(300 * time.Millisecond)
		onlyA.quiet(10 * time.Millisecond)

		replay := e.openStream(t, b.Member, "?since=0", "")
		require.Equal(t, jb.ID, jobOf(t, replay.event()).ID)
		replay.quiet(300 * time.Millisecond)
		e.apiErr("GET", "/api/v1/events?tenant_id="+a.ID, b.Member, nil, 403)
	})
}

// streamIsolation is the walker's case for the event stream (which never
// ends by itself): A replays everything it may see and meets no id of B.
func (e *testEnv) streamIsolation(t *testing.T, path string, a *tenantFixture, bIDs []string) {
	t.Helper()
	st := e.openStream(t, a.Owner, strings.TrimPrefix(path, "/api/v1/events")+"?since=0", "")
	for {
		select {
		case f := <-st.frames:
			for _, id := range bIDs {
				require.NotContains(t, f.Data, id, "the event stream leaks an id of tenant B")
			}
			continue
		case <-time.After(500 * time.Millisecond):
		}
		break
	}
	st.cancel()
}

// TestSDKEventsAgainstHub: sdk.Client.Events against the real handler,
// across the hub dropping every connection.
func TestSDKEventsAgainstHub(t *testing.T) {
	e := newEnv(t, store.DialectSQLite)
	a := e.newTenant("acme")
	c := sdk.New(e.ts.URL, a.Member)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	type item struct {
		ev  sdk.Event
		err error
	}
	got := make(chan item, 100)
	go func() {
		for ev, err := range c.Events(ctx, sdk.EventsOptions{Types: []string{sdk.EventJobCreated, sdk.EventJobUpdated}}) {
			got <- item{ev, err}
		}
		close(got)
	}()
	next := func() item {
		t.Helper()
		select {
		case it := <-got:
			return it
		case <-time.After(20 * time.Second):
			t.Fatal("no event from the SDK iterator")
			return item{}
		}
	}
	require.Eventually(t, func() bool { return e.srv.events.Subscribers() == 1 }, 5*time.Second, 5*time.Millisecond)
	var j1 sdk.Job
	e.call("POST", "/api/v1/jobs", a.Owner, sdk.CreateJobRequest{SourceID: a.Source}, 201, &j1)
	it := next()
	require.NoError(t, it.err)
	require.Equal(t, sdk.EventJobCreated, it.ev.Type)
	require.Equal(t, a.ID, it.ev.TenantID)

	// The hub drops the stream; what happens meanwhile is replayed on reconnect.
	e.ts.CloseClientConnections()
	require.Eventually(t, func() bool { return e.srv.events.Subscribers() == 0 }, 5*time.Second, 5*time.Millisecond)
	http.DefaultClient.CloseIdleConnections() // the test's own pooled connections were cut too
	e.call("POST", "/api/v1/jobs/"+j1.ID+"/cancel", a.Owner, nil, 200, nil)
	it = next()
	require.Error(t, it.err, "the drop is reported")
	it = next()
	require.NoError(t, it.err)
	require.Equal(t, sdk.EventJobUpdated, it.ev.Type)
	require.Equal(t, sdk.JobCanceled, jobOf(t, it.ev).Status)

	// A revoked token is yielded and ends the iteration.
	bad := sdk.New(e.ts.URL, "xv_nope")
	var errs []error
	for _, err := range bad.Events(ctx, sdk.EventsOptions{}) {
		errs = append(errs, err)
	}
	require.Len(t, errs, 1)
	require.ErrorIs(t, errs[0], sdk.ErrUnauthenticated)

	cancel()
	for range got { // the iterator ends with ctx
	}
}

// TestEventsSnapshotsAndRetries: snapshot.verified after a verdict,
// snapshot.deleted (the snapshot as it was) when a delete job completes, a
// retryable failure re-queues with job.updated and no job.failed.
func TestEventsSnapshotsAndRetries(t *testing.T) {
	forEachDialect(t, func(t *testing.T, e *testEnv) {
		a, ag, snapID := e.backedUp("acme")
		st := e.openStream(t, a.Member, "?types=snapshot.verified,snapshot.deleted,job.updated,job.failed", "")
		snapshotOf := func(ev sdk.Event) sdk.Snapshot {
			var s sdk.Snapshot
			require.NoError(t, json.Unmarshal(ev.Data, &s), "%s", ev.Data)
			return s
		}

		e.call("POST", "/api/v1/snapshots/"+snapID+"/verify", a.Owner, nil, 201, nil)
		vj := e.claim(ag, sdk.JobVerify)
		st.wantJob(sdk.EventJobUpdated, vj.ID, sdk.JobRunning)
		e.call("POST", "/api/v1/agent/jobs/"+vj.ID+"/complete", ag.Token, sdk.CompleteRequest{LeaseEpoch: vj.LeaseEpoch,
			Status: sdk.JobCompleted, Verify: &sdk.VerifyReport{Status: sdk.VerifyOK}}, 200, nil)
		st.wantJob(sdk.EventJobUpdated, vj.ID, sdk.JobCompleted)
		ev := st.event()
		require.Equal(t, sdk.EventSnapshotVerified, ev.Type)
		verified := snapshotOf(ev)
		require.Equal(t, snapID, verified.ID)
		require.Equal(t, sdk.VerifyOK, verified.VerifyStatus)

		e.call("DELETE", "/api/v1/snapshots/"+snapID, a.Owner, nil, 202, nil)
		dj := e.claim(ag, sdk.JobDeleteSnapshot)
		st.wantJob(sdk.EventJobUpdated, dj.ID, sdk.JobRunning)
		e.call("POST", "/api/v1/agent/jobs/"+dj.ID+"/complete", ag.Token, sdk.CompleteRequest{LeaseEpoch: dj.LeaseEpoch,
			Status: sdk.JobCompleted}, 200, nil)
		st.wantJob(sdk.EventJobUpdated, dj.ID, sdk.JobCompleted)
		ev = st.event()
		require.Equal(t, sdk.EventSnapshotDeleted, ev.Type)
		gone := snapshotOf(ev)
		require.Equal(t, verified.ID, gone.ID)
		require.Equal(t, verified.SHA256, gone.SHA256)
		e.call("GET", "/api/v1/snapshots/"+snapID, a.Member, nil, 404, nil)

		cj := e.claimOne(a, ag)
		st.wantJob(sdk.EventJobUpdated, cj.ID, sdk.JobRunning)
		e.call("POST", "/api/v1/agent/jobs/"+cj.ID+"/complete", ag.Token, sdk.CompleteRequest{LeaseEpoch: cj.LeaseEpoch,
			Status: sdk.JobFailed, ErrorMessage: "connection reset"}, 200, nil)
		requeued := jobOf(t, st.wantJob(sdk.EventJobUpdated, cj.ID, sdk.JobQueued))
		require.Equal(t, "connection reset", requeued.ErrorMessage)
		require.NotNil(t, requeued.RunAfter)
		st.quiet(300 * time.Millisecond)
	})
}

// TestEventsEndAtShutdown: streams end when the hub begins shutting down,
// so they do not hold up the graceful shutdown.
func TestEventsEndAtShutdown(t *testing.T) {
	e := newEnv(t, store.DialectSQLite)
	a := e.newTenant("acme")
	st := e.openStream(t, a.Member, "", "")
	e.srv.BeginShutdown()
	select {
	case <-st.done:
	case <-time.After(5 * time.Second):
		t.Fatal("the stream outlived BeginShutdown")
	}
}
