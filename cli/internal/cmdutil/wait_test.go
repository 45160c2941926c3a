package cmdutil

import (
	"context"
	"encoding/json"
	"errors"
	"iter"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/sdk"
)

// jobHub serves GET /api/v1/jobs/{id} with whatever status is current.
type jobHub struct {
	mu     sync.Mutex
	status sdk.JobStatus
	gets   atomic.Int32
}

func (h *jobHub) set(s sdk.JobStatus) { h.mu.Lock(); h.status = s; h.mu.Unlock() }

func newJobHub(t *testing.T, status sdk.JobStatus) (*jobHub, *sdk.Client) {
	h := &jobHub{status: status}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.gets.Add(1)
		h.mu.Lock()
		j := sdk.Job{ID: r.PathValue("id"), Status: h.status}
		h.mu.Unlock()
		if r.URL.Path != "/api/v1/jobs/job_1" {
			w.WriteHeader(404)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(sdk.Job{ID: "job_1", Status: j.Status})
	}))
	t.Cleanup(ts.Close)
	return h, sdk.New(ts.URL, "tok")
}

func jobEvent(t *testing.T, typ, id string, status sdk.JobStatus, read int64) sdk.Event {
	b, err := json.Marshal(sdk.Job{ID: id, Status: status, Progress: &sdk.Progress{BytesRead: read}})
	require.NoError(t, err)
	return sdk.Event{Type: typ, Data: b}
}

// stream yields evs, then blocks until ctx ends.
func stream(evs []sdk.Event, errs []error) EventStream {
	return func(ctx context.Context, _ sdk.EventsOptions) iter.Seq2[sdk.Event, error] {
		return func(yield func(sdk.Event, error) bool) {
			for i, ev := range evs {
				var err error
				if i < len(errs) {
					err = errs[i]
				}
				if !yield(ev, err) {
					return
				}
			}
			<-ctx.Done()
		}
	}
}

func TestWaitJobFollowsEvents(t *testing.T) {
	t.Parallel()
	h, c := newJobHub(t, sdk.JobRunning)
	var seen []int64
	evs := []sdk.Event{
		jobEvent(t, sdk.EventJobProgress, "job_other", sdk.JobCompleted, 0), // another job: ignored
		jobEvent(t, sdk.EventJobProgress, "job_1", sdk.JobRunning, 10),
		jobEvent(t, sdk.EventJobProgress, "job_1", sdk.JobRunning, 20),
		jobEvent(t, sdk.EventJobUpdated, "job_1", sdk.JobCompleted, 30),
	}
	final, err := WaitJob(context.Background(), c, "job_1", WaitOptions{Events: stream(evs, nil),
		Interval: time.Hour, Safety: time.Hour, OnUpdate: func(j *sdk.Job) {
			if j.Progress != nil {
				seen = append(seen, j.Progress.BytesRead)
			}
		}})
	require.NoError(t, err)
	require.Equal(t, sdk.JobCompleted, final.Status)
	require.EqualValues(t, 30, final.Progress.BytesRead)
	require.Equal(t, []int64{10, 20, 30}, seen)
	require.EqualValues(t, 1, h.gets.Load(), "one GET for the state at the start, the rest from events")
}

func TestWaitJobFallsBackToPolling(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		events EventStream
	}{
		{"no stream", nil},
		{"stream fails", stream([]sdk.Event{{}}, []error{errors.New("stream: 404")})},
		{"stream ends", func(context.Context, sdk.EventsOptions) iter.Seq2[sdk.Event, error] {
			return func(func(sdk.Event, error) bool) {}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h, c := newJobHub(t, sdk.JobRunning)
			time.AfterFunc(50*time.Millisecond, func() { h.set(sdk.JobFailed) })
			final, err := WaitJob(context.Background(), c, "job_1", WaitOptions{Events: tt.events,
				Interval: 5 * time.Millisecond, Safety: time.Hour})
			require.NoError(t, err)
			require.Equal(t, sdk.JobFailed, final.Status)
			require.Greater(t, h.gets.Load(), int32(1))
		})
	}
}

func TestWaitJobResetReloads(t *testing.T) {
	t.Parallel()
	h, c := newJobHub(t, sdk.JobRunning)
	ready := make(chan struct{})
	events := func(ctx context.Context, _ sdk.EventsOptions) iter.Seq2[sdk.Event, error] {
		return func(yield func(sdk.Event, error) bool) {
			<-ready
			if yield(sdk.Event{Type: sdk.EventReset}, nil) {
				<-ctx.Done()
			}
		}
	}
	go func() {
		for h.gets.Load() == 0 {
			time.Sleep(time.Millisecond)
		}
		h.set(sdk.JobCompleted) // ended while the stream was away
		close(ready)
	}()
	final, err := WaitJob(context.Background(), c, "job_1", WaitOptions{Events: events, Interval: time.Hour, Safety: time.Hour})
	require.NoError(t, err)
	require.Equal(t, sdk.JobCompleted, final.Status)
	require.EqualValues(t, 2, h.gets.Load())
}

func TestWaitJobInterrupted(t *testing.T) {
	t.Parallel()
	_, c := newJobHub(t, sdk.JobRunning)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	last, err := WaitJob(ctx, c, "job_1", WaitOptions{Events: stream(nil, nil), Interval: time.Millisecond})
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Equal(t, sdk.JobRunning, last.Status)
}

func TestWaitJobNotFound(t *testing.T) {
	t.Parallel()
	_, c := newJobHub(t, sdk.JobRunning)
	_, err := WaitJob(context.Background(), c, "job_404", WaitOptions{Interval: time.Millisecond})
	require.Error(t, err)
	require.Equal(t, ExitNotFound, ExitCode(err))
}

func TestProgressLineETA(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var b strings.Builder
	p := &ProgressLine{W: &b, Width: 200, Now: func() time.Time { return now }, Total: 100 << 20, Estimate: true}
	p.Update(&sdk.Job{ID: "job_1", Status: sdk.JobRunning, Progress: &sdk.Progress{BytesRead: 10 << 20}})
	now = now.Add(time.Second)
	p.Update(&sdk.Job{ID: "job_1", Status: sdk.JobRunning, Progress: &sdk.Progress{BytesRead: 20 << 20}})
	require.Contains(t, last(b.String()), "[##--------] 20%")
	require.Contains(t, last(b.String()), "10.0 MiB/s")
	require.Contains(t, last(b.String()), "ETA ~8s")
}

// last is the last line a ProgressLine drew.
func last(out string) string {
	lines := strings.Split(out, "\r")
	return lines[len(lines)-1]
}

func TestProgressLinePassedEstimate(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	p := &ProgressLine{W: &b, Width: 200, Now: time.Now, Total: 10 << 20, Estimate: true}
	p.Update(&sdk.Job{ID: "job_1", Status: sdk.JobRunning, Progress: &sdk.Progress{BytesRead: 20 << 20}})
	require.NotContains(t, last(b.String()), "%", "no bar once the data outgrew the last backup")
	p = &ProgressLine{W: &b, Width: 200, Now: time.Now, Total: 10 << 20}
	p.Update(&sdk.Job{ID: "job_1", Status: sdk.JobRunning, Progress: &sdk.Progress{BytesRead: 20 << 20}})
	require.Contains(t, last(b.String()), "99%", "a known total holds the bar at 99% until the end")
}
