package agent

import (
	"context"
	"fmt"

	"github.com/xvault/xvault/agentd/internal/connector"
	"github.com/xvault/xvault/agentd/internal/connector/mysql"
	"github.com/xvault/xvault/agentd/internal/connector/postgres"
	"github.com/xvault/xvault/agentd/internal/egress"
	"github.com/xvault/xvault/sdk"
)

// targetLoader connects to the server of the job's source (the target of a
// restore into a database) with its released credentials.
func targetLoader(ctx context.Context, j *sdk.ClaimedJob, secret *sdk.SecretPayload, env connector.Env) (
	connector.Loader, string, error) {
	switch j.SourceType {
	case sdk.SourceMySQL:
		cfg, err := decodeConfig[sdk.MySQLConfig](j)
		if err != nil {
			return nil, "", err
		}
		l, err := mysql.NewLoader(ctx, mysql.ServerFromConfig(cfg, j.HostKey, secret), env)
		return l, sdk.EngineMySQL, err
	case sdk.SourcePostgres:
		cfg, err := decodeConfig[sdk.PostgresConfig](j)
		if err != nil {
			return nil, "", err
		}
		l, err := postgres.NewLoader(ctx, cfg, j.HostKey, secret, env)
		return l, sdk.EnginePostgres, err
	}
	return nil, "", fmt.Errorf("a restore into a database needs a mysql or postgres target source, not %s: %w",
		j.SourceType, connector.ErrPermanent)
}

// scratchLoader connects to the agent's scratch server for engine; nil
// (without error) when none is configured. The scratch server is the
// operator's own: the egress policy for customers' servers does not apply.
func (a *Agent) scratchLoader(ctx context.Context, engine string, env connector.Env) (connector.Loader, error) {
	env.Egress = egress.Policy{AllowLoopback: true, AllowPrivate: true}
	switch engine {
	case sdk.EngineMySQL:
		if a.cfg.ScratchMySQL == nil {
			return nil, nil
		}
		cfg, err := scratchMySQL(a.cfg.ScratchMySQL)
		if err != nil {
			return nil, err
		}
		return mysql.NewLoader(ctx, mysql.ServerFromConfig(cfg, "", &sdk.SecretPayload{Password: a.cfg.ScratchMySQL.Password}), env)
	case sdk.EnginePostgres:
		if a.cfg.ScratchPostgres == nil {
			return nil, nil
		}
		cfg, err := scratchPostgres(a.cfg.ScratchPostgres)
		if err != nil {
			return nil, err
		}
		return postgres.NewLoader(ctx, cfg, "", &sdk.SecretPayload{Password: a.cfg.ScratchPostgres.Password}, env)
	}
	return nil, nil
}
