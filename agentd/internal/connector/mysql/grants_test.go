package mysql

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestGrantsRestore: server/grants.sql holds the dump's accounts and
// roles; loaded with the real client after they were dropped, it brings
// them back with their password (hash) and privileges.
func TestGrantsRestore(t *testing.T) {
	t.Parallel()
	root := rootDB(t)
	client := needClient(t)
	f := newFixture(t, root)
	role := unique("xvrole_")
	exec1(t, root, "CREATE ROLE "+quoteID(role))
	t.Cleanup(func() { _, _ = root.Exec("DROP ROLE IF EXISTS " + quoteID(role)) })
	exec1(t, root, "GRANT SELECT ON "+quoteID(f.db)+".items TO "+quoteID(role))
	exec1(t, root, "GRANT "+quoteID(role)+" TO "+sqlString(f.user)+"@'%'")

	s, err := Open(t.Context(), f.server(), testEnv(t))
	require.NoError(t, err)
	defer s.Close()
	sql, warn, err := s.Grants(t.Context(), []string{f.db})
	require.NoError(t, err)
	require.Empty(t, warn)
	text := string(sql)
	require.Contains(t, text, "CREATE ROLE IF NOT EXISTS `"+role+"`;")
	require.Contains(t, text, "GRANT SELECT ON `"+f.db+"`.`items` TO `"+role+"`;")
	require.Contains(t, text, "GRANT `"+role+"` TO `"+f.user+"`@`%`;")
	require.NotContains(t, text, f.password)

	exec1(t, root, "DROP USER "+sqlString(f.user)+"@'%'")
	exec1(t, root, "DROP ROLE "+quoteID(role))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, client, "--no-defaults", "-uroot", "-h"+testHost)
	cmd.Stdin = strings.NewReader(text)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)

	// The account logs in again with its own password and may dump.
	s2, err := Open(t.Context(), f.server(), testEnv(t))
	require.NoError(t, err)
	defer s2.Close()
	d, err := s2.Dump(t.Context(), f.db, nil)
	require.NoError(t, err)
	d.Spool.Discard()
	require.Equal(t, 1, count(t, root, "SELECT COUNT(*) FROM mysql.roles_mapping WHERE User = ? AND Role = ?", f.user, role))
}
