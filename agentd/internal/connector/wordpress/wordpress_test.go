package wordpress

import (
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/agentd/internal/connector"
	"github.com/xvault/xvault/agentd/internal/connector/connectortest"
	"github.com/xvault/xvault/sdk"
	"github.com/xvault/xvault/sdk/archive"
)

// wantTables are the site's tables: the view xq7_recent, the LIKE
// look-alike xq7x_other, XQ7_upper and other_app are not.
var wantTables = []string{"xq7_options", "xq7_posts", "xq7_users"}

// TestPullSite pulls a site whose DB_HOST is "localhost" and whose account
// exists only for localhost: the dump must go through the server's socket.
func TestPullSite(t *testing.T) {
	t.Parallel()
	root := rootDB(t)
	h := newHarness(t)
	d := newTestDB(t, root, "localhost")
	site, files := newSite(t, wpConfig(d, "localhost", phpSingle(d.password)))
	c, err := New(h.config(site), "", h.secret, h.env)
	require.NoError(t, err)

	rec := &connectortest.Recorder{}
	require.NoError(t, c.Pull(t.Context(), rec))
	require.NoError(t, rec.Err)
	require.Equal(t, []string{h.srv.HostKeyFingerprint}, h.keys, "trusted once, pinned for the other connections")

	desc := rec.Descriptor
	require.NotNil(t, desc)
	require.Equal(t, "wordpress", desc.Connector)
	require.Equal(t, "MariaDB", desc.Server.Name)
	require.Equal(t, &archive.WordPress{Version: "6.4.2", TablePrefix: "xq7_", Multisite: false, Database: d.name,
		ConfigPath: filepath.Join(site, "wp-config.php")}, desc.WordPress)
	require.Len(t, desc.Databases, 1)
	db := desc.Databases[0]
	require.Equal(t, archive.DatabaseEntry(d.name, "sql"), db.File)
	rows := map[string]int64{}
	for _, tb := range db.Tables {
		rows[tb.Name] = tb.Rows
	}
	require.Equal(t, map[string]int64{"xq7_options": 2, "xq7_posts": 3, "xq7_users": 1}, rows)
	require.Contains(t, desc.Options, "--single-transaction")
	require.Contains(t, strings.Join(desc.Warnings, "\n"), "views and sequences are not dumped: xq7_recent")
	for _, w := range desc.Warnings {
		require.NotContains(t, w, d.password)
	}

	require.Equal(t, []string{db.File}, rec.ObjectOrder)
	dump := rec.Objects[db.File]
	require.NotContains(t, string(dump), "not part of the site")
	got := tablesAfterImport(t, root, dump)
	want := make([]string, len(wantTables))
	for i, n := range wantTables {
		want[i] = n + " BASE TABLE"
	}
	require.Equal(t, want, got)

	rel := strings.TrimPrefix(site, "/")
	for _, f := range files {
		body, ok := rec.Bodies[rel+"/"+f.name]
		if f.excluded {
			require.False(t, ok, "%s must be excluded", f.name)
			continue
		}
		require.True(t, ok, "%s must be archived", f.name)
		require.Equal(t, f.data, body, f.name)
	}
	for _, e := range rec.Entries {
		require.NotContains(t, e.Name, "wp-content/cache")
		require.NotContains(t, e.Name, "backwpup-")
	}
	secs, ok := rec.Notes[NoteDumpToFilesEnd].(float64)
	require.True(t, ok, "note %s: %v", NoteDumpToFilesEnd, rec.Notes)
	require.GreaterOrEqual(t, secs, 0.0)
	require.NotEmpty(t, rec.Mode, "the file transfer mode is passed on")
}

// TestPullDBHostForms reaches the database by TCP and by an explicit socket.
func TestPullDBHostForms(t *testing.T) {
	t.Parallel()
	root := rootDB(t)
	h := newHarness(t)
	d := newTestDB(t, root, "localhost", "127.0.0.1")
	for _, host := range []string{"127.0.0.1:3306", "127.0.0.1", "localhost:" + testSocket, "[::1]:3306"} {
		t.Run(host, func(t *testing.T) {
			site, _ := newSite(t, wpConfig(d, host, phpSingle(d.password)))
			c, err := New(h.config(site), h.srv.HostKeyFingerprint, h.secret, h.env)
			require.NoError(t, err)
			rep, err := c.Test(t.Context())
			require.NoError(t, err)
			if conn, err := net.Dial("tcp", "[::1]:3306"); host == "[::1]:3306" && err != nil {
				// MariaDB listens on 127.0.0.1 only: the route is still the right one.
				require.False(t, rep.OK)
				require.Contains(t, reportText(rep), "database through [::1]:3306 from the SSH server")
				return
			} else if err == nil {
				conn.Close()
			}
			require.True(t, rep.OK, reportText(rep))
			rec := &connectortest.Recorder{}
			require.NoError(t, c.Pull(t.Context(), rec))
			require.NoError(t, rec.Err)
			require.Len(t, rec.Descriptor.Databases[0].Tables, len(wantTables))
		})
	}
}

func reportText(rep *sdk.TestReport) string {
	var b strings.Builder
	for _, c := range rep.Checks {
		b.WriteString(c.Name + ": " + c.Detail + "\n")
	}
	return b.String() + strings.Join(rep.Warnings, "\n")
}

// TestPasswordFromGetenv: a computed DB_PASSWORD fails with its name, and
// a db_credential_id password makes the same site work.
func TestPasswordFromGetenv(t *testing.T) {
	t.Parallel()
	root := rootDB(t)
	h := newHarness(t)
	d := newTestDB(t, root, "localhost")
	site, _ := newSite(t, wpConfig(d, "localhost", "getenv('WORDPRESS_DB_PASSWORD')"))
	c, err := New(h.config(site), "", h.secret, h.env)
	require.NoError(t, err)
	err = c.Pull(t.Context(), &connectortest.Recorder{})
	require.ErrorIs(t, err, connector.ErrPermanent)
	require.ErrorContains(t, err, "DB_PASSWORD is computed (getenv()), not a literal")
	require.ErrorContains(t, err, "db_credential_id")

	cfg := h.config(site)
	cfg.DBCredentialID = "cred_db"
	_, err = New(cfg, "", h.secret, h.env)
	require.ErrorContains(t, err, "db_credential_id is set but its credential was not released")
	secret := *h.secret
	secret.DB = &sdk.SecretPayload{Kind: "password", Password: d.password}
	c, err = New(cfg, "", &secret, h.env)
	require.NoError(t, err)
	rec := &connectortest.Recorder{}
	require.NoError(t, c.Pull(t.Context(), rec))
	require.Len(t, rec.Descriptor.Databases[0].Tables, len(wantTables))
}

func TestMissingWPConfig(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	site, _ := newSite(t, "")
	c, err := New(h.config(site), "", h.secret, h.env)
	require.NoError(t, err)
	err = c.Pull(t.Context(), &connectortest.Recorder{})
	require.ErrorIs(t, err, connector.ErrPermanent)
	require.ErrorContains(t, err, "no wp-config.php in "+site+" or in the directory above it")

	rep, err := c.Test(t.Context())
	require.NoError(t, err)
	require.False(t, rep.OK)
	require.Contains(t, reportText(rep), "no wp-config.php")
}

// TestConfigAboveRoot: wp-config.php one directory above the WordPress
// root is found (and archived), a missing .htaccess is a warning, and
// db_host overrides DB_HOST.
func TestConfigAboveRoot(t *testing.T) {
	t.Parallel()
	root := rootDB(t)
	h := newHarness(t)
	d := newTestDB(t, root, "127.0.0.1")
	site, _ := newSite(t, "")
	require.NoError(t, os.Remove(filepath.Join(site, ".htaccess")))
	above := filepath.Join(filepath.Dir(site), "wp-config.php")
	require.NoError(t, os.WriteFile(above, []byte(wpConfig(d, "db.invalid", phpSingle(d.password))), 0o600))
	cfg := h.config(site)
	cfg.DBHost = "127.0.0.1:3306"
	cfg.Exclude = []string{"wp-content/uploads/private", "*.css"}
	c, err := New(cfg, h.srv.HostKeyFingerprint, h.secret, h.env)
	require.NoError(t, err)
	rec := &connectortest.Recorder{}
	require.NoError(t, c.Pull(t.Context(), rec))
	require.Equal(t, above, rec.Descriptor.WordPress.ConfigPath)
	require.Contains(t, strings.Join(rec.Descriptor.Warnings, "\n"), "no .htaccess in "+site)
	rel := strings.TrimPrefix(site, "/")
	require.Contains(t, rec.Bodies, strings.TrimPrefix(above, "/"))
	require.Contains(t, rec.Bodies, rel+"/index.php")
	require.NotContains(t, rec.Bodies, rel+"/wp-content/uploads/private/keep.txt")
	require.NotContains(t, rec.Bodies, rel+"/wp-content/themes/t/style.css")
}

// TestFailures: a wrong password, a prefix without tables, a wrong
// DB_NAME are clear, permanent errors, before anything is archived.
func TestFailures(t *testing.T) {
	t.Parallel()
	root := rootDB(t)
	h := newHarness(t)
	d := newTestDB(t, root, "localhost")
	for name, tt := range map[string]struct {
		config, want string
	}{
		"wrong password": {wpConfig(d, "localhost", "'wrong'"), `authentication failed for "` + d.user + `" (DB_USER)`},
		"no prefixed tables": {strings.Replace(wpConfig(d, "localhost", phpSingle(d.password)), "'xq7_'", "'zz9_'", 1),
			`holds no table with the prefix "zz9_" (and 7 other tables)`},
		"unknown database": {strings.Replace(wpConfig(d, "localhost", phpSingle(d.password)), d.name, d.name+"_nope", 1),
			"(DB_NAME) does not exist on the server"},
	} {
		t.Run(name, func(t *testing.T) {
			site, _ := newSite(t, tt.config)
			c, err := New(h.config(site), h.srv.HostKeyFingerprint, h.secret, h.env)
			require.NoError(t, err)
			rec := &connectortest.Recorder{}
			err = c.Pull(t.Context(), rec)
			require.ErrorIs(t, err, connector.ErrPermanent)
			require.ErrorContains(t, err, tt.want)
			require.NotContains(t, err.Error(), d.password)
			require.Nil(t, rec.Descriptor)
			require.Empty(t, rec.Entries)
		})
	}
}

func TestTestReport(t *testing.T) {
	t.Parallel()
	root := rootDB(t)
	h := newHarness(t)
	d := newTestDB(t, root, "localhost")
	site, _ := newSite(t, wpConfig(d, "localhost", phpSingle(d.password)))
	c, err := New(h.config(site), h.srv.HostKeyFingerprint, h.secret, h.env)
	require.NoError(t, err)
	rep, err := c.Test(t.Context())
	require.NoError(t, err)
	require.True(t, rep.OK, reportText(rep))
	text := reportText(rep)
	require.Contains(t, text, "WordPress version: 6.4.2")
	require.Contains(t, text, "3 tables with the prefix \"xq7_\", 3 other tables not dumped: xq7_options, xq7_posts, xq7_users (single site)")
	require.Contains(t, text, "unix socket "+testSocket)
	require.NotContains(t, text, d.password)
	require.Contains(t, rep.Server, "OpenSSH")
	require.Contains(t, rep.Server, "MariaDB")
	require.NotEmpty(t, rep.Tools)
	i := slices.IndexFunc(rep.Items, func(it sdk.TestItem) bool { return it.Kind == "database" })
	require.GreaterOrEqual(t, i, 0)
	require.Equal(t, d.name, rep.Items[i].Name)
	require.Positive(t, rep.Items[i].SizeBytes)
	require.True(t, slices.ContainsFunc(rep.Items, func(it sdk.TestItem) bool { return it.Name == filepath.Join(site, "wp-config.php") }))
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	env := connector.Env{TempDir: t.TempDir(), OnHostKey: func(string) error { return nil }}
	secret := &sdk.SecretPayload{Password: "x"}
	ok := sdk.WordPressConfig{Host: "example.com", Username: "u", Path: "/var/www"}
	for name, tt := range map[string]struct {
		mutate func(*sdk.WordPressConfig)
		want   string
	}{
		"relative path": {func(c *sdk.WordPressConfig) { c.Path = "www" }, "must be an absolute path"},
		"no host":       {func(c *sdk.WordPressConfig) { c.Host = "" }, "host is required"},
		"bad db_host":   {func(c *sdk.WordPressConfig) { c.DBHost = "db;rm -rf /" }, "is not a host name"},
		"bad exclude":   {func(c *sdk.WordPressConfig) { c.Exclude = []string{"[a"} }, "not a valid pattern"},
		"bad host key":  {func(c *sdk.WordPressConfig) { c.HostKey = "MD5:x" }, "not a SHA256 fingerprint"},
	} {
		cfg := ok
		tt.mutate(&cfg)
		_, err := New(cfg, "", secret, env)
		require.ErrorIs(t, err, connector.ErrPermanent, name)
		require.ErrorContains(t, err, tt.want, name)
	}
	_, err := New(ok, "", nil, env)
	require.ErrorContains(t, err, "no SSH credential")
	_, err = New(ok, "", secret, env)
	require.NoError(t, err)
}

func TestExcludePatterns(t *testing.T) {
	t.Parallel()
	got, err := excludes("/srv/a[1]", []string{"/abs/*", "uploads/2019", "*.bak"})
	require.NoError(t, err)
	require.Contains(t, got, `/srv/a\[1]/wp-content/cache`)
	require.Contains(t, got, `/srv/a\[1]/wp-content/uploads/backwpup-*`)
	require.Contains(t, got, "*.log")
	require.Contains(t, got, "/abs/*")
	require.Contains(t, got, `/srv/a\[1]/uploads/2019`)
	require.Contains(t, got, "*.bak")
	got, err = excludes("/", nil)
	require.NoError(t, err)
	require.Contains(t, got, "/wp-content/cache")
}

// TestMultisiteFromTablesAndCustomUserTable: a computed MULTISITE is
// decided by the prefix's blogs table, and CUSTOM_USER_TABLE's table is
// dumped although it lacks the prefix.
func TestMultisiteFromTablesAndCustomUserTable(t *testing.T) {
	t.Parallel()
	root := rootDB(t)
	h := newHarness(t)
	d := newTestDB(t, root, "localhost")
	_, err := root.Exec("USE `" + d.name + "`; CREATE TABLE xq7_blogs (blog_id INT PRIMARY KEY) ENGINE=InnoDB;" +
		"CREATE TABLE shared_users (ID INT PRIMARY KEY) ENGINE=InnoDB; INSERT INTO shared_users VALUES (1), (2);")
	require.NoError(t, err)
	config := strings.Replace(wpConfig(d, "localhost", phpSingle(d.password)), "$table_prefix",
		"define( 'MULTISITE', getenv('WP_MULTISITE') );\ndefine( 'CUSTOM_USER_TABLE', 'shared_users' );\n$table_prefix", 1)
	site, _ := newSite(t, config)
	c, err := New(h.config(site), h.srv.HostKeyFingerprint, h.secret, h.env)
	require.NoError(t, err)
	rec := &connectortest.Recorder{}
	require.NoError(t, c.Pull(t.Context(), rec))
	require.True(t, rec.Descriptor.WordPress.Multisite)
	require.Contains(t, strings.Join(rec.Descriptor.Warnings, "\n"), "MULTISITE is computed (getenv()): multisite is decided by the presence of the xq7_blogs table")
	got := tablesAfterImport(t, root, rec.Objects[rec.Descriptor.Databases[0].File])
	require.Equal(t, []string{"shared_users BASE TABLE", "xq7_blogs BASE TABLE", "xq7_options BASE TABLE",
		"xq7_posts BASE TABLE", "xq7_users BASE TABLE"}, got)
}
