package agent

import (
	"context"
	"fmt"

	"github.com/xvault/xvault/agentd/internal/connector"
	"github.com/xvault/xvault/sdk"
)

// testConnection runs a test_connection job: the source's connector
// connects, lists, checks privileges and reports versions, changing nothing.
// A source the connector cannot reach is a report with a failed check, not
// a failed job: the job fails only when the test itself could not run.
func (a *Agent) testConnection(ctx context.Context, l *lease) error {
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
