package mysql

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/agentd/internal/connector/connectortest"
	"github.com/xvault/xvault/sdk/archive"
)

func TestPullRoundTrip(t *testing.T) {
	t.Parallel()
	root := rootDB(t)
	f := newFixture(t, root)
	c, err := New(f.config(), "", f.secret(), testEnv(t))
	require.NoError(t, err)
	rec := &connectortest.Recorder{}
	require.NoError(t, c.Pull(t.Context(), rec))
	require.NoError(t, rec.Err)

	d := rec.Descriptor
	require.NotNil(t, d)
	require.Equal(t, "mysql", d.Connector)
	require.Equal(t, "direct", rec.Mode)
	require.Equal(t, "MariaDB", d.Server.Name)
	require.Regexp(t, `^\d+\.\d+\.\d+$`, d.Server.Version)
	require.Len(t, d.Tools, 1)
	require.Equal(t, "mariadb-dump", d.Tools[0].Name)
	require.Contains(t, d.Options, "--single-transaction")
	require.Contains(t, d.Options, "--hex-blob")
	require.NotContains(t, d.Options, "--column-statistics=0") // MariaDB's client
	require.Equal(t, []string{GrantsName}, d.Globals)
	require.Equal(t, []string{archive.DatabaseEntry(f.db, "sql"), GrantsName}, rec.ObjectOrder)

	require.Len(t, d.Databases, 1)
	got := d.Databases[0]
	require.Equal(t, f.db, got.Name)
	require.Equal(t, archive.DatabaseEntry(f.db, "sql"), got.File)
	require.Equal(t, "sql", got.Format)
	require.Equal(t, []archive.Table{
		{Name: "empty_t", Rows: 0, Engine: "InnoDB"},
		{Name: "items", Rows: 4, Engine: "InnoDB"},
		{Name: "legacy", Rows: 3, Engine: "MyISAM"},
		{Name: "log", Rows: 0, Engine: "InnoDB"},
		{Name: "tricky `name'", Rows: 3, Engine: "InnoDB"},
	}, got.Tables)
	require.Len(t, d.Warnings, 1, "%q", d.Warnings)
	require.Contains(t, d.Warnings[0], "legacy (MyISAM)")
	require.Contains(t, d.Warnings[0], "not transactionally consistent")

	dump := rec.Objects[got.File]
	require.True(t, bytes.HasSuffix(bytes.TrimSpace(dump), []byte(strings.TrimSpace(string(dump[bytes.LastIndex(dump, trailer):])))))
	require.NotContains(t, string(dump), "CREATE DATABASE")
	require.NotContains(t, string(dump), "\nUSE ")
	require.NotContains(t, string(dump), f.password)

	// The dump loads into a database of another name, identical.
	restored := load(t, root, dump)
	require.Equal(t, checksums(t, root, f.db), checksums(t, root, restored))
	require.Equal(t, 1, count(t, root, "SELECT COUNT(*) FROM information_schema.VIEWS WHERE TABLE_SCHEMA = ?", restored))
	require.Equal(t, 1, count(t, root, "SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ?", restored))
	require.Equal(t, 1, count(t, root, "SELECT COUNT(*) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ?", restored))
	require.Equal(t, 1, count(t, root, "SELECT COUNT(*) FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ?", restored))
	var def string
	require.NoError(t, root.QueryRow("SELECT VIEW_DEFINITION FROM information_schema.VIEWS WHERE TABLE_SCHEMA = ?", restored).Scan(&def))
	require.NotContains(t, def, f.db, "the restored view reads the restored tables")
	var name string
	require.NoError(t, root.QueryRow("SELECT name FROM "+quoteID(restored)+".items WHERE id = 2").Scan(&name))
	require.Equal(t, "emoji 😀🎉 ünïcødé", name)

	grants := string(rec.Objects[GrantsName])
	require.Contains(t, grants, "CREATE USER IF NOT EXISTS `"+f.user+"`@`%`")
	require.Contains(t, grants, "GRANT SELECT, LOCK TABLES, SHOW VIEW, EVENT, TRIGGER ON `"+f.db+"`.* TO `"+f.user+"`@`%`")
	require.NotContains(t, grants, f.password)
}
