package postgres

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/agentd/internal/connector"
	"github.com/xvault/xvault/agentd/internal/egress"
	"github.com/xvault/xvault/internal/testutil/sshd"
	"github.com/xvault/xvault/sdk"
)

// sshSource is a source reaching the shared server through sshd, the
// database host left to its default (127.0.0.1 as the SSH server sees it).
func sshSource(ssh *sshd.Server, db string, port int) sdk.PostgresConfig {
	return sdk.PostgresConfig{Port: port, Username: pgAdmin, Databases: []string{db}, Format: sdk.PostgresFormatCustom,
		SSH: &sdk.DatabaseSSH{Host: ssh.Host, Port: ssh.Port, Username: ssh.User, CredentialID: "ssh-cred"}}
}

func TestPullThroughSSH(t *testing.T) {
	t.Parallel()
	s := requirePostgres(t)
	ssh := sshd.Start(t, sshd.Options{})
	db, role := fixtureDB(t, s)
	env := testEnv(t)
	var seen string
	env.OnHostKey = func(fp string) error { seen = fp; return nil }
	secret := &sdk.SecretPayload{SSH: &sdk.SecretPayload{PrivateKey: string(ssh.ClientKey)}}
	c, err := New(sshSource(ssh, db, s.port), "", secret, env)
	require.NoError(t, err)
	rec, err := pull(t, c)
	require.NoError(t, err)
	require.Equal(t, ssh.HostKeyFingerprint, seen, "host key trusted on first use and reported")
	require.Equal(t, "ssh-tunnel", rec.Descriptor.TransferMode)
	require.Equal(t, fixtureCounts, tableCounts(rec.Descriptor.Databases[0].Tables))
	require.Contains(t, string(rec.Objects["server/globals.sql"]), "CREATE ROLE "+role+";")
	restored := s.restore(t, rec.Objects[rec.Descriptor.Databases[0].File], "custom")
	require.Equal(t, s.checksums(t, db), s.checksums(t, restored))

	rep, err := c.Test(t.Context())
	require.NoError(t, err)
	require.True(t, rep.OK, "%+v", rep.Checks)
}

func TestPullThroughSSHFailures(t *testing.T) {
	t.Parallel()
	s := requirePostgres(t)
	ssh := sshd.Start(t, sshd.Options{})
	secret := &sdk.SecretPayload{SSH: &sdk.SecretPayload{PrivateKey: string(ssh.ClientKey)}}

	t.Run("host key changed", func(t *testing.T) {
		t.Parallel()
		c, err := New(sshSource(ssh, pgAdmDB, s.port), "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", secret, testEnv(t))
		require.NoError(t, err)
		err = requireNothingArchived(t, c)
		require.ErrorIs(t, err, connector.ErrPermanent)
		require.ErrorContains(t, err, "host key")
	})
	t.Run("egress", func(t *testing.T) {
		t.Parallel()
		env := testEnv(t)
		env.Egress = egress.Policy{}
		c, err := New(sshSource(ssh, pgAdmDB, s.port), ssh.HostKeyFingerprint, secret, env)
		require.NoError(t, err)
		err = requireNothingArchived(t, c)
		require.ErrorIs(t, err, egress.ErrRefused)
	})
	t.Run("database port closed", func(t *testing.T) {
		t.Parallel()
		c, err := New(sshSource(ssh, pgAdmDB, freePort(t)), ssh.HostKeyFingerprint, secret, testEnv(t))
		require.NoError(t, err)
		err = requireNothingArchived(t, c)
		require.ErrorContains(t, err, "the SSH server could not reach 127.0.0.1:")
		require.False(t, errors.Is(err, connector.ErrPermanent))
	})
	t.Run("no ssh credential", func(t *testing.T) {
		t.Parallel()
		_, err := New(sshSource(ssh, pgAdmDB, s.port), "", &sdk.SecretPayload{}, testEnv(t))
		require.ErrorIs(t, err, connector.ErrPermanent)
		require.ErrorContains(t, err, "credential was not released")
	})
}
