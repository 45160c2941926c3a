package cmdutil

import (
	"context"
	"encoding/json"
	"errors"
	"iter"
	"time"

	"github.com/xvault/xvault/sdk"
)

// EventStream is sdk.Client.Events: the hub's event stream as an iterator.
type EventStream func(ctx context.Context, opts sdk.EventsOptions) iter.Seq2[sdk.Event, error]

// WaitOptions configure WaitJob.
type WaitOptions struct {
	// Events follows the job live; nil polls only.
	Events EventStream
	// Interval is the polling period while the stream is down (or absent).
	Interval time.Duration
	// Safety is the polling period while the stream is up, in case an
	// event was missed (default 15 s).
	Safety time.Duration
	// OnUpdate sees every new state of the job, the first one included.
	OnUpdate func(*sdk.Job)
}

// maxTransientPolls is how many polls in a row may fail for transient
// reasons (hub unreachable or unavailable) before WaitJob gives up.
const maxTransientPolls = 5

// WaitJob follows a job until it is no longer active and returns its last
// state: live from the event stream (job.updated, job.progress), polling
// GetJob when the stream is down or resets, and now and then anyway. A
// canceled ctx returns the last seen job with ctx's error.
func WaitJob(ctx context.Context, c *sdk.Client, id string, o WaitOptions) (*sdk.Job, error) {
	if o.Interval <= 0 {
		o.Interval = 2 * time.Second
	}
	if o.Safety <= 0 {
		o.Safety = 15 * time.Second
	}
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	var events <-chan streamItem
	if o.Events != nil {
		events = follow(ctx, o.Events, id)
	}
	w := &waiter{c: c, id: id, o: o}
	if done, err := w.poll(ctx); done || err != nil {
		return w.last, err
	}
	live := events != nil
	timer := time.NewTimer(w.period(live))
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return w.last, ctx.Err()
		case it, ok := <-events:
			switch {
			case !ok: // the stream ended for good: poll from now on
				events, live = nil, false
			case it.err != nil:
				live = false
			case it.job == nil: // reset: reload
				live = true
				if done, err := w.poll(ctx); done || err != nil {
					return w.last, err
				}
			default:
				live = true
				if w.seen(it.job) {
					return w.last, nil
				}
				continue // the timer keeps running
			}
		case <-timer.C:
			if done, err := w.poll(ctx); done || err != nil {
				return w.last, err
			}
		}
		timer.Reset(w.period(live))
	}
}

type waiter struct {
	c        *sdk.Client
	id       string
	o        WaitOptions
	last     *sdk.Job
	failures int
}

func (w *waiter) period(live bool) time.Duration {
	if live {
		return w.o.Safety
	}
	return w.o.Interval
}

// poll fetches the job; done when it ended. Transient failures are
// tolerated a few times in a row.
func (w *waiter) poll(ctx context.Context) (bool, error) {
	j, err := w.c.GetJob(ctx, w.id)
	switch {
	case err == nil:
		w.failures = 0
		return w.seen(j), nil
	case ctx.Err() != nil:
		return false, ctx.Err()
	case transient(err) && w.failures < maxTransientPolls:
		w.failures++
		return false, nil
	default:
		return false, err
	}
}

// seen takes a new state of the job; true when it ended.
func (w *waiter) seen(j *sdk.Job) bool {
	w.last = j
	if w.o.OnUpdate != nil {
		w.o.OnUpdate(j)
	}
	return !j.Status.Active()
}

func transient(err error) bool {
	var te *sdk.TransportError
	return errors.As(err, &te) || errors.Is(err, sdk.ErrUnavailable)
}

// streamItem is one thing the stream said about the job: a new state, a
// reset (job nil, err nil) or a stream error.
type streamItem struct {
	job *sdk.Job
	err error
}

// follow runs the event stream for job id until ctx ends and sends what
// concerns the job. The channel closes when the stream ends.
func follow(ctx context.Context, events EventStream, id string) <-chan streamItem {
	ch := make(chan streamItem, 16)
	go func() {
		defer close(ch)
		opts := sdk.EventsOptions{Types: []string{sdk.EventJobUpdated, sdk.EventJobProgress}}
		for ev, err := range events(ctx, opts) {
			var it streamItem
			switch {
			case err != nil:
				it.err = err
			case ev.Type == sdk.EventReset:
			default:
				var j sdk.Job
				if json.Unmarshal(ev.Data, &j) != nil || j.ID != id {
					continue
				}
				it.job = &j
			}
			select {
			case ch <- it:
			case <-ctx.Done():
				return
			}
		}
	}()
	return ch
}
