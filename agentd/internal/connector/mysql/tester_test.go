package mysql

import (
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/agentd/internal/connector"
	"github.com/xvault/xvault/agentd/internal/connector/connectortest"
	"github.com/xvault/xvault/sdk"
)

func TestTestReportsWhatABackupNeeds(t *testing.T) {
	t.Parallel()
	root := rootDB(t)
	f := newFixture(t, root)
	c, err := New(f.config(), "", f.secret(), testEnv(t))
	require.NoError(t, err)
	rep, err := c.Test(t.Context())
	require.NoError(t, err)
	require.True(t, rep.OK, "%+v", rep.Checks)
	require.Regexp(t, `^MariaDB \d+\.\d+\.\d+$`, rep.Server)
	require.Len(t, rep.Tools, 1)
	require.True(t, strings.HasPrefix(rep.Tools[0], "mariadb-dump "), rep.Tools[0])
	require.Len(t, rep.Items, 1)
	require.Equal(t, sdk.TestItem{Name: f.db, Kind: "database", SizeBytes: rep.Items[0].SizeBytes}, rep.Items[0])
	require.Positive(t, rep.Items[0].SizeBytes)
	require.Len(t, rep.Warnings, 1)
	require.Contains(t, rep.Warnings[0], "legacy (MyISAM)")

	// An account with SELECT and EXECUTE only: the report names each
	// missing GRANT, and changes nothing.
	limited := unique("xvl_")
	f.createUser(t, root, limited, "pw-"+limited)
	exec1(t, root, "GRANT SELECT, EXECUTE ON "+quoteID(f.db)+".* TO "+sqlString(limited)+"@'%'")
	cfg := f.config()
	cfg.Username = limited
	before := checksums(t, root, f.db)
	c, err = New(cfg, "", &sdk.SecretPayload{Password: "pw-" + limited}, testEnv(t))
	require.NoError(t, err)
	rep, err = c.Test(t.Context())
	require.NoError(t, err)
	require.False(t, rep.OK)
	account := "'" + limited + "'@'%'"
	on := " on " + f.db
	require.Empty(t, checkDetail(rep, "privilege SELECT"+on))
	require.Contains(t, checkDetail(rep, "privilege SHOW VIEW"+on), "GRANT SHOW VIEW ON `"+f.db+"`.* TO "+account)
	require.Contains(t, checkDetail(rep, "privilege EVENT"+on), "GRANT EVENT ON `"+f.db+"`.* TO "+account)
	require.Contains(t, checkDetail(rep, "privilege TRIGGER"+on), "silently leaves every trigger out")
	require.Contains(t, checkDetail(rep, "privilege read routine bodies"+on), "PROCEDURE p_count")
	require.True(t, slices.ContainsFunc(rep.Warnings, func(w string) bool { return strings.Contains(w, "grants.sql not archived") }), "%q", rep.Warnings)
	require.Equal(t, before, checksums(t, root, f.db))

	// With SHOW VIEW and EVENT the dump fails on the routine it may see
	// but not read.
	exec1(t, root, "GRANT SHOW VIEW, EVENT ON "+quoteID(f.db)+".* TO "+sqlString(limited)+"@'%'")
	rec := &connectortest.Recorder{}
	err = c.Pull(t.Context(), rec)
	require.ErrorIs(t, err, connector.ErrPermanent)
	require.ErrorContains(t, err, "insufficient privileges to SHOW CREATE PROCEDURE `p_count`")
	require.Nil(t, rec.Descriptor)

	// With the routines readable it runs, without the triggers, and says so.
	exec1(t, root, "GRANT SELECT ON mysql.proc TO "+sqlString(limited)+"@'%'")
	rec = &connectortest.Recorder{}
	require.NoError(t, c.Pull(t.Context(), rec))
	w := strings.Join(rec.Descriptor.Warnings, "\n")
	require.Contains(t, w, "lacks TRIGGER")
	require.Contains(t, w, "grants.sql not archived")
	require.Nil(t, rec.Descriptor.Globals)
	require.NotContains(t, rec.Objects, GrantsName)
	require.NotContains(t, string(rec.Objects[rec.Descriptor.Databases[0].File]), "TRIGGER")
}

func TestTestReportsRefusedLogin(t *testing.T) {
	t.Parallel()
	root := rootDB(t)
	f := newFixture(t, root)
	c, err := New(f.config(), "", &sdk.SecretPayload{Password: "not it"}, testEnv(t))
	require.NoError(t, err)
	rep, err := c.Test(t.Context())
	require.NoError(t, err)
	require.False(t, rep.OK)
	require.Contains(t, checkDetail(rep, "connect and authenticate"), "authentication failed")
}

func TestAllDatabasesAndSocket(t *testing.T) {
	t.Parallel()
	root := rootDB(t)
	f := newFixture(t, root)
	other := unique("xvo_")
	exec1(t, root, "CREATE DATABASE "+quoteID(other))
	t.Cleanup(func() { _, _ = root.Exec("DROP DATABASE IF EXISTS " + quoteID(other)) })
	exec1(t, root, "GRANT ALL ON "+quoteID(other)+".* TO "+sqlString(f.user)+"@'%'")

	// Through the server's local socket (the agent allows loopback).
	cfg := sdk.MySQLConfig{Socket: testSocket, Username: f.user, AllDatabases: true, ExcludeDatabases: []string{other}}
	c, err := New(cfg, "", f.secret(), testEnv(t))
	require.NoError(t, err)
	rec := &connectortest.Recorder{}
	require.NoError(t, c.Pull(t.Context(), rec))
	var names []string
	for _, d := range rec.Descriptor.Databases {
		names = append(names, d.Name)
	}
	require.Contains(t, names, f.db)
	require.NotContains(t, names, other)
	for _, sys := range systemSchemas {
		require.NotContains(t, names, sys)
	}

	cfg.ExcludeDatabases = nil
	c, err = New(cfg, "", f.secret(), testEnv(t))
	require.NoError(t, err)
	rec = &connectortest.Recorder{}
	require.NoError(t, c.Pull(t.Context(), rec))
	require.Contains(t, rec.ObjectOrder, "databases/"+other+".sql")
}
