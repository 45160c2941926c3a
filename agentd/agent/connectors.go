package agent

import (
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/xvault/xvault/agentd/internal/connector"
	"github.com/xvault/xvault/agentd/internal/connector/sftp"
	"github.com/xvault/xvault/sdk"
	"github.com/xvault/xvault/sdk/archive"
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
		transfer := cfg.Transfer
		if transfer == "" {
			transfer = sdk.TransferAuto
		}
		return sftp.New(sftp.Config{
			Host: cfg.Host, Port: cfg.Port, Username: cfg.Username,
			Paths: cfg.Paths, Exclude: cfg.Exclude, HostKey: j.HostKey, Transfer: transfer,
		}, cred, sftp.Options{Logger: opts.log, OnHostKey: opts.onHostKey})
	default:
		return nil, fmt.Errorf("source type %q is not supported by this agent yet: %w", j.SourceType, connector.ErrPermanent)
	}
}

// archiveOptions are the artifact writer's options for the job's source:
// the compression level of an ssh/sftp source, the defaults otherwise.
func archiveOptions(j *sdk.ClaimedJob) (archive.Options, error) {
	if j.SourceType != sdk.SourceSSH && j.SourceType != sdk.SourceSFTP {
		return archive.Options{}, nil
	}
	var cfg sdk.SSHConfig
	if err := json.Unmarshal(j.SourceConfig, &cfg); err != nil {
		return archive.Options{}, fmt.Errorf("source config: %v: %w", err, connector.ErrPermanent)
	}
	opts, err := archive.ParseCompression(cfg.Compression)
	if err != nil {
		return archive.Options{}, fmt.Errorf("source config: %w: %w", err, connector.ErrPermanent)
	}
	return opts, nil
}
