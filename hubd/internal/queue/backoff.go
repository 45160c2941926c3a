// Package queue holds the job queue's moving parts around the jobs table
// (whose SQL lives in store): retry backoff, the Notifier that wakes
// long-polling claimers (in-process and, on PostgreSQL, across hub replicas
// with LISTEN/NOTIFY), and the background loops (Loop, Rescuer) that keep
// the queue healthy.
package queue

import (
	"math/rand/v2"
	"time"
)

// Backoff bounds.
const (
	BackoffBase = 5 * time.Second
	BackoffCap  = 5 * time.Minute
)

// Backoff is the delay before attempt+1 of a job whose attempt-th run
// failed: exponential from 5 s (doubling per attempt, capped at 5 min) with
// equal jitter, i.e. uniformly within [d/2, d]. attempt < 1 counts as 1.
func Backoff(attempt int) time.Duration {
	d := BackoffBase
	for i := 1; i < attempt && d < BackoffCap; i++ {
		d *= 2
	}
	d = min(d, BackoffCap)
	half := d / 2
	return half + rand.N(half+1)
}
