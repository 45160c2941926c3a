package sftp

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"golang.org/x/crypto/ssh"

	"github.com/xvault/xvault/agentd/internal/connector"
	"github.com/xvault/xvault/agentd/internal/connector/sshexec"
)

// chooseTransfer settles the transfer of this pull: SFTP when configured;
// otherwise it probes the server's tar once (its own exec channel on the
// same connection) and returns exec with the tar found, or, in auto mode,
// falls back to SFTP when the account cannot run one.
func (c *Connector) chooseTransfer(ctx context.Context, client *ssh.Client) (string, sshexec.Tar, error) {
	if c.cfg.Transfer == TransferSFTP {
		return TransferSFTP, sshexec.Tar{}, nil
	}
	t, err := sshexec.Probe(ctx, client)
	switch {
	case err == nil:
		c.log.Debug("remote tar found", "flavour", t.Flavour.String(), "version", t.Version)
		return TransferExec, t, nil
	case ctx.Err() != nil:
		return "", t, ctx.Err()
	case c.cfg.Transfer == TransferExec:
		return "", t, fmt.Errorf("transfer exec: %w (hint: the account must be allowed to run tar over SSH, "+
			"without ForceCommand internal-sftp; or set the source's transfer to auto or sftp): %w", err, connector.ErrPermanent)
	case !errors.Is(err, sshexec.ErrNoExec):
		return "", t, err
	}
	c.log.Info("exec transfer unavailable, using sftp", "reason", err)
	return TransferSFTP, t, nil
}

func (c *Connector) execOptions(t sshexec.Tar) sshexec.Options {
	return sshexec.Options{Tar: t, Paths: c.cfg.Paths, Exclude: c.cfg.Exclude, Logger: c.log}
}

// onceCloser closes client once, whoever calls first.
func onceCloser(client *ssh.Client) func() {
	var once sync.Once
	return func() { once.Do(func() { _ = client.Close() }) }
}
