package agent

import (
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/xvault/xvault/agentd/internal/connector"
	"github.com/xvault/xvault/agentd/internal/connector/sftp"
	"github.com/xvault/xvault/sdk"
)

type connectorOptions struct {
	log       *slog.Logger
	onHostKey func(fingerprint string) error
}

// newConnector is the registry of connectors: one explicit case per source type.
func newConnector(j *sdk.ClaimedJob, secret *sdk.SecretPayload, opts connectorOptions) (connector.Connector, error) {
	switch j.SourceType {
	case sdk.SourceSSH, sdk.SourceSFTP:
		var cfg sdk.SSHConfig
		if err := json.Unmarshal(j.SourceConfig, &cfg); err != nil {
			return nil, fmt.Errorf("source config: %v: %w", err, connector.ErrPermanent)
		}
		var cred sftp.Credential
		if secret != nil {
			cred = sftp.Credential{Password: secret.Password, PrivateKey: []byte(secret.PrivateKey), Passphrase: secret.Passphrase}
		}
		return sftp.New(sftp.Config{
			Host: cfg.Host, Port: cfg.Port, Username: cfg.Username,
			Paths: cfg.Paths, Exclude: cfg.Exclude, HostKey: j.HostKey,
		}, cred, sftp.Options{Logger: opts.log, OnHostKey: opts.onHostKey})
	default:
		return nil, fmt.Errorf("source type %q is not supported by this agent yet: %w", j.SourceType, connector.ErrPermanent)
	}
}
