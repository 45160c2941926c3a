package mysql

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/agentd/internal/connector"
	"github.com/xvault/xvault/agentd/internal/connector/connectortest"
	"github.com/xvault/xvault/internal/testutil/sshd"
	"github.com/xvault/xvault/sdk"
)

// TestPullThroughSSH dumps through a real OpenSSH server: the database
// port forwarded (host key trusted on first use), then the server's unix
// socket forwarded (host key pinned). Both restore identically.
func TestPullThroughSSH(t *testing.T) {
	t.Parallel()
	root := rootDB(t)
	f := newFixture(t, root)
	s := sshd.Start(t, sshd.Options{})
	var seen []string
	env := testEnv(t)
	env.OnHostKey = func(fp string) error { seen = append(seen, fp); return nil }
	want := checksums(t, root, f.db)

	for _, tc := range []struct {
		name   string
		cfg    sdk.MySQLConfig
		pinned string
	}{
		{"tcp, trust on first use", sdk.MySQLConfig{Username: f.user, Databases: []string{f.db}}, ""},
		{"remote socket, pinned", sdk.MySQLConfig{Socket: testSocket, Username: f.user, Databases: []string{f.db}}, s.HostKeyFingerprint},
	} {
		cfg := tc.cfg
		cfg.SSH = &sdk.DatabaseSSH{Host: s.Host, Port: s.Port, Username: s.User, CredentialID: "c"}
		secret := f.secret()
		secret.SSH = &sdk.SecretPayload{Kind: sdk.CredentialSSHPrivateKey, PrivateKey: string(s.ClientKey)}
		c, err := New(cfg, tc.pinned, secret, env)
		require.NoError(t, err, tc.name)
		rec := &connectortest.Recorder{}
		require.NoError(t, c.Pull(t.Context(), rec), tc.name)
		require.NoError(t, rec.Err)
		require.Equal(t, "ssh-tunnel", rec.Mode)
		db := rec.Descriptor.Databases[0]
		require.EqualValues(t, 4, db.Tables[1].Rows, tc.name)
		require.Equal(t, want, checksums(t, root, load(t, root, rec.Objects[db.File])), tc.name)
		require.Contains(t, string(rec.Objects[GrantsName]), f.user)
	}
	require.Equal(t, []string{s.HostKeyFingerprint}, seen, "first use recorded once; the pinned run asked nothing")
}

func TestSSHFailures(t *testing.T) {
	t.Parallel()
	root := rootDB(t)
	f := newFixture(t, root)
	s := sshd.Start(t, sshd.Options{})
	env := testEnv(t)
	base := func() Server {
		srv := f.server()
		srv.Host = ""
		srv.SSH = &SSH{Host: s.Host, Port: s.Port, Username: s.User, HostKey: s.HostKeyFingerprint, PrivateKey: string(s.ClientKey)}
		return srv
	}
	srv := base()
	srv.SSH.HostKey = "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	_, err := Open(t.Context(), srv, env)
	require.ErrorIs(t, err, connector.ErrPermanent)
	require.ErrorContains(t, err, "host key")

	srv = base()
	srv.Port = 1 // nothing listens there on the SSH server's side
	_, err = Open(t.Context(), srv, env)
	require.ErrorContains(t, err, "could not reach 127.0.0.1:1")

	srv = base()
	_, err = Open(t.Context(), srv, connector.Env{TempDir: t.TempDir()}) // SSH server on loopback, not allowed
	require.ErrorContains(t, err, "egress policy refused")
}
