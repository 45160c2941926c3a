package wordpress

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"slices"
	"strings"
	"time"

	gomysql "github.com/go-sql-driver/mysql"
	pkgsftp "github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"

	"github.com/xvault/xvault/agentd/internal/connector"
)

// tableInfo is one table of the site's database.
type tableInfo struct {
	name, engine string
	bytes        int64 // data + index, as information_schema estimates them
}

// chooseRoute finds how the SSH server reaches mysqld (see the package
// doc) and lists the site's tables through the first route that connects.
func (c *Connector) chooseRoute(ctx context.Context, client *ssh.Client, sc *pkgsftp.Client, s *site) error {
	routes, note := candidates(sc, s.db.host)
	var failed []string
	var first error
	for _, r := range routes {
		connected, err := c.listTables(ctx, client, r, s)
		if err == nil {
			s.route = r
			if note != "" {
				s.warnings = append(s.warnings, note)
			}
			if len(failed) > 0 {
				s.warnings = append(s.warnings, fmt.Sprintf("could not reach the database through %s: using %s", strings.Join(failed, "; "), r))
			}
			return nil
		}
		if connected || ctx.Err() != nil {
			return err
		}
		first = cmp.Or(first, err)
		failed = append(failed, fmt.Sprintf("%s (%v)", r, err))
	}
	if len(failed) > 1 {
		return fmt.Errorf("%w (also tried %s)", first, strings.Join(failed[1:], "; "))
	}
	return first
}

// candidates are the routes to try, in order, and a warning about them.
func candidates(sc *pkgsftp.Client, h DBHost) ([]dbRoute, string) {
	port := cmp.Or(h.Port, 3306)
	switch {
	case !h.IsLocal():
		return []dbRoute{{host: h.Host, port: port}}, ""
	case h.Socket != "":
		return []dbRoute{{socket: h.Socket}}, ""
	}
	tcp := dbRoute{host: "127.0.0.1", port: port}
	for _, p := range defaultSockets {
		if fi, err := sc.Stat(p); err == nil && fi.Mode()&fs.ModeSocket != 0 {
			return []dbRoute{{socket: p}, tcp}, ""
		}
	}
	return []dbRoute{tcp}, fmt.Sprintf("DB_HOST is %q and no mysqld socket was found at %s: connecting to %s instead "+
		"(hint: set the source's db_host to localhost:/path/to/mysqld.sock)", h.Host, strings.Join(defaultSockets, ", "), tcp)
}

// listTables connects through r and lists the database's tables into s:
// the base tables with the exact prefix, and CUSTOM_USER_TABLE's. connected
// says whether the route worked (so another one need not be tried).
func (c *Connector) listTables(ctx context.Context, client *ssh.Client, r dbRoute, s *site) (connected bool, err error) {
	db, version, err := openMeta(ctx, client, r, s.db.user, s.db.password)
	if err != nil {
		return false, err
	}
	defer db.Close()
	s.dbServer = version
	var lower int
	if err := db.QueryRowContext(ctx, "SELECT @@lower_case_table_names").Scan(&lower); err != nil {
		return true, fmt.Errorf("database %s: %w", s.db.name, err)
	}
	all, err := tablesOf(ctx, db, s.db.name, s.db.user)
	if err != nil {
		return true, err
	}
	hasPrefix := func(n string) bool {
		p := s.db.prefix
		if lower != 0 { // names compare case-insensitively on this server
			return len(n) >= len(p) && strings.EqualFold(n[:len(p)], p)
		}
		return strings.HasPrefix(n, p)
	}
	var skipped []string
	for _, t := range all {
		switch {
		case !hasPrefix(t.name):
			s.others++
		case t.info.engine == "":
			skipped = append(skipped, t.name)
		default:
			s.tables = append(s.tables, t.info)
		}
	}
	if len(skipped) > 0 {
		s.warnings = append(s.warnings, fmt.Sprintf("database %s: views and sequences are not dumped: %s", s.db.name, strings.Join(skipped, ", ")))
	}
	if len(s.tables) == 0 {
		return true, fmt.Errorf("database %s holds no table with the prefix %q (and %d other tables) "+
			"(hint: check $table_prefix and DB_NAME in wp-config.php): %w", s.db.name, s.db.prefix, s.others, connector.ErrPermanent)
	}
	if s.multisiteUnknown {
		s.multisite = slices.ContainsFunc(s.tables, func(t tableInfo) bool { return t.name == s.db.prefix+"blogs" })
	}
	s.warnings = append(s.warnings, s.addCustomTables(all)...)
	return true, nil
}

type listed struct {
	info tableInfo // engine "" for a view or sequence
	name string
}

// tablesOf lists every table of db, sorted by name.
func tablesOf(ctx context.Context, db *sql.DB, name, user string) ([]listed, error) {
	var n int
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", name).Scan(&n); err != nil {
		return nil, fmt.Errorf("database %s: %w", name, err)
	}
	if n == 0 {
		return nil, fmt.Errorf("database %q (DB_NAME) does not exist on the server, or the account %q (DB_USER) may not see it: %w",
			name, user, connector.ErrPermanent)
	}
	rows, err := db.QueryContext(ctx, `SELECT TABLE_NAME, TABLE_TYPE, COALESCE(ENGINE, ''),
		COALESCE(DATA_LENGTH, 0) + COALESCE(INDEX_LENGTH, 0) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?`, name)
	if err != nil {
		return nil, fmt.Errorf("database %s: list tables: %w", name, err)
	}
	defer rows.Close()
	var out []listed
	for rows.Next() {
		var t listed
		var typ string
		if err := rows.Scan(&t.name, &typ, &t.info.engine, &t.info.bytes); err != nil {
			return nil, fmt.Errorf("database %s: list tables: %w", name, err)
		}
		t.info.name = t.name
		if typ != "BASE TABLE" && typ != "SYSTEM VERSIONED" {
			t.info.engine = ""
		} else if t.info.engine == "" {
			t.info.engine = "unknown"
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("database %s: list tables: %w", name, err)
	}
	slices.SortFunc(out, func(a, b listed) int { return strings.Compare(a.name, b.name) })
	return out, nil
}

// addCustomTables adds the CUSTOM_USER_TABLE and CUSTOM_USER_META_TABLE
// tables (users shared between sites), which may lack the prefix.
func (s *site) addCustomTables(all []listed) []string {
	var warnings []string
	for _, name := range s.customTables {
		if slices.ContainsFunc(s.tables, func(t tableInfo) bool { return t.name == name }) {
			continue
		}
		i := slices.IndexFunc(all, func(t listed) bool { return t.name == name && t.info.engine != "" })
		if i < 0 {
			warnings = append(warnings, fmt.Sprintf("database %s: the custom users table %q of wp-config.php is not a table of the database: not dumped", s.db.name, name))
			continue
		}
		s.tables = append(s.tables, all[i].info)
		s.others--
	}
	slices.SortFunc(s.tables, func(a, b tableInfo) int { return strings.Compare(a.name, b.name) })
	return warnings
}

// openMeta opens the agent's own connection to mysqld through client (to
// list tables; the dump has its own), and returns the server's VERSION().
func openMeta(ctx context.Context, client *ssh.Client, r dbRoute, user, password string) (*sql.DB, string, error) {
	cfg := gomysql.NewConfig()
	cfg.User, cfg.Passwd = user, password
	network, addr := r.network()
	cfg.Net, cfg.Addr = network, addr
	cfg.DialFunc = func(ctx context.Context, _, _ string) (net.Conn, error) {
		return client.DialContext(ctx, network, addr)
	}
	cfg.Timeout = 30 * time.Second
	cfg.Logger = &gomysql.NopLogger{}
	dc, err := gomysql.NewConnector(cfg)
	if err != nil {
		return nil, "", fmt.Errorf("database connection: %w: %w", err, connector.ErrPermanent)
	}
	db := sql.OpenDB(dc)
	db.SetMaxOpenConns(1)
	var version string
	if err := db.QueryRowContext(ctx, "SELECT VERSION()").Scan(&version); err != nil {
		_ = db.Close()
		var me *gomysql.MySQLError
		if errors.As(err, &me) && (me.Number == 1045 || me.Number == 1698) {
			return nil, "", fmt.Errorf("database through %s: authentication failed for %q (DB_USER): %s "+
				"(hint: check DB_PASSWORD, or the source's db_credential_id): %w", r, user, me.Message, connector.ErrPermanent)
		}
		return nil, "", fmt.Errorf("database through %s: %w", r, err)
	}
	return db, version, nil
}
