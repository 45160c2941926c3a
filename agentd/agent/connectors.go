package agent

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/xvault/xvault/agentd/internal/connector"
	"github.com/xvault/xvault/agentd/internal/connector/ftp"
	"github.com/xvault/xvault/agentd/internal/connector/local"
	"github.com/xvault/xvault/agentd/internal/connector/mysql"
	"github.com/xvault/xvault/agentd/internal/connector/postgres"
	"github.com/xvault/xvault/agentd/internal/connector/sftp"
	"github.com/xvault/xvault/agentd/internal/connector/wordpress"
	"github.com/xvault/xvault/agentd/internal/egress"
	"github.com/xvault/xvault/sdk"
	"github.com/xvault/xvault/sdk/archive"
)

// newConnector is the registry of connectors: one explicit case per source
// type. The hub validated the config; it is decoded strictly once more here
// so that a config the agent does not understand fails loudly. Every case
// dials through env.Egress.
func newConnector(j *sdk.ClaimedJob, secret *sdk.SecretPayload, env connector.Env) (connector.Connector, error) {
	if secret == nil {
		secret = &sdk.SecretPayload{}
	}
	dial := egress.Dialer{Policy: env.Egress}
	switch j.SourceType {
	case sdk.SourceSSH, sdk.SourceSFTP:
		cfg, err := decodeConfig[sdk.SSHConfig](j)
		if err != nil {
			return nil, err
		}
		cred := sftp.Credential{Password: secret.Password, PrivateKey: []byte(secret.PrivateKey), Passphrase: secret.Passphrase}
		transfer := cfg.Transfer
		if transfer == "" {
			transfer = sdk.TransferAuto
		}
		return sftp.New(sftp.Config{
			Host: cfg.Host, Port: cfg.Port, Username: cfg.Username,
			Paths: cfg.Paths, Exclude: cfg.Exclude, HostKey: j.HostKey, Transfer: transfer,
		}, cred, sftp.Options{Logger: env.Logger, OnHostKey: env.OnHostKey, DialContext: dial.DialContext})
	case sdk.SourceLocal:
		cfg, err := decodeConfig[sdk.LocalConfig](j)
		if err != nil {
			return nil, err
		}
		return local.New(cfg, env)
	case sdk.SourceFTP:
		cfg, err := decodeConfig[sdk.FTPConfig](j)
		if err != nil {
			return nil, err
		}
		return ftp.New(cfg, secret.Password, env)
	case sdk.SourceMySQL:
		cfg, err := decodeConfig[sdk.MySQLConfig](j)
		if err != nil {
			return nil, err
		}
		return mysql.New(cfg, j.HostKey, secret, env)
	case sdk.SourcePostgres:
		cfg, err := decodeConfig[sdk.PostgresConfig](j)
		if err != nil {
			return nil, err
		}
		return postgres.New(cfg, j.HostKey, secret, env)
	case sdk.SourceWordPress:
		cfg, err := decodeConfig[sdk.WordPressConfig](j)
		if err != nil {
			return nil, err
		}
		return wordpress.New(cfg, j.HostKey, secret, env)
	default:
		return nil, fmt.Errorf("source type %q is not supported by this agent yet: %w", j.SourceType, connector.ErrPermanent)
	}
}

// decodeConfig decodes the job's source config strictly into T.
func decodeConfig[T any](j *sdk.ClaimedJob) (T, error) {
	var cfg T
	dec := json.NewDecoder(bytes.NewReader(j.SourceConfig))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		return cfg, fmt.Errorf("%s source config: %v: %w", j.SourceType, err, connector.ErrPermanent)
	}
	return cfg, nil
}

// archiveOptions are the artifact writer's options for the job's source:
// the compression level of an ssh/sftp source, the defaults otherwise.
func archiveOptions(j *sdk.ClaimedJob) (archive.Options, error) {
	if j.SourceType != sdk.SourceSSH && j.SourceType != sdk.SourceSFTP {
		return archive.Options{}, nil
	}
	cfg, err := decodeConfig[sdk.SSHConfig](j)
	if err != nil {
		return archive.Options{}, err
	}
	opts, err := archive.ParseCompression(cfg.Compression)
	if err != nil {
		return archive.Options{}, fmt.Errorf("source config: %w: %w", err, connector.ErrPermanent)
	}
	return opts, nil
}
