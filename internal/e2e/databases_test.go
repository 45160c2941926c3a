package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/internal/testutil/sshd"
	"github.com/xvault/xvault/internal/testutil/vsftpd"
	"github.com/xvault/xvault/sdk"
	"github.com/xvault/xvault/sdk/archive"
)

// mysqlRoot runs SQL as the local MariaDB's root over TCP and returns the
// output (tab-separated, no headers).
func mysqlRoot(t *testing.T, db, sql string) string {
	t.Helper()
	args := []string{"-uroot", "-h127.0.0.1", "-P3306", "--protocol=TCP", "-N", "-B"}
	if db != "" {
		args = append(args, db)
	}
	cmd := exec.Command("mysql", args...)
	cmd.Stdin = strings.NewReader(sql)
	out, err := cmd.CombinedOutput()
	if err != nil && os.Getenv(sshd.EnvRequire) != "1" && strings.Contains(string(out), "Can't connect") {
		t.Skip("MariaDB is not running on 127.0.0.1:3306")
	}
	require.NoErrorf(t, err, "mysql: %s", out)
	return string(out)
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// shopDB creates a database with InnoDB and MyISAM tables, a view, a
// trigger, a procedure, utf8mb4 rows, blobs and NULLs, and a user with a
// password; it returns the database, user and password.
func shopDB(t *testing.T) (db, user, password string) {
	t.Helper()
	suffix := randHex(4)
	db, user, password = "xv_shop_"+suffix, "xv_u_"+suffix, "pw-"+randHex(8)
	mysqlRoot(t, "", "CREATE DATABASE "+db+" CHARACTER SET utf8mb4;"+
		"CREATE USER '"+user+"'@'%' IDENTIFIED BY '"+password+"';"+
		"CREATE USER '"+user+"'@'localhost' IDENTIFIED BY '"+password+"';"+
		"GRANT ALL ON "+db+".* TO '"+user+"'@'%';GRANT ALL ON "+db+".* TO '"+user+"'@'localhost';"+
		// Reading the bodies of routines another account defined (here root) needs this on MariaDB.
		"GRANT SELECT ON mysql.proc TO '"+user+"'@'%';GRANT SELECT ON mysql.proc TO '"+user+"'@'localhost';")
	t.Cleanup(func() {
		mysqlRoot(t, "", "DROP DATABASE IF EXISTS "+db+"; DROP USER IF EXISTS '"+user+"'@'%'; DROP USER IF EXISTS '"+user+"'@'localhost';")
	})
	mysqlRoot(t, db, `
CREATE TABLE orders (id INT PRIMARY KEY AUTO_INCREMENT, note VARCHAR(100), total DECIMAL(10,2), data BLOB) ENGINE=InnoDB;
CREATE TABLE log (id INT PRIMARY KEY, msg TEXT) ENGINE=MyISAM;
CREATE TABLE audit (id INT PRIMARY KEY AUTO_INCREMENT, order_id INT) ENGINE=InnoDB;
INSERT INTO orders (note, total, data) VALUES ('caf\u00e9 \U0001F600', 9.99, 0x00FF10), (NULL, NULL, NULL), ('it''s "quoted"\\', 1.5, UNHEX('DEADBEEF'));
INSERT INTO log VALUES (1, 'one'), (2, 'two');
CREATE VIEW big_orders AS SELECT id, total FROM orders WHERE total > 5;
CREATE TRIGGER orders_ai AFTER INSERT ON orders FOR EACH ROW INSERT INTO audit (order_id) VALUES (NEW.id);
CREATE PROCEDURE order_count(OUT n INT) SELECT COUNT(*) INTO n FROM orders;
`)
	return db, user, password
}

// checksums is CHECKSUM TABLE of every base table of db.
func checksums(t *testing.T, db string) string {
	t.Helper()
	tables := strings.Fields(mysqlRoot(t, db, "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE' ORDER BY table_name"))
	out := mysqlRoot(t, db, "CHECKSUM TABLE "+strings.Join(tables, ", "))
	return strings.ReplaceAll(out, db+".", "")
}

// loadDump imports a plain dump into a new database and returns its name.
func loadDump(t *testing.T, dump string) string {
	t.Helper()
	fresh := "xv_restored_" + randHex(4)
	mysqlRoot(t, "", "CREATE DATABASE "+fresh+" CHARACTER SET utf8mb4")
	t.Cleanup(func() { mysqlRoot(t, "", "DROP DATABASE IF EXISTS "+fresh) })
	b, err := os.ReadFile(dump)
	require.NoError(t, err)
	mysqlRoot(t, fresh, string(b))
	return fresh
}

func TestMySQLSource(t *testing.T) {
	db, user, password := shopDB(t)
	want := checksums(t, db)
	srv := sshd.Start(t, sshd.Options{})

	h := startHub(t, "--no-agent")
	startAgent(t, h, h.enrollToken(t, 1))
	tenant := h.tenant(t)
	var dbCred, sshCred sdk.Credential
	h.xvJSON(t, tenant, password+"\n", &dbCred, "credential", "create", "--name", "db", "--password-stdin")
	keyFile := filepath.Join(t.TempDir(), "key")
	require.NoError(t, os.WriteFile(keyFile, srv.ClientKey, 0o600))
	h.xvJSON(t, tenant, "", &sshCred, "credential", "create", "--name", "ssh", "--private-key-file", keyFile)

	var direct, tunnel sdk.Source
	h.xvJSON(t, tenant, "", &direct, "source", "create", "--type", "mysql", "--name", "shop",
		"--host", "127.0.0.1", "--user", user, "--database", db, "--credential", dbCred.ID)
	h.xvJSON(t, tenant, "", &tunnel, "source", "create", "--type", "mysql", "--name", "shop-ssh",
		"--user", user, "--database", db, "--credential", dbCred.ID,
		"--ssh-host", srv.Host, "--ssh-port", itoa(srv.Port), "--ssh-user", srv.User, "--ssh-credential", sshCred.ID)

	for _, src := range []sdk.Source{direct, tunnel} {
		rep, code := h.sourceTest(t, tenant, src.ID)
		require.Equalf(t, 0, code, "%s: %+v", src.Name, rep)
		job, code := h.backupWait(t, tenant, src.ID)
		require.Equalf(t, 0, code, "%s: %s", src.Name, job.ErrorMessage)
		dir, d := h.openSnapshot(t, tenant, job.SnapshotID)
		require.Equal(t, "mysql", d.SourceType)
		require.Len(t, d.Databases, 1)
		require.Equal(t, db, d.Databases[0].Name)
		rows := map[string]int64{}
		for _, tb := range d.Databases[0].Tables {
			rows[tb.Name] = tb.Rows
		}
		require.EqualValues(t, 3, rows["orders"])
		require.EqualValues(t, 2, rows["log"])
		require.Contains(t, strings.Join(d.Warnings, "\n"), "log")
		fresh := loadDump(t, filepath.Join(dir, archive.DatabaseEntry(db, "sql")))
		require.Equal(t, want, checksums(t, fresh), "%s: CHECKSUM TABLE of the restored dump", src.Name)

		// This agent has no scratch server: verification checks the dump's structure, and says so.
		vr, code := h.verifyWait(t, tenant, job.SnapshotID)
		require.Equalf(t, 0, code, "%+v", vr)
		require.Equal(t, sdk.VerifyModeStructural, vr.Databases[0].Mode)
		require.Contains(t, vr.Message, "no scratch server")
	}

	// A wrong password fails at once, with no snapshot.
	var bad sdk.Credential
	h.xvJSON(t, tenant, "wrong\n", &bad, "credential", "create", "--name", "bad", "--password-stdin")
	var wrong sdk.Source
	h.xvJSON(t, tenant, "", &wrong, "source", "create", "--type", "mysql", "--name", "wrong",
		"--host", "127.0.0.1", "--user", user, "--database", db, "--credential", bad.ID)
	_, code := h.sourceTest(t, tenant, wrong.ID)
	require.Equal(t, 4, code)
	job, code := h.backupWait(t, tenant, wrong.ID)
	require.Equal(t, 4, code)
	require.Equal(t, 1, job.Attempt)
	require.NotContains(t, job.ErrorMessage, password)
	var snaps []sdk.Snapshot
	h.xvJSON(t, tenant, "", &snaps, "snapshot", "list", "--source", wrong.ID)
	require.Empty(t, snaps)
}

func TestFTPSource(t *testing.T) {
	for _, mode := range []string{vsftpd.TLSNone, vsftpd.TLSExplicit} {
		t.Run("tls="+mode, func(t *testing.T) {
			srv := vsftpd.Start(t, vsftpd.Options{TLS: mode})
			makeTree(t, filepath.Join(srv.Root, "site"), 40, 2<<20)
			// vsftpd reads as its own user: make the tree readable to it.
			require.NoError(t, exec.Command("chmod", "-R", "a+rX", filepath.Join(srv.Root, "site")).Run())
			require.NoError(t, os.WriteFile(filepath.Join(srv.Root, "site", ".htaccess"), []byte("Deny from all\n"), 0o644))
			h := startHub(t, "--no-agent")
			startAgent(t, h, h.enrollToken(t, 1))
			tenant := h.tenant(t)
			var cred sdk.Credential
			h.xvJSON(t, tenant, srv.Password+"\n", &cred, "credential", "create", "--name", "ftp", "--password-stdin")
			args := []string{"source", "create", "--type", "ftp", "--name", "site", "--host", srv.Host,
				"--port", itoa(srv.Port), "--user", srv.User, "--path", "/site", "--credential", cred.ID}
			if mode != vsftpd.TLSNone {
				args = append(args, "--tls", mode, "--insecure-skip-verify")
			}
			var src sdk.Source
			h.xvJSON(t, tenant, "", &src, args...)
			rep, code := h.sourceTest(t, tenant, src.ID)
			require.Equalf(t, 0, code, "%+v", rep)
			job, code := h.backupWait(t, tenant, src.ID)
			require.Equal(t, 0, code, job.ErrorMessage)
			if mode != vsftpd.TLSNone {
				require.Contains(t, strings.Join(job.Warnings, "\n"), "insecure_skip_verify")
			}
			dir, d := h.openSnapshot(t, tenant, job.SnapshotID)
			require.Equal(t, "ftp", d.SourceType)
			got := filepath.Join(dir, "files", "site")
			b, err := os.ReadFile(filepath.Join(got, ".htaccess"))
			require.NoError(t, err, "dotfiles are kept")
			require.Equal(t, "Deny from all\n", string(b))
			requireSameContent(t, filepath.Join(srv.Root, "site"), got)
		})
	}
}

// requireSameContent checks that every regular file under want exists
// under got with the same bytes (FTP keeps no owners and minute mtimes).
func requireSameContent(t *testing.T, want, got string) {
	t.Helper()
	w, g := describe(t, want), describe(t, got)
	require.Equal(t, len(w), len(g), "entry count")
	for name, e := range w {
		require.Equal(t, e.Type, g[name].Type, name)
		require.Equal(t, e.SHA256, g[name].SHA256, name)
		require.Equal(t, e.Target, g[name].Target, name)
	}
}

// psqlRoot runs SQL on the local PostgreSQL (trust auth) as postgres.
func psqlRoot(t *testing.T, db, sql string) string {
	t.Helper()
	cmd := exec.Command("psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-U", "postgres", "-d", db)
	cmd.Stdin = strings.NewReader(sql)
	out, err := cmd.CombinedOutput()
	if err != nil && os.Getenv(sshd.EnvRequire) != "1" && strings.Contains(string(out), "could not connect") {
		t.Skip("PostgreSQL is not running on 127.0.0.1:5432")
	}
	require.NoErrorf(t, err, "psql: %s", out)
	return string(out)
}

func TestPostgresSource(t *testing.T) {
	db, role := "xv_pg_"+randHex(4), "xv_r_"+randHex(4)
	psqlRoot(t, "postgres", "CREATE ROLE "+role+" LOGIN PASSWORD 'canary-"+randHex(6)+"'; CREATE DATABASE "+db+" OWNER "+role)
	t.Cleanup(func() {
		psqlRoot(t, "postgres", "DROP DATABASE IF EXISTS "+db+" WITH (FORCE); DROP ROLE IF EXISTS "+role)
	})
	psqlRoot(t, db, `SET ROLE `+role+`;
CREATE TABLE items (id serial PRIMARY KEY, doc jsonb, raw bytea, tags text[]);
INSERT INTO items (doc, raw, tags) VALUES ('{"a": 1, "e": "😀"}', '\xdeadbeef', '{x,y}'), (NULL, NULL, NULL);
CREATE VIEW item_docs AS SELECT id, doc FROM items;
CREATE FUNCTION item_count() RETURNS bigint LANGUAGE sql AS 'SELECT count(*) FROM items';`)
	sum := func(db string) string {
		return psqlRoot(t, db, "SELECT md5(string_agg(t::text, ',' ORDER BY t::text)) FROM items t")
	}
	want := sum(db)

	h := startHub(t, "--no-agent")
	startAgent(t, h, h.enrollToken(t, 1))
	tenant := h.tenant(t)
	var cred sdk.Credential
	h.xvJSON(t, tenant, "any-password\n", &cred, "credential", "create", "--name", "pg", "--password-stdin")
	for _, format := range []string{"plain", "custom"} {
		var src sdk.Source
		h.xvJSON(t, tenant, "", &src, "source", "create", "--type", "postgres", "--name", "pg-"+format,
			"--host", "127.0.0.1", "--user", role, "--database", db, "--format", format, "--credential", cred.ID)
		rep, code := h.sourceTest(t, tenant, src.ID)
		require.Equalf(t, 0, code, "%+v", rep)
		job, code := h.backupWait(t, tenant, src.ID)
		require.Equal(t, 0, code, job.ErrorMessage)
		dir, d := h.openSnapshot(t, tenant, job.SnapshotID)
		require.Equal(t, "postgres", d.SourceType)
		require.Len(t, d.Databases, 1)
		fresh := "xv_pgr_" + randHex(4)
		psqlRoot(t, "postgres", "CREATE DATABASE "+fresh)
		t.Cleanup(func() { psqlRoot(t, "postgres", "DROP DATABASE IF EXISTS "+fresh+" WITH (FORCE)") })
		var out []byte
		var err error
		if format == "plain" {
			out, err = exec.Command("psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-U", "postgres", "-d", fresh,
				"-f", filepath.Join(dir, archive.DatabaseEntry(db, "sql"))).CombinedOutput()
		} else {
			out, err = exec.Command("pg_restore", "--no-owner", "-h", "127.0.0.1", "-U", "postgres", "-d", fresh,
				filepath.Join(dir, archive.DatabaseEntry(db, "dump"))).CombinedOutput()
		}
		require.NoErrorf(t, err, "%s restore: %s", format, out)
		require.Equal(t, want, sum(fresh), format)
		require.Contains(t, psqlRoot(t, fresh, "SELECT item_count()"), "2")
	}
}

func TestWordPressSource(t *testing.T) {
	db, user, password := shopDB(t)
	mysqlRoot(t, db, `CREATE TABLE wq7_options (option_id INT PRIMARY KEY, option_name VARCHAR(191), option_value TEXT);
INSERT INTO wq7_options VALUES (1, 'siteurl', 'https://blog.example'), (2, 'wq7_user_roles', 'a:0:{}');
CREATE TABLE wq7_usermeta (umeta_id INT PRIMARY KEY, user_id INT, meta_key VARCHAR(255), meta_value TEXT);
INSERT INTO wq7_usermeta VALUES (1, 1, 'wq7_capabilities', 'a:1:{s:13:"administrator";b:1;}'), (2, 1, 'nickname', 'admin');
CREATE TABLE wq7x_other (id INT PRIMARY KEY);`)
	site := filepath.Join(t.TempDir(), "blog")
	for name, body := range map[string]string{
		"wp-config.php": "<?php\n// comment\ndefine( 'DB_NAME', '" + db + "' );\ndefine('DB_USER', \"" + user + "\");\n" +
			"define('DB_PASSWORD', '" + password + "');\ndefine('DB_HOST', '127.0.0.1:3306');\n$table_prefix = 'wq7_';\n" +
			"require_once ABSPATH . 'wp-settings.php';\n",
		"wp-includes/version.php":    "<?php\n$wp_version = '6.4.2';\n",
		"index.php":                  "<?php require 'wp-blog-header.php';",
		".htaccess":                  "RewriteEngine On\n",
		"wp-content/cache/page.html": "cached",
		"wp-content/debug.log":       "noise",
	} {
		p := filepath.Join(site, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
	}
	srv := sshd.Start(t, sshd.Options{})
	h := startHub(t, "--no-agent")
	startAgent(t, h, h.enrollToken(t, 1))
	tenant := h.tenant(t)
	keyFile := filepath.Join(t.TempDir(), "key")
	require.NoError(t, os.WriteFile(keyFile, srv.ClientKey, 0o600))
	var cred sdk.Credential
	h.xvJSON(t, tenant, "", &cred, "credential", "create", "--name", "ssh", "--private-key-file", keyFile)
	var src sdk.Source
	h.xvJSON(t, tenant, "", &src, "source", "create", "--type", "wordpress", "--name", "blog", "--host", srv.Host,
		"--port", itoa(srv.Port), "--user", srv.User, "--path", site, "--credential", cred.ID)
	rep, code := h.sourceTest(t, tenant, src.ID)
	require.Equalf(t, 0, code, "%+v", rep)
	job, code := h.backupWait(t, tenant, src.ID)
	require.Equal(t, 0, code, job.ErrorMessage)
	dir, d := h.openSnapshot(t, tenant, job.SnapshotID)
	require.Equal(t, "wordpress", d.SourceType)
	require.NotNil(t, d.WordPress)
	require.Equal(t, "6.4.2", d.WordPress.Version)
	require.Equal(t, "wq7_", d.WordPress.TablePrefix)
	require.Len(t, d.Databases, 1)
	var tables []string
	for _, tb := range d.Databases[0].Tables {
		tables = append(tables, tb.Name)
	}
	require.Equal(t, []string{"wq7_options", "wq7_usermeta"}, tables, "only the exact prefix is dumped")
	files := filepath.Join(dir, "files", strings.TrimPrefix(site, "/"))
	b, err := os.ReadFile(filepath.Join(files, ".htaccess"))
	require.NoError(t, err)
	require.Equal(t, "RewriteEngine On\n", string(b))
	_, err = os.Stat(filepath.Join(files, "wp-content", "cache", "page.html"))
	require.True(t, os.IsNotExist(err), "cache excluded")
	_, err = os.Stat(filepath.Join(files, "wp-content", "debug.log"))
	require.True(t, os.IsNotExist(err), "*.log excluded")
	fresh := loadDump(t, filepath.Join(dir, archive.DatabaseEntry(db, "sql")))
	require.Equal(t, "wq7_options\nwq7_usermeta\n", mysqlRoot(t, fresh, "SHOW TABLES"))

	// With --into, the site's database goes back into a server, here under a
	// new table prefix (and the rows WordPress keys by it).
	mysqlRoot(t, "", "GRANT ALL ON `"+db+"%`.* TO '"+user+"'@'%'; GRANT ALL ON `"+db+"%`.* TO '"+user+"'@'localhost';")
	var dbCred sdk.Credential
	h.xvJSON(t, tenant, password+"\n", &dbCred, "credential", "create", "--name", "db", "--password-stdin")
	var target sdk.Source
	h.xvJSON(t, tenant, "", &target, "source", "create", "--type", "mysql", "--name", "blog-db",
		"--host", "127.0.0.1", "--user", user, "--database", db, "--credential", dbCred.ID)
	restored := db + "_wp"
	t.Cleanup(func() { mysqlRoot(t, "", "DROP DATABASE IF EXISTS "+restored) })
	r, errOut, code := h.restoreInto(t, tenant, job.SnapshotID, target.ID, "--as", restored, "--create-database",
		"--table-prefix", "nw_")
	require.Equalf(t, 0, code, "%s %+v", errOut, r)
	require.Equal(t, "nw_options\nnw_usermeta\n", mysqlRoot(t, restored, "SHOW TABLES"))
	require.Equal(t, "nw_user_roles\n", mysqlRoot(t, restored, "SELECT option_name FROM nw_options WHERE option_id = 2"))
	require.Equal(t, "nw_capabilities\nnickname\n", mysqlRoot(t, restored, "SELECT meta_key FROM nw_usermeta ORDER BY umeta_id"))
}
