package mysql

import (
	"errors"
	"io"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/agentd/internal/connector"
	"github.com/xvault/xvault/internal/testutil/sshd"
)

// TestLoadRoutes loads as the fixture's account through each route Open
// knows: the local unix socket and an SSH tunnel (TCP and remote socket).
func TestLoadRoutes(t *testing.T) {
	t.Parallel()
	root := rootDB(t)
	f := newFixture(t, root)
	dump, rec := dumpOf(t, f.server(), f.db)
	try := func(name string, srv Server) {
		target := unique("xvl_")
		dropLater(t, root, target)
		exec1(t, root, "GRANT ALL ON "+quoteID(target)+".* TO "+sqlString(f.user)+"@'%'")
		if srv.SSH == nil {
			// The socket is the server's own host: the account is @localhost there.
			exec1(t, root, "CREATE USER IF NOT EXISTS "+sqlString(f.user)+"@'localhost' IDENTIFIED BY "+sqlString(f.password))
			t.Cleanup(func() { _, _ = root.Exec("DROP USER IF EXISTS " + sqlString(f.user) + "@'localhost'") })
			exec1(t, root, "GRANT ALL ON "+quoteID(target)+".* TO "+sqlString(f.user)+"@'localhost'")
		}
		l := newLoader(t, srv)
		res, err := l.Load(t.Context(), connector.LoadOptions{Database: target, Create: true, Open: opener(dump)})
		require.NoError(t, err, name)
		require.Equal(t, rec.Tables, res.Tables, name)
		require.Equal(t, checksums(t, root, f.db), checksums(t, root, target), name)
	}
	try("socket", Server{Socket: testSocket, Username: f.user, Password: f.password})
	s := sshd.Start(t, sshd.Options{}) // skips without OpenSSH
	sshTo := &SSH{Host: s.Host, Port: s.Port, Username: s.User, HostKey: s.HostKeyFingerprint, PrivateKey: string(s.ClientKey)}
	try("ssh tcp", Server{Username: f.user, Password: f.password, SSH: sshTo})
	try("ssh remote socket", Server{Socket: testSocket, Username: f.user, Password: f.password, SSH: sshTo})
}

// TestLoadReplaceSecondPassFails: when the load into the target fails
// after the temporary database loaded, the temporary database is kept and
// the error names it.
func TestLoadReplaceSecondPassFails(t *testing.T) {
	t.Parallel()
	root := rootDB(t)
	f := newFixture(t, root)
	dump, _ := dumpOf(t, f.server(), f.db)
	l := newLoader(t, rootServer())
	target := unique("xvl_")
	dropLater(t, root, target)
	exec1(t, root, "CREATE DATABASE "+quoteID(target))
	opens := 0
	open := func() (io.ReadCloser, error) {
		opens++
		if opens > 1 {
			return nil, errors.New("storage went away")
		}
		return opener(dump)()
	}
	_, err := l.Load(t.Context(), connector.LoadOptions{Database: target, Replace: true, Open: open})
	require.ErrorContains(t, err, "storage went away")
	tmp := tempDatabases(t, root, target)
	require.Len(t, tmp, 1)
	dropLater(t, root, tmp[0])
	require.ErrorContains(t, err, "database "+target+" is incomplete, the complete data is in database "+tmp[0])
	require.Equal(t, checksums(t, root, f.db), checksums(t, root, tmp[0]))
}
