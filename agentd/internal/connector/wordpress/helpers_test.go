package wordpress

import (
	"bytes"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	gomysql "github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/agentd/internal/connector"
	"github.com/xvault/xvault/agentd/internal/egress"
	"github.com/xvault/xvault/internal/testutil/sshd"
	"github.com/xvault/xvault/sdk"
)

// The integration tests serve a site tree with the real sshd of
// internal/testutil/sshd and keep its database in the machine's MariaDB
// (root without a password on 127.0.0.1:3306 and /run/mysqld/mysqld.sock).
// Without them they skip, unless XV_TEST_REQUIRE_SERVICES=1.
const testSocket = "/run/mysqld/mysqld.sock"

func skipOrFail(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv(sshd.EnvRequire) == "1" {
		t.Fatalf("%s and %s=1", msg, sshd.EnvRequire)
	}
	t.Skip(msg)
}

// rootDB connects to MariaDB as root, or skips.
func rootDB(t testing.TB) *sql.DB {
	t.Helper()
	cfg := gomysql.NewConfig()
	cfg.User, cfg.Net, cfg.Addr = "root", "tcp", "127.0.0.1:3306"
	cfg.MultiStatements = true
	cfg.Timeout = 5 * time.Second
	c, err := gomysql.NewConnector(cfg)
	require.NoError(t, err)
	db := sql.OpenDB(c)
	t.Cleanup(func() { db.Close() })
	if err := db.Ping(); err != nil {
		skipOrFail(t, "MariaDB is not reachable as root on 127.0.0.1:3306 (%v): install and start mariadb-server", err)
	}
	for _, tool := range []string{"mysql", "mariadb-dump"} {
		if _, err := exec.LookPath(tool); err != nil {
			skipOrFail(t, "%s is missing: apt-get install mariadb-client", tool)
		}
	}
	return db
}

func unique(prefix string) string {
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

func sqlString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// phpSingle quotes s as a PHP single-quoted string.
func phpSingle(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// testDB is a database with a WordPress account, dropped with the test.
type testDB struct {
	name, user, password string
}

// newTestDB creates a database holding a WordPress site's tables with the
// prefix xq7_ and another application's tables, and an account that may
// use it from hosts (e.g. "localhost" for the socket).
func newTestDB(t *testing.T, root *sql.DB, hosts ...string) testDB {
	t.Helper()
	d := testDB{name: unique("xvwp_"), user: unique("xvwpu_"), password: `p'a\ss"w$rd;` + unique("")}
	exec := func(q string) {
		t.Helper()
		_, err := root.Exec(q)
		require.NoError(t, err, q)
	}
	exec("CREATE DATABASE `" + d.name + "` CHARACTER SET utf8mb4")
	t.Cleanup(func() { _, _ = root.Exec("DROP DATABASE IF EXISTS `" + d.name + "`") })
	for _, h := range hosts {
		account := sqlString(d.user) + "@" + sqlString(h)
		exec("CREATE USER " + account + " IDENTIFIED BY " + sqlString(d.password))
		t.Cleanup(func() { _, _ = root.Exec("DROP USER IF EXISTS " + account) })
		exec("GRANT ALL ON `" + d.name + "`.* TO " + account)
	}
	exec("USE `" + d.name + "`;" + `
		CREATE TABLE xq7_options (option_id BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY, option_name VARCHAR(191) UNIQUE,
			option_value LONGTEXT) ENGINE=InnoDB;
		INSERT INTO xq7_options (option_name, option_value) VALUES ('siteurl', 'https://example.com'), ('blogname', 'Emoji 🎉 blog');
		CREATE TABLE xq7_posts (ID BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY, post_title TEXT, post_content LONGTEXT) ENGINE=InnoDB;
		INSERT INTO xq7_posts (post_title, post_content) VALUES ('Hello', 'world'), ('Second', NULL), ('Third', 'x');
		CREATE TABLE xq7_users (ID BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY, user_login VARCHAR(60)) ENGINE=InnoDB;
		INSERT INTO xq7_users (user_login) VALUES ('admin');
		CREATE VIEW xq7_recent AS SELECT ID, post_title FROM xq7_posts;
		CREATE TABLE xq7x_other (id INT PRIMARY KEY) ENGINE=InnoDB;
		INSERT INTO xq7x_other VALUES (1);
		CREATE TABLE XQ7_upper (id INT PRIMARY KEY) ENGINE=InnoDB;
		CREATE TABLE other_app (id INT PRIMARY KEY, secret TEXT) ENGINE=InnoDB;
		INSERT INTO other_app VALUES (1, 'not part of the site');`)
	return d
}

// siteFile is a file of the test site.
type siteFile struct {
	name     string
	data     []byte
	excluded bool
}

// newSite writes a WordPress tree under a fresh directory and returns its
// root and files. wpConfig is wp-config.php's content ("" for none).
func newSite(t *testing.T, wpConfig string) (string, []siteFile) {
	t.Helper()
	root := filepath.Join(t.TempDir(), "site")
	pic := make([]byte, 300<<10)
	_, _ = rand.Read(pic)
	files := []siteFile{
		{name: "index.php", data: []byte("<?php require __DIR__ . '/wp-blog-header.php';\n")},
		{name: ".htaccess", data: []byte("# BEGIN WordPress\nRewriteEngine On\n# END WordPress\n")},
		{name: "wp-settings.php", data: []byte("<?php\n")},
		{name: "wp-includes/version.php", data: []byte("<?php\n$wp_version = '6.4.2';\n$wp_db_version = 56657;\n")},
		{name: "wp-content/uploads/2024/01/pic.jpg", data: pic},
		{name: "wp-content/themes/t/style.css", data: []byte("body{}")},
		{name: "wp-content/cache/page.html", data: []byte("cached"), excluded: true},
		{name: "wp-content/debug.log", data: []byte("PHP Notice"), excluded: true},
		{name: "wp-content/updraft/backup.zip", data: []byte("zip"), excluded: true},
		{name: "wp-content/uploads/backwpup-abc-backups/b.zip", data: []byte("zip"), excluded: true},
		{name: "wp-content/uploads/private/keep.txt", data: []byte("keep")},
	}
	if wpConfig != "" {
		files = append(files, siteFile{name: "wp-config.php", data: []byte(wpConfig)})
	}
	for _, f := range files {
		p := filepath.Join(root, f.name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, f.data, 0o644))
	}
	return root, files
}

// wpConfig renders a wp-config.php for d with the given DB_HOST and
// password expression (a PHP expression, e.g. a quoted string or getenv()).
func wpConfig(d testDB, dbHost, passwordExpr string) string {
	return fmt.Sprintf(`<?php
/** The base configuration for WordPress */
// ** Database settings - You can get this info from your web host ** //
define( 'DB_NAME', %s );
define( 'DB_USER', %s );
define( 'DB_PASSWORD', %s );
define( 'DB_HOST', %s );
define( 'DB_CHARSET', 'utf8mb4' );
define( 'DB_COLLATE', '' );
define( 'AUTH_KEY',         'put your unique phrase here' );
$table_prefix = 'xq7_';
define( 'WP_DEBUG', false );
if ( ! defined( 'ABSPATH' ) ) {
	define( 'ABSPATH', __DIR__ . '/' );
}
require_once ABSPATH . 'wp-settings.php';
`, phpSingle(d.name), phpSingle(d.user), passwordExpr, phpSingle(dbHost))
}

// harness is an sshd serving the test site, and the connector's inputs.
type harness struct {
	srv    *sshd.Server
	secret *sdk.SecretPayload
	env    connector.Env
	mu     sync.Mutex
	keys   []string // host keys recorded on first use
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{srv: sshd.Start(t, sshd.Options{})}
	h.secret = &sdk.SecretPayload{Kind: "ssh_key", PrivateKey: string(h.srv.ClientKey)}
	h.env = connector.Env{TempDir: t.TempDir(), Egress: egress.Policy{AllowLoopback: true}, OnHostKey: func(fp string) error {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.keys = append(h.keys, fp)
		return nil
	}}
	return h
}

func (h *harness) config(root string) sdk.WordPressConfig {
	return sdk.WordPressConfig{Host: h.srv.Host, Port: h.srv.Port, Username: h.srv.User, Path: root}
}

// tablesAfterImport loads dump into a fresh database with the mysql
// client and returns its tables.
func tablesAfterImport(t *testing.T, root *sql.DB, dump []byte) []string {
	t.Helper()
	db := unique("xvwpr_")
	_, err := root.Exec("CREATE DATABASE `" + db + "`")
	require.NoError(t, err)
	t.Cleanup(func() { _, _ = root.Exec("DROP DATABASE IF EXISTS `" + db + "`") })
	cmd := exec.Command("mysql", "--no-defaults", "-uroot", "-h127.0.0.1", "-P3306", db)
	cmd.Stdin = bytes.NewReader(dump)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	out, err = exec.Command("mysql", "--no-defaults", "-uroot", "-h127.0.0.1", "-N", "-e", "SHOW FULL TABLES", db).CombinedOutput()
	require.NoError(t, err, string(out))
	var tables []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if line != "" {
			tables = append(tables, strings.ReplaceAll(line, "\t", " "))
		}
	}
	return tables
}
