package mysql

import (
	"context"
	"fmt"
	"strings"
)

// What a dump needs, learned by running the real client against accounts
// with one privilege less each time (MariaDB 10.11, mariadb-dump 10.19):
//
//   - SELECT on the database: without it the dump fails.
//   - SHOW VIEW, when the database has views: the dump fails without it.
//   - EVENT (--events): the dump fails without it ("show events: Access denied").
//   - TRIGGER (--triggers): without it the dump SUCCEEDS WITHOUT THE
//     TRIGGERS, silently; information_schema hides them too.
//   - reading routine bodies (--routines): the definer, global SELECT, or
//     SELECT on mysql.proc (MariaDB; MySQL 8: SHOW_ROUTINE): without it the
//     dump fails on a routine the account sees (it has EXECUTE on it), and
//     silently leaves out those it does not see.
//   - LOCK TABLES is not needed (--single-transaction locks nothing), nor
//     PROCESS (--no-tablespaces).
//
// The privileges are read from information_schema (USER_PRIVILEGES and
// SCHEMA_PRIVILEGES, whose TABLE_SCHEMA is the grant's pattern: `shop\_%`
// matches like LIKE does), for the current account and its enabled roles.

// grantees are the GRANTEE spellings of the current account and its roles.
func (s *Session) grantees(ctx context.Context) ([]string, string, error) {
	var cu string
	if err := s.db.QueryRowContext(ctx, "SELECT CURRENT_USER()").Scan(&cu); err != nil {
		return nil, "", fmt.Errorf("current user: %w", err)
	}
	user, host := cu, ""
	if i := strings.LastIndexByte(cu, '@'); i >= 0 {
		user, host = cu[:i], cu[i+1:]
	}
	account := "'" + user + "'@'" + host + "'"
	list := []string{account}
	rows, err := s.db.QueryContext(ctx, "SELECT ROLE_NAME FROM information_schema.ENABLED_ROLES WHERE ROLE_NAME IS NOT NULL")
	if err == nil {
		defer rows.Close()
		for rows.Next() {
			var r string
			if rows.Scan(&r) == nil {
				list = append(list, "'"+r+"'", "'"+r+"'@''", "'"+r+"'@'%'")
			}
		}
	}
	return list, account, nil
}

// privileges returns the privilege names (upper case) the account holds on
// db, globally or on the database, and the account ('user'@'host').
func (s *Session) privileges(ctx context.Context, db string) (map[string]bool, string, error) {
	who, account, err := s.grantees(ctx)
	if err != nil {
		return nil, "", err
	}
	marks := strings.TrimSuffix(strings.Repeat("?,", len(who)), ",")
	args := make([]any, 0, 2*len(who)+1)
	for _, w := range who {
		args = append(args, w)
	}
	args = append(args, db)
	for _, w := range who {
		args = append(args, w)
	}
	q := "SELECT PRIVILEGE_TYPE FROM information_schema.SCHEMA_PRIVILEGES WHERE GRANTEE IN (" + marks + ") AND ? LIKE TABLE_SCHEMA" +
		" UNION SELECT PRIVILEGE_TYPE FROM information_schema.USER_PRIVILEGES WHERE GRANTEE IN (" + marks + ")"
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, "", fmt.Errorf("read privileges: %w", err)
	}
	defer rows.Close()
	have := map[string]bool{}
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			return nil, "", fmt.Errorf("read privileges: %w", err)
		}
		have[strings.ToUpper(p)] = true
	}
	return have, account, rows.Err()
}

// hiddenRoutines lists the routines of db the account sees but whose body
// it may not read ("PROCEDURE p"): the dump would leave them out.
func (s *Session) hiddenRoutines(ctx context.Context, db string) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT ROUTINE_TYPE, ROUTINE_NAME FROM information_schema.ROUTINES
		WHERE ROUTINE_SCHEMA = ? AND ROUTINE_DEFINITION IS NULL ORDER BY ROUTINE_NAME`, db)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var typ, name string
		if err := rows.Scan(&typ, &name); err != nil {
			return nil, err
		}
		out = append(out, typ+" "+name)
	}
	return out, rows.Err()
}

func (s *Session) countViews(ctx context.Context, db string) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'VIEW'", db).Scan(&n)
	return n, err
}

// privCheck is one privilege a dump of a database needs.
type privCheck struct {
	name   string // "SELECT"
	ok     bool
	detail string // what happens without it, with the GRANT that fixes it
	fatal  bool   // the dump fails without it (else it is incomplete)
}

// checkPrivileges reports each privilege a dump of db needs.
func (s *Session) checkPrivileges(ctx context.Context, db string) ([]privCheck, error) {
	have, account, err := s.privileges(ctx, db)
	if err != nil {
		return nil, err
	}
	views, err := s.countViews(ctx, db)
	if err != nil {
		return nil, fmt.Errorf("count views: %w", err)
	}
	grant := func(p string) string {
		return fmt.Sprintf("GRANT %s ON `%s`.* TO %s", p, strings.ReplaceAll(db, "`", "``"), account)
	}
	checks := []privCheck{
		{name: "SELECT", ok: have["SELECT"], fatal: true, detail: "the dump cannot read the tables: " + grant("SELECT")},
		{name: "SHOW VIEW", ok: have["SHOW VIEW"] || views == 0, fatal: true,
			detail: fmt.Sprintf("the database has %d views and the dump fails on them: %s", views, grant("SHOW VIEW"))},
		{name: "EVENT", ok: have["EVENT"], fatal: true, detail: "the dump fails reading the events: " + grant("EVENT")},
		{name: "TRIGGER", ok: have["TRIGGER"], detail: "the dump silently leaves every trigger out: " + grant("TRIGGER")},
	}
	hidden, err := s.hiddenRoutines(ctx, db)
	if err != nil {
		return nil, fmt.Errorf("list routines: %w", err)
	}
	routines := privCheck{name: "read routine bodies", ok: len(hidden) == 0, fatal: true}
	if !routines.ok {
		routines.detail = fmt.Sprintf("the dump fails on %s: GRANT SELECT ON mysql.proc TO %s (MySQL 8: GRANT SHOW_ROUTINE ON *.* TO %s)",
			strings.Join(hidden, ", "), account, account)
	}
	return append(checks, routines), nil
}

// privilegeWarnings are the dump's warnings for missing privileges that
// make it incomplete without failing it.
func (s *Session) privilegeWarnings(ctx context.Context, db string) []string {
	checks, err := s.checkPrivileges(ctx, db)
	if err != nil {
		return []string{fmt.Sprintf("database %s: could not check the account's privileges: %v", db, err)}
	}
	var out []string
	for _, c := range checks {
		if !c.ok && !c.fatal {
			out = append(out, fmt.Sprintf("database %s: the account lacks %s: %s", db, c.name, c.detail))
		}
	}
	return out
}
