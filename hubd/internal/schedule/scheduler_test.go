package schedule_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/hubd/internal/schedule"
	"github.com/xvault/xvault/hubd/internal/store"
	"github.com/xvault/xvault/hubd/internal/store/storetest"
)

var ctx = context.Background()

// clock is a fake clock tests move by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(s string)        { c.mu.Lock(); defer c.mu.Unlock(); c.t = parse(s) }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }
func parse(s string) time.Time       { t, _ := time.Parse(time.RFC3339, s); return t }
func newScheduler(db *store.DB, c *clock) *schedule.Scheduler {
	return &schedule.Scheduler{DB: db, Now: c.Now}
}

type env struct {
	db     *store.DB
	tenant string
	source string
}

func setup(t *testing.T, dialect string) *env {
	db := storetest.Open(t, dialect)
	tn := &store.Tenant{Name: "acme"}
	require.NoError(t, store.CreateTenant(ctx, db, tn, &store.TenantKey{PublicKey: "age1x", EncryptedPrivateKey: []byte("s"), KEKID: "k"}))
	src := &store.Source{TenantID: tn.ID, Type: "sftp", Name: "web", Config: json.RawMessage(`{}`)}
	require.NoError(t, store.CreateSource(ctx, db, src))
	return &env{db: db, tenant: tn.ID, source: src.ID}
}

// addSchedule stores a schedule the way the API does: next run from now.
func (e *env) addSchedule(t *testing.T, cron string, interval int, tz string, now time.Time) *store.Schedule {
	spec, f := schedule.Parse(cron, interval, tz, now)
	require.Nil(t, f)
	next := spec.Next(now)
	s := &store.Schedule{TenantID: e.tenant, SourceID: e.source, Timezone: tz, Enabled: true, NextRunAt: &next, CreatedAt: now}
	if cron != "" {
		s.Cron = &cron
	}
	if interval != 0 {
		s.IntervalMinutes = &interval
	}
	require.NoError(t, store.CreateSchedule(ctx, e.db, s))
	return s
}

func (e *env) jobs(t *testing.T) []store.Job {
	rows, _, err := store.ListJobs(ctx, e.db, e.tenant, store.JobListParams{})
	require.NoError(t, err)
	return rows
}

// finishJobs ends every active job (as if the agent completed them).
func (e *env) finishJobs(t *testing.T) {
	_, err := e.db.NewUpdate().Model((*store.Job)(nil)).Set("status = 'completed'").Where("status = 'queued'").Exec(ctx)
	require.NoError(t, err)
}

func forEachDialect(t *testing.T, fn func(t *testing.T, e *env)) {
	for _, d := range storetest.Dialects(t) {
		t.Run(d, func(t *testing.T) { t.Parallel(); fn(t, setup(t, d)) })
	}
}

func TestSchedulerFiresOnTime(t *testing.T) {
	forEachDialect(t, func(t *testing.T, e *env) {
		c := &clock{}
		c.Set("2026-11-20T10:00:30Z")
		sch := e.addSchedule(t, "* * * * *", 0, "UTC", c.Now())
		s := newScheduler(e.db, c)
		fired, err := s.RunOnce(ctx)
		require.NoError(t, err)
		require.Empty(t, fired, "not due before 10:01")
		c.Set("2026-11-20T10:01:00Z")
		fired, err = s.RunOnce(ctx)
		require.NoError(t, err)
		require.Len(t, fired, 1)
		require.Equal(t, store.SlotQueued, fired[0].Outcome)
		require.Equal(t, parse("2026-11-20T10:01:00Z"), fired[0].Slot)
		require.Equal(t, parse("2026-11-20T10:02:00Z"), fired[0].Next)
		jobs := e.jobs(t)
		require.Len(t, jobs, 1)
		require.Equal(t, fired[0].JobID, jobs[0].ID)
		got, err := store.GetSchedule(ctx, e.db, e.tenant, sch.ID)
		require.NoError(t, err)
		require.Equal(t, parse("2026-11-20T10:02:00Z"), *got.NextRunAt)
		require.Equal(t, parse("2026-11-20T10:01:00Z"), *got.LastRunAt)
		fired, err = s.RunOnce(ctx)
		require.NoError(t, err)
		require.Empty(t, fired, "a slot fires once")
	})
}

func TestSchedulerSkipsWhenBackupActive(t *testing.T) {
	forEachDialect(t, func(t *testing.T, e *env) {
		c := &clock{}
		c.Set("2026-11-20T10:00:00Z")
		e.addSchedule(t, "", 1, "UTC", c.Now())
		s := newScheduler(e.db, c)
		c.Add(time.Minute)
		fired, err := s.RunOnce(ctx)
		require.NoError(t, err)
		require.Equal(t, store.SlotQueued, fired[0].Outcome)
		c.Add(time.Minute)
		fired, err = s.RunOnce(ctx)
		require.NoError(t, err)
		require.Len(t, fired, 1)
		require.Equal(t, store.SlotSkippedActive, fired[0].Outcome, "never queued behind the active backup")
		require.Len(t, e.jobs(t), 1)
		runs, err := store.ListScheduleRuns(ctx, e.db, e.tenant, fired[0].ScheduleID, 10)
		require.NoError(t, err)
		require.Len(t, runs, 2)
		require.Equal(t, store.SlotSkippedActive, runs[0].Outcome)
		require.NotNil(t, runs[0].JobID)

		e.finishJobs(t)
		c.Add(time.Minute)
		fired, err = s.RunOnce(ctx)
		require.NoError(t, err)
		require.Equal(t, store.SlotQueued, fired[0].Outcome)
	})
}

func TestSchedulerOneCatchUpAfterDowntime(t *testing.T) {
	forEachDialect(t, func(t *testing.T, e *env) {
		c := &clock{}
		c.Set("2026-11-20T10:00:00Z")
		e.addSchedule(t, "*/5 * * * *", 0, "UTC", c.Now())
		s := newScheduler(e.db, c)
		c.Set("2026-11-20T13:02:00Z") // the hub was down for three hours
		fired, err := s.RunOnce(ctx)
		require.NoError(t, err)
		require.Len(t, fired, 1, "one catch-up run, not a burst")
		require.Equal(t, parse("2026-11-20T10:05:00Z"), fired[0].Slot)
		require.Equal(t, parse("2026-11-20T13:05:00Z"), fired[0].Next)
		fired, err = s.RunOnce(ctx)
		require.NoError(t, err)
		require.Empty(t, fired)
		require.Len(t, e.jobs(t), 1)
	})
}

// A daily 02:30 Europe/Berlin schedule across both DST changes fires once
// per day, never twice and never skipping a day.
func TestSchedulerDST(t *testing.T) {
	forEachDialect(t, func(t *testing.T, e *env) {
		c := &clock{}
		c.Set("2026-10-23T12:00:00Z")
		e.addSchedule(t, "30 2 * * *", 0, "Europe/Berlin", c.Now())
		s := newScheduler(e.db, c)
		var slots []string
		for c.Now().Before(parse("2026-10-27T12:00:00Z")) {
			c.Add(10 * time.Minute)
			fired, err := s.RunOnce(ctx)
			require.NoError(t, err)
			for _, f := range fired {
				slots = append(slots, f.Slot.Format(time.RFC3339))
			}
			e.finishJobs(t)
		}
		require.Equal(t, []string{"2026-10-24T00:30:00Z", "2026-10-25T01:30:00Z", "2026-10-26T01:30:00Z",
			"2026-10-27T01:30:00Z"}, slots)
	})
}

func TestSchedulerSkipsDisabledSource(t *testing.T) {
	forEachDialect(t, func(t *testing.T, e *env) {
		c := &clock{}
		c.Set("2026-11-20T10:00:00Z")
		e.addSchedule(t, "", 1, "UTC", c.Now())
		_, err := e.db.NewUpdate().Model((*store.Source)(nil)).Set("status = 'disabled'").Where("id = ?", e.source).Exec(ctx)
		require.NoError(t, err)
		c.Add(time.Minute)
		fired, err := newScheduler(e.db, c).RunOnce(ctx)
		require.NoError(t, err)
		require.Equal(t, store.SlotSkippedDisabled, fired[0].Outcome)
		require.Empty(t, e.jobs(t))
	})
}

// A backup the hub refuses to queue (the source's storage target is one no
// agent can reach) is recorded as a skipped slot with the reason, and the
// schedule moves on instead of retrying the slot every tick.
func TestSchedulerRecordsRefusal(t *testing.T) {
	forEachDialect(t, func(t *testing.T, e *env) {
		c := &clock{}
		c.Set("2026-11-20T10:00:00Z")
		sch := e.addSchedule(t, "", 1, "UTC", c.Now())
		cred := &store.Credential{TenantID: e.tenant, Name: "key", Kind: "s3_access_key", Ciphertext: []byte{1}, KEKID: "k"}
		require.NoError(t, store.CreateCredential(ctx, e.db, cred))
		st := &store.StorageTarget{TenantID: &e.tenant, Name: "garage", Type: "s3", Endpoint: "https://s3.example.org",
			Bucket: "b", CredentialID: cred.ID}
		require.NoError(t, store.CreateStorageTarget(ctx, e.db, st))
		_, err := e.db.NewUpdate().Model((*store.Source)(nil)).Set("storage_id = ?", st.ID).Where("id = ?", e.source).Exec(ctx)
		require.NoError(t, err)
		c.Add(time.Minute)
		fired, err := newScheduler(e.db, c).RunOnce(ctx)
		require.NoError(t, err)
		require.Len(t, fired, 1)
		require.Equal(t, store.SlotSkippedRefused, fired[0].Outcome)
		require.Contains(t, fired[0].Reason, "not supported by any agent")
		require.Empty(t, e.jobs(t))
		runs, err := store.ListScheduleRuns(ctx, e.db, e.tenant, sch.ID, 10)
		require.NoError(t, err)
		require.Len(t, runs, 1)
		require.Equal(t, store.SlotSkippedRefused, runs[0].Outcome)
		require.Contains(t, *runs[0].Reason, "storage target garage")
		fired, err = newScheduler(e.db, c).RunOnce(ctx)
		require.NoError(t, err)
		require.Empty(t, fired, "the refused slot is not retried")
	})
}

// Several schedulers (hub replicas) racing over the same due slots: each
// slot fires once. Meaningful on PostgreSQL (several connections);
// SQLite serialises them anyway.
func TestSchedulersRacing(t *testing.T) {
	forEachDialect(t, func(t *testing.T, e *env) {
		c := &clock{}
		c.Set("2026-11-20T10:00:00Z")
		var srcs []string
		for i := range 20 {
			src := &store.Source{TenantID: e.tenant, Type: "sftp", Name: "s" + string(rune('a'+i)), Config: json.RawMessage(`{}`)}
			require.NoError(t, store.CreateSource(ctx, e.db, src))
			srcs = append(srcs, src.ID)
			e.source = src.ID
			e.addSchedule(t, "* * * * *", 0, "UTC", c.Now())
			e.addSchedule(t, "", 1, "UTC", c.Now()) // two schedules of one source, same slot
		}
		for round := range 3 {
			c.Add(time.Minute)
			var wg sync.WaitGroup
			results := make([][]schedule.Fired, 4)
			errs := make([]error, 4)
			for i := range results {
				wg.Add(1)
				go func() {
					defer wg.Done()
					results[i], errs[i] = newScheduler(e.db, c).RunOnce(ctx)
				}()
			}
			wg.Wait()
			for _, err := range errs {
				require.NoError(t, err)
			}
			total, queued := 0, 0
			for _, r := range results {
				total += len(r)
				for _, f := range r {
					if f.Outcome == store.SlotQueued {
						queued++
					}
				}
			}
			require.Equal(t, 40, total, "round %d: every slot handled exactly once", round)
			require.Equal(t, 20, queued, "round %d: one backup per source", round)
			n, err := e.db.NewSelect().Model((*store.ScheduleRun)(nil)).Count(ctx)
			require.NoError(t, err)
			require.Equal(t, 40*(round+1), int(n))
			e.finishJobs(t)
		}
		require.Len(t, srcs, 20)
	})
}
