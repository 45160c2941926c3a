package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/xvault/xvault/agentd/internal/connector"
	"github.com/xvault/xvault/agentd/internal/egress"
	"github.com/xvault/xvault/agentd/internal/objstore"
	"github.com/xvault/xvault/sdk"
)

// Why a job's context ended early.
var (
	errLeaseLost       = errors.New("lease lost: the hub gave this job to another attempt")
	errCancelRequested = errors.New("canceled by an operator")
)

// lease tracks one claimed job: its progress, and a renewal loop that keeps
// the lease alive and learns about cancellation.
type lease struct {
	job   *sdk.ClaimedJob
	hub   *sdk.Client
	log   *slog.Logger
	every time.Duration

	filesDone, bytesRead, bytesWritten, warnCount atomic.Int64
	currentPath                                   atomic.Pointer[string]
	transferMode                                  atomic.Pointer[string] // ssh/sftp: "exec" or "sftp", once chosen

	mu       sync.Mutex
	warnings []string
	expires  time.Time

	secrets *sdk.SecretPayload // the lease's credential release, once fetched
	obj     *objstore.Store    // the job's storage target, once opened (nil: local_fs)
	copyObj *objstore.Store    // a copy job's destination target, once opened (nil: local_fs)

	restoreReport *sdk.RestoreReport // a restore job's published result (a database restore's, also when it failed)
	testReport    *sdk.TestReport    // a test_connection job's findings
	verifyReport  *sdk.VerifyReport  // a verify job's verdict
	copyReport    *sdk.CopyReport    // a copy job's copies, as read back

	// afterComplete runs once the hub recorded the job completed (a move
	// deletes the old copies); undo when the hub failed it instead (a
	// copy removes what it wrote).
	afterComplete func(ctx context.Context)
	undo          func()
}

const maxWarningsKept = 200

func (l *lease) progress() sdk.Progress {
	p := sdk.Progress{
		FilesDone: l.filesDone.Load(), BytesRead: l.bytesRead.Load(),
		BytesWritten: l.bytesWritten.Load(), Warnings: l.warnCount.Load(),
	}
	if cp := l.currentPath.Load(); cp != nil {
		p.CurrentPath = *cp
	}
	if tm := l.transferMode.Load(); tm != nil {
		p.TransferMode = *tm
	}
	return p
}

func (l *lease) warn(path string, err error) {
	l.log.Warn("job warning", "path", path, "err", err)
	l.addWarning(fmt.Sprintf("%s: %v", path, err))
}

// warnText records a warning that concerns the whole job, not one path.
func (l *lease) warnText(msg string) {
	l.log.Warn("job warning", "warning", msg)
	l.addWarning(msg)
}

func (l *lease) addWarning(msg string) {
	l.warnCount.Add(1)
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.warnings) < maxWarningsKept {
		l.warnings = append(l.warnings, msg)
	}
}

func (l *lease) warningList() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := append([]string(nil), l.warnings...)
	if n := l.warnCount.Load(); n > int64(len(out)) {
		out = append(out, fmt.Sprintf("… and %d more warnings", n-int64(len(out))))
	}
	return out
}

// renewLoop renews the lease until ctx ends; it cancels the job when the hub
// answers 409 (stale epoch), asks for cancellation, or the lease ran out
// while the hub could not be reached.
func (l *lease) renewLoop(ctx context.Context, cancel context.CancelCauseFunc) {
	t := time.NewTicker(l.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		rctx, rcancel := context.WithTimeout(ctx, l.every*2)
		resp, err := l.hub.Renew(rctx, l.job.ID, sdk.RenewRequest{LeaseEpoch: l.job.LeaseEpoch, Progress: l.progress()})
		rcancel()
		switch {
		case errors.Is(err, sdk.ErrConflict):
			cancel(errLeaseLost)
			return
		case err != nil:
			if ctx.Err() != nil {
				return
			}
			l.log.Warn("lease renewal failed", "err", err)
			if time.Now().After(l.expires) {
				cancel(errLeaseLost)
				return
			}
		case resp.CancelRequested:
			cancel(errCancelRequested)
			return
		default:
			l.expires = resp.LeaseExpiresAt
		}
	}
}

// runJob runs one claimed job and reports its end to the hub.
func (a *Agent) runJob(ctx context.Context, j *sdk.ClaimedJob) {
	log := a.log.With("job_id", j.ID, "tenant_id", j.TenantID, "job_type", j.Type, "attempt", j.Attempt)
	l := &lease{job: j, hub: a.hub, log: log, every: a.renewEvery(j), expires: j.LeaseExpiresAt}
	jobCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	a.mu.Lock()
	a.running[j.ID] = func() { cancel(context.Canceled) }
	a.mu.Unlock()
	a.meter.start(l)
	defer func() {
		a.meter.end(l)
		a.mu.Lock()
		delete(a.running, j.ID)
		a.mu.Unlock()
	}()

	renewCtx, stopRenew := context.WithCancel(jobCtx)
	renewDone := make(chan struct{})
	go func() { defer close(renewDone); l.renewLoop(renewCtx, cancel) }()

	log.Info("job started")
	var (
		report *sdk.SnapshotReport
		err    error
	)
	switch j.Type {
	case sdk.JobBackup:
		report, err = a.backup(jobCtx, l)
	case sdk.JobDeleteSnapshot:
		err = a.deleteSnapshot(jobCtx, l)
	case sdk.JobRestore:
		err = a.restore(jobCtx, l)
	case sdk.JobTestConnection:
		err = a.testConnection(jobCtx, l)
	case sdk.JobVerify:
		err = a.verify(jobCtx, l)
	case sdk.JobCopy:
		err = a.copySnapshot(jobCtx, l)
	default:
		err = fmt.Errorf("job type %q is not supported by this agent: %w", j.Type, connector.ErrPermanent)
	}
	stopRenew()
	<-renewDone
	a.finish(ctx, l, report, err, context.Cause(jobCtx))
}

// finish reports a job's end. cause is why the job context ended, if it did.
func (a *Agent) finish(ctx context.Context, l *lease, report *sdk.SnapshotReport, err, cause error) {
	j, log := l.job, l.log
	req := &sdk.CompleteRequest{LeaseEpoch: j.LeaseEpoch, Warnings: l.warningList()}
	p := l.progress()
	req.Progress = &p
	switch {
	case errors.Is(cause, errLeaseLost):
		a.removeRestore(l)
		log.Warn("job aborted: lease lost; output removed")
		return
	case errors.Is(cause, errCancelRequested):
		req.Status, req.ErrorMessage = sdk.JobCanceled, "canceled by an operator"
	case ctx.Err() != nil:
		log.Warn("job aborted by shutdown; its lease will lapse and the hub re-queues it")
		return
	case err != nil:
		req.Status, req.ErrorMessage = sdk.JobFailed, err.Error()
		req.Permanent = errors.Is(err, connector.ErrPermanent) || errors.Is(err, egress.ErrRefused)
		if r := l.restoreReport; r != nil && len(r.Databases) > 0 {
			req.Restore = &sdk.RestoreReport{Databases: r.Databases} // what loaded, and the error of the one that failed
		}
	default:
		req.Status, req.Snapshot, req.Restore, req.Test = sdk.JobCompleted, report, l.restoreReport, l.testReport
		req.Verify, req.Copy = l.verifyReport, l.copyReport
	}
	ended, cerr := a.complete(ctx, l, req)
	refused := cerr == nil && req.Status == sdk.JobCompleted && ended.Status != sdk.JobCompleted
	if refused {
		// The hub failed the job instead of recording its result (a report
		// it refuses: a backup into a target the tenant may not use, a copy
		// that does not match its links): nothing refers to the output.
		cerr = fmt.Errorf("the hub recorded the job %s: %s", ended.Status, ended.ErrorMessage)
	}
	if cerr != nil {
		log.Error("could not report job end; removing its output", "err", cerr)
		if report != nil {
			a.removeSnapshot(context.WithoutCancel(ctx), l)
		}
		a.removeRestore(l)
		if refused && l.undo != nil {
			l.undo() // else a copy's output stays: another attempt may be writing there, and replaces it
		}
		return
	}
	if ended.Status == sdk.JobCompleted && l.afterComplete != nil {
		l.afterComplete(context.WithoutCancel(ctx))
	}
	log.Info("job ended", "status", req.Status, "error", req.ErrorMessage, "files", p.FilesDone, "bytes_written", p.BytesWritten)
}

// complete reports a job's end, retrying transient failures while the
// lease lasts, and returns the job as the hub recorded it.
func (a *Agent) complete(ctx context.Context, l *lease, req *sdk.CompleteRequest) (*sdk.Job, error) {
	for attempt := 1; ; attempt++ {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		job, err := a.hub.Complete(cctx, l.job.ID, *req)
		cancel()
		if err == nil || errors.Is(err, sdk.ErrConflict) || time.Now().After(l.expires) {
			return job, err
		}
		l.log.Warn("reporting job end failed; retrying", "err", err, "attempt", attempt)
		if !sleep(ctx, time.Duration(attempt)*time.Second) {
			return nil, err
		}
	}
}

// renewEvery renews at the configured interval, but at least three times per
// lease, so one lost renewal never lets a lease lapse.
func (a *Agent) renewEvery(j *sdk.ClaimedJob) time.Duration {
	every := a.cfg.RenewInterval
	if lease := time.Duration(j.LeaseSeconds) * time.Second; lease > 0 && every > lease/3 {
		every = lease / 3
	}
	return max(every, 200*time.Millisecond)
}
