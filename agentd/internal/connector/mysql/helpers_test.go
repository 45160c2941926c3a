package mysql

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	gomysql "github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/agentd/internal/connector"
	"github.com/xvault/xvault/agentd/internal/egress"
	"github.com/xvault/xvault/sdk"
)

// The tests run against the machine's MariaDB (root without a password on
// 127.0.0.1:3306 and /run/mysqld/mysqld.sock). Without it they skip, unless
// XV_TEST_REQUIRE_SERVICES=1.
const (
	testHost   = "127.0.0.1"
	testPort   = 3306
	testSocket = "/run/mysqld/mysqld.sock"
	envRequire = "XV_TEST_REQUIRE_SERVICES"
)

func skipOrFail(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv(envRequire) == "1" {
		t.Fatalf("%s and %s=1", msg, envRequire)
	}
	t.Skip(msg)
}

// rootDB connects as root; it skips the test when the server is not there.
func rootDB(t testing.TB) *sql.DB {
	t.Helper()
	cfg := gomysql.NewConfig()
	cfg.User, cfg.Net, cfg.Addr = "root", "tcp", fmt.Sprintf("%s:%d", testHost, testPort)
	cfg.MultiStatements = true
	cfg.Timeout = 5 * time.Second
	c, err := gomysql.NewConnector(cfg)
	require.NoError(t, err)
	db := sql.OpenDB(c)
	t.Cleanup(func() { db.Close() })
	if err := db.Ping(); err != nil {
		skipOrFail(t, "MariaDB/MySQL is not reachable as root on %s:%d (%v); install and start mariadb-server", testHost, testPort, err)
	}
	return db
}

func needClient(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("mysql")
	if err != nil {
		skipOrFail(t, "the mysql client is missing (apt-get install mariadb-client)")
	}
	return p
}

func unique(prefix string) string {
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// quoteID backquotes an identifier.
func quoteID(s string) string { return "`" + strings.ReplaceAll(s, "`", "``") + "`" }

// sqlString quotes a string literal for the default sql_mode.
func sqlString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\n", `\n`, "\x00", `\0`).Replace(s) + "'"
}

func exec1(t testing.TB, db *sql.DB, q string, args ...any) {
	t.Helper()
	_, err := db.Exec(q, args...)
	require.NoError(t, err, q)
}

// fixture is a test database with every kind of object, and an account
// (with a canary password) that may dump it.
type fixture struct {
	db       string
	user     string
	password string
}

const canaryPrefix = "xv-canary-"

func newFixture(t testing.TB, root *sql.DB) *fixture {
	t.Helper()
	f := &fixture{db: unique("xvt_"), user: unique("xvu_"), password: canaryPrefix + unique("") + `"'\ #;$(x)`}
	exec1(t, root, "CREATE DATABASE "+quoteID(f.db)+" CHARACTER SET utf8mb4")
	t.Cleanup(func() { _, _ = root.Exec("DROP DATABASE IF EXISTS " + quoteID(f.db)) })
	q := quoteID(f.db)
	exec1(t, root, `CREATE TABLE `+q+`.items (id INT PRIMARY KEY, name VARCHAR(100), data BLOB, note TEXT NULL, price DECIMAL(10,2), bits BIT(5)) ENGINE=InnoDB`)
	exec1(t, root, `INSERT INTO `+q+`.items VALUES
		(1, 'plain', NULL, NULL, 1.50, b'10101'),
		(2, 'emoji 😀🎉 ünïcødé', 0x00FF0102275C28293B0A0D, 'it''s (a) "test"; \\ back\nslash', NULL, NULL),
		(3, '', '', '', 0, b'0'),
		(4, 'INSERT INTO `+"`x`"+` VALUES (1);', NULL, ');(', -2.25, NULL)`)
	exec1(t, root, `CREATE TABLE `+q+`.legacy (id INT PRIMARY KEY, txt VARCHAR(50)) ENGINE=MyISAM`)
	exec1(t, root, `INSERT INTO `+q+`.legacy VALUES (1, 'a'), (2, NULL), (3, 'c')`)
	exec1(t, root, `CREATE TABLE `+q+`.empty_t (id INT PRIMARY KEY) ENGINE=InnoDB`)
	exec1(t, root, `CREATE TABLE `+q+".`tricky ``name'` (id INT PRIMARY KEY, s VARCHAR(20)) ENGINE=InnoDB")
	exec1(t, root, `INSERT INTO `+q+".`tricky ``name'` VALUES (1, ')'), (2, '('), (3, '\\\\')")
	exec1(t, root, `CREATE TABLE `+q+`.log (id INT AUTO_INCREMENT PRIMARY KEY, msg VARCHAR(100)) ENGINE=InnoDB`)
	// As applications do: objects created in the database, names unqualified
	// (a qualified name would stay in the definition and tie a restore to
	// the original database name).
	conn, err := root.Conn(context.Background())
	require.NoError(t, err)
	defer conn.Close()
	for _, stmt := range []string{
		"USE " + q,
		`CREATE VIEW v_items AS SELECT id, name FROM items WHERE price > 0`,
		`CREATE TRIGGER items_ai AFTER INSERT ON items FOR EACH ROW
INSERT INTO log (msg) VALUES (CONCAT('inserted ', NEW.id))`,
		`CREATE PROCEDURE p_count(OUT n INT)
BEGIN
INSERT INTO log (msg) VALUES ('counted');
SELECT COUNT(*) INTO n FROM items;
END`,
		`CREATE EVENT e_tick ON SCHEDULE EVERY 1 DAY DISABLE DO INSERT INTO log (msg) VALUES ('tick')`,
	} {
		_, err := conn.ExecContext(context.Background(), stmt)
		require.NoError(t, err, stmt)
	}
	f.createUser(t, root, f.user, f.password)
	exec1(t, root, "GRANT SELECT, SHOW VIEW, TRIGGER, EVENT, LOCK TABLES ON "+q+".* TO "+sqlString(f.user)+"@'%'")
	// Reading routine bodies needs SELECT on mysql.proc (MariaDB 10.11);
	// reading the grant tables needs SELECT on mysql.*.
	exec1(t, root, "GRANT SELECT ON mysql.* TO "+sqlString(f.user)+"@'%'")
	return f
}

func (f *fixture) createUser(t testing.TB, root *sql.DB, user, password string) {
	t.Helper()
	exec1(t, root, "CREATE USER "+sqlString(user)+"@'%' IDENTIFIED BY "+sqlString(password))
	t.Cleanup(func() { _, _ = root.Exec("DROP USER IF EXISTS " + sqlString(user) + "@'%'") })
}

// bigTable adds a table of n rows of ~200 bytes, for dumps that take a while.
func (f *fixture) bigTable(t testing.TB, root *sql.DB, n int) {
	t.Helper()
	q := quoteID(f.db)
	exec1(t, root, `CREATE TABLE `+q+`.big (id INT PRIMARY KEY, pad VARCHAR(255)) ENGINE=InnoDB`)
	exec1(t, root, fmt.Sprintf("INSERT INTO %s.big SELECT seq, REPEAT(CHAR(65 + seq %% 26), 200) FROM %s.seq_1_to_%d", q, q, n))
}

func testEnv(t testing.TB) connector.Env {
	return connector.Env{TempDir: t.TempDir(), Egress: egress.Policy{AllowLoopback: true}}
}

func (f *fixture) config() sdk.MySQLConfig {
	return sdk.MySQLConfig{Host: testHost, Port: testPort, Username: f.user, Databases: []string{f.db}}
}

func (f *fixture) secret() *sdk.SecretPayload {
	return &sdk.SecretPayload{Kind: sdk.CredentialPassword, Password: f.password}
}

func (f *fixture) server() Server {
	return Server{Host: testHost, Port: testPort, Username: f.user, Password: f.password}
}

// load imports a dump into a fresh database with the real mysql client.
func load(t testing.TB, root *sql.DB, dump []byte) string {
	t.Helper()
	client := needClient(t)
	db := unique("xvr_")
	exec1(t, root, "CREATE DATABASE "+quoteID(db))
	t.Cleanup(func() { _, _ = root.Exec("DROP DATABASE IF EXISTS " + quoteID(db)) })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, client, "--no-defaults", "-uroot", "-h"+testHost, fmt.Sprintf("-P%d", testPort), "--binary-mode", db)
	cmd.Stdin = bytes.NewReader(dump)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "mysql import: %s", out)
	return db
}

// checksums is CHECKSUM TABLE of every base table of db.
func checksums(t testing.TB, root *sql.DB, db string) map[string]int64 {
	t.Helper()
	rows, err := root.Query("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE'", db)
	require.NoError(t, err)
	var names []string
	for rows.Next() {
		var n string
		require.NoError(t, rows.Scan(&n))
		names = append(names, n)
	}
	require.NoError(t, rows.Close())
	out := map[string]int64{}
	for _, n := range names {
		var tbl string
		var sum sql.NullInt64
		require.NoError(t, root.QueryRow("CHECKSUM TABLE "+quoteID(db)+"."+quoteID(n)).Scan(&tbl, &sum))
		out[n] = sum.Int64
	}
	return out
}

func count(t testing.TB, root *sql.DB, q string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, root.QueryRow(q, args...).Scan(&n), q)
	return n
}

func ioCopy(w io.Writer, r io.Reader) (int64, error) { return io.Copy(w, r) }

func itoa(n int) string { return fmt.Sprint(n) }
