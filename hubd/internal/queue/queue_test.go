package queue

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/hubd/internal/store"
	"github.com/xvault/xvault/hubd/internal/store/storetest"
)

func TestBackoff(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		attempt  int
		min, max time.Duration
	}{
		{0, 2500 * time.Millisecond, 5 * time.Second},
		{1, 2500 * time.Millisecond, 5 * time.Second},
		{2, 5 * time.Second, 10 * time.Second},
		{4, 20 * time.Second, 40 * time.Second},
		{7, 150 * time.Second, 300 * time.Second},
		{50, 150 * time.Second, 300 * time.Second},
	} {
		for range 100 {
			d := Backoff(tc.attempt)
			require.GreaterOrEqual(t, d, tc.min, "attempt %d", tc.attempt)
			require.LessOrEqual(t, d, tc.max, "attempt %d", tc.attempt)
		}
	}
}

func TestNotifierWakesAllWaiters(t *testing.T) {
	t.Parallel()
	n := NewNotifier(nil, nil)
	var woke atomic.Int32
	var wg sync.WaitGroup
	ready := make(chan struct{}, 5)
	for range 5 {
		wg.Go(func() {
			wake, release := n.Subscribe()
			defer release()
			ready <- struct{}{}
			select {
			case <-wake:
				woke.Add(1)
			case <-time.After(5 * time.Second):
			}
		})
	}
	for range 5 {
		<-ready
	}
	n.Notify(context.Background())
	wg.Wait()
	require.EqualValues(t, 5, woke.Load())

	wake := n.Wait()
	select {
	case <-wake:
		t.Fatal("a new subscription waits for the next Notify")
	default:
	}
}

func TestNotifierAcrossReplicas(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects(t) {
		if d != store.DialectPostgres {
			continue
		}
		db1, db2 := storetest.Open(t, d), storetest.Open(t, d)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		a, b := NewNotifier(db1, nil), NewNotifier(db2, nil)
		listening := b.Wait() // Listen wakes once when it starts listening
		done := make(chan struct{})
		go func() { defer close(done); _ = b.Listen(ctx) }()
		select {
		case <-listening:
		case <-time.After(10 * time.Second):
			t.Fatal("listener did not start")
		}
		// LISTEN takes effect asynchronously: notify until b hears one.
		deadline := time.After(10 * time.Second)
		for heard := false; !heard; {
			wake := b.Wait()
			a.Notify(ctx)
			select {
			case <-wake:
				heard = true
			case <-time.After(200 * time.Millisecond):
			case <-deadline:
				t.Fatal("replica b was not woken by NOTIFY from a")
			}
		}
		cancel()
		<-done
	}
}

func TestRescuerWithFakeClock(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects(t) {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db := storetest.Open(t, d)
			t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
			tn := &store.Tenant{Name: "t"}
			require.NoError(t, store.CreateTenant(ctx, db, tn, nil))
			ag := &store.Agent{Name: "a"}
			require.NoError(t, store.CreateAgent(ctx, db, ag))
			job := &store.Job{TenantID: tn.ID, Type: store.JobTypeRestore, CreatedAt: t0}
			require.NoError(t, store.EnqueueJob(ctx, db, job))
			_, err := store.ClaimJob(ctx, db, store.ClaimParams{AgentID: ag.ID, Now: t0, Lease: time.Minute})
			require.NoError(t, err)

			now := t0.Add(30 * time.Second)
			n := NewNotifier(nil, nil)
			r := NewRescuer(db, n, nil)
			r.Now = func() time.Time { return now }
			r.Backoff = func(int) time.Duration { return 10 * time.Second }
			jobs, err := r.RunOnce(ctx)
			require.NoError(t, err)
			require.Empty(t, jobs, "lease not expired yet")

			now = t0.Add(2 * time.Minute)
			wake := n.Wait()
			jobs, err = r.RunOnce(ctx)
			require.NoError(t, err)
			require.Len(t, jobs, 1)
			require.Equal(t, store.JobQueued, jobs[0].Status)
			require.Equal(t, now.Add(10*time.Second), jobs[0].RunAfter)
			select {
			case <-wake:
			default:
				t.Fatal("re-queue must wake claimers")
			}
		})
	}
}

func TestRescuerUntargetsBackupsOfUnseenChainAgents(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects(t) {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db := storetest.Open(t, d)
			t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
			tn := &store.Tenant{Name: "t"}
			require.NoError(t, store.CreateTenant(ctx, db, tn, nil))
			ag := &store.Agent{Name: "a", LastSeenAt: &t0}
			require.NoError(t, store.CreateAgent(ctx, db, ag))
			src := &store.Source{TenantID: tn.ID, Type: "sftp", Name: "web", Config: []byte(`{}`)}
			require.NoError(t, store.CreateSource(ctx, db, src))
			job, _, err := store.EnqueueBackup(ctx, db, &store.Job{TenantID: tn.ID, SourceID: &src.ID, TargetAgentID: &ag.ID,
				CreatedAt: t0})
			require.NoError(t, err)

			now := t0.Add(30 * time.Minute)
			n := NewNotifier(nil, nil)
			r := NewRescuer(db, n, nil)
			r.Now, r.ChainGrace = func() time.Time { return now }, time.Hour
			jobs, err := r.RunOnce(ctx)
			require.NoError(t, err)
			require.Empty(t, jobs, "the chain agent is within the grace")

			now = t0.Add(61 * time.Minute)
			wake := n.Wait()
			jobs, err = r.RunOnce(ctx)
			require.NoError(t, err)
			require.Len(t, jobs, 1)
			require.Equal(t, job.ID, jobs[0].ID)
			require.Nil(t, jobs[0].TargetAgentID)
			require.Equal(t, store.JobQueued, jobs[0].Status)
			select {
			case <-wake:
			default:
				t.Fatal("freeing a backup must wake claimers")
			}
		})
	}
}

func TestLoopStartStop(t *testing.T) {
	t.Parallel()
	var ticks atomic.Int32
	l := &Loop{Name: "test", Interval: 5 * time.Millisecond, Tick: func(context.Context) error {
		ticks.Add(1)
		return nil
	}}
	l.Start(context.Background())
	l.Start(context.Background()) // no second goroutine
	require.Eventually(t, func() bool { return ticks.Load() >= 3 }, 5*time.Second, time.Millisecond)
	l.Stop()
	after := ticks.Load()
	time.Sleep(20 * time.Millisecond)
	require.Equal(t, after, ticks.Load(), "no tick after Stop")
	l.Stop()

	r := NewRescuer(storetest.Open(t, store.DialectSQLite), nil, nil)
	r.Interval = time.Millisecond
	r.Start(context.Background())
	time.Sleep(10 * time.Millisecond)
	r.Stop()
}
