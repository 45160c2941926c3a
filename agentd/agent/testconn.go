package agent

import (
	"context"
	"errors"
	"fmt"

	"github.com/xvault/xvault/agentd/internal/connector"
	"github.com/xvault/xvault/agentd/internal/objstore"
	"github.com/xvault/xvault/sdk"
)

// testConnection runs a test_connection job: the source's connector
// connects, lists, checks privileges and reports versions, changing nothing.
// A source the connector cannot reach is a report with a failed check, not
// a failed job: the job fails only when the test itself could not run.
func (a *Agent) testConnection(ctx context.Context, l *lease) error {
	if l.job.StorageTargetID != "" {
		return a.testStorage(ctx, l)
	}
	secret, err := a.fetchSecret(ctx, l)
	if err != nil {
		return err
	}
	env, cleanup, err := a.connectorEnv(ctx, l)
	if err != nil {
		return err
	}
	defer cleanup()
	conn, err := newConnector(l.job, secret, env)
	if err != nil {
		l.testReport = &sdk.TestReport{OK: false, Checks: []sdk.TestCheck{{Name: "configuration", OK: false, Detail: err.Error()}}}
		return nil
	}
	tester, ok := conn.(connector.Tester)
	if !ok {
		return fmt.Errorf("source type %q cannot be tested by this agent: %w", l.job.SourceType, connector.ErrPermanent)
	}
	rep, err := tester.Test(ctx)
	if err != nil {
		return err
	}
	if rep.Checks == nil {
		rep.Checks = []sdk.TestCheck{}
	}
	l.testReport = rep
	return nil
}

// testStorage runs the test_connection job of a storage target (xv storage
// test): the bucket exists, the key writes, reads back and deletes a probe
// object, and lists the unfinished uploads below the tenant's prefix (the
// stale-upload sweeper needs that). Each is a check of the report; a
// failed check is a report, not a failed job.
func (a *Agent) testStorage(ctx context.Context, l *lease) error {
	st := l.job.Storage
	if st == nil || st.TargetID != l.job.StorageTargetID {
		return fmt.Errorf("storage test of target %s without its lease: %w", l.job.StorageTargetID, connector.ErrPermanent)
	}
	rep := &sdk.TestReport{OK: true, Server: st.Endpoint + " bucket " + st.Bucket, Checks: []sdk.TestCheck{}}
	check := func(name string, err error, ok string) {
		c := sdk.TestCheck{Name: name, OK: err == nil, Detail: ok}
		if err != nil {
			c.Detail, rep.OK = err.Error(), false
		}
		rep.Checks = append(rep.Checks, c)
	}
	obj, err := a.jobStore(ctx, l)
	if err != nil && !errors.Is(err, connector.ErrPermanent) {
		return err // the hub or the release failed, not the target
	}
	check("configuration", err, "endpoint "+st.Endpoint+", bucket "+st.Bucket)
	if err != nil {
		l.testReport = rep
		return nil
	}
	check("bucket, write, read, delete", obj.Check(ctx), "wrote, read back and deleted a probe object")
	if rep.OK {
		prefix, err := obj.TenantPrefix(l.job.TenantID)
		if err == nil {
			var ups []objstore.UploadInfo
			ups, err = obj.ListUploads(ctx, prefix)
			check("list unfinished uploads", err, fmt.Sprintf("%d below %s", len(ups), prefix))
		} else {
			check("list unfinished uploads", err, "")
		}
	}
	l.testReport = rep
	return nil
}
