package mysql

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	gomysql "github.com/go-sql-driver/mysql"
)

// account is a user (or, with an empty host on MariaDB, a role).
type account struct{ user, host string }

// quoted is the account in backquotes (`u`@`h`): backquoted names need only
// “ escaped and no backslash handling, whatever the session's sql_mode.
func (a account) quoted() string {
	q := func(s string) string { return "`" + strings.ReplaceAll(s, "`", "``") + "`" }
	if a.host == "" {
		return q(a.user)
	}
	return q(a.user) + "@" + q(a.host)
}

// Grants returns server/grants.sql: SHOW CREATE USER and SHOW GRANTS of the
// accounts (and roles) that hold privileges on one of dbs (database,
// table, column or routine grants; accounts with only global privileges,
// like root, are not included). When the account may not read the grant
// tables, sql is nil and warning says so; err is for the session failing.
func (s *Session) Grants(ctx context.Context, dbs []string) (sql []byte, warning string, err error) {
	accounts, err := s.grantAccounts(ctx, dbs)
	if err != nil {
		var me *gomysql.MySQLError
		if errors.As(err, &me) && (me.Number == 1142 || me.Number == 1044 || me.Number == 1143) {
			return nil, "server/grants.sql not archived: the account may not read the grant tables (mysql.db …): " + me.Message +
				" (hint: GRANT SELECT ON mysql.* TO the backup account)", nil
		}
		return nil, "", fmt.Errorf("grants: %w", err)
	}
	var b bytes.Buffer
	b.WriteString("-- Accounts with privileges on the dumped databases (SHOW CREATE USER and SHOW GRANTS), written by xVault.\n")
	b.WriteString("-- Load with the mysql client as an account that may create users; CREATE USER IF NOT EXISTS keeps existing ones.\n")
	var skipped []string
	for _, a := range accounts {
		if err := s.writeAccount(ctx, &b, a); err != nil {
			var me *gomysql.MySQLError
			if !errors.As(err, &me) {
				return nil, "", fmt.Errorf("grants of %s: %w", a.quoted(), err)
			}
			skipped = append(skipped, a.quoted()+": "+me.Message)
		}
	}
	if len(skipped) > 0 {
		warning = "server/grants.sql lacks some accounts: " + strings.Join(skipped, "; ")
	}
	return b.Bytes(), warning, nil
}

// grantAccounts lists the accounts with privileges on any of dbs, sorted.
func (s *Session) grantAccounts(ctx context.Context, dbs []string) ([]account, error) {
	seen := map[account]bool{}
	for _, db := range dbs {
		rows, err := s.db.QueryContext(ctx, `SELECT User, Host FROM mysql.db WHERE ? LIKE Db
			UNION SELECT User, Host FROM mysql.tables_priv WHERE Db = ?
			UNION SELECT User, Host FROM mysql.columns_priv WHERE Db = ?
			UNION SELECT User, Host FROM mysql.procs_priv WHERE Db = ?`, db, db, db, db)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var a account
			if err := rows.Scan(&a.user, &a.host); err != nil {
				rows.Close()
				return nil, err
			}
			seen[a] = true
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, err
		}
	}
	out := make([]account, 0, len(seen))
	for a := range seen {
		if a.user != "" { // anonymous accounts
			out = append(out, a)
		}
	}
	slices.SortFunc(out, func(x, y account) int { return strings.Compare(x.user+"@"+x.host, y.user+"@"+y.host) })
	return out, nil
}

// writeAccount appends one account's CREATE USER (CREATE ROLE for a
// MariaDB role) and GRANT statements.
func (s *Session) writeAccount(ctx context.Context, b *bytes.Buffer, a account) error {
	var create string
	if a.host == "" {
		create = "CREATE ROLE IF NOT EXISTS " + a.quoted()
	} else {
		if err := s.db.QueryRowContext(ctx, "SHOW CREATE USER "+a.quoted()).Scan(&create); err != nil {
			return err
		}
		create = strings.Replace(create, "CREATE USER ", "CREATE USER IF NOT EXISTS ", 1)
	}
	grants, err := s.showGrants(ctx, a)
	if err != nil {
		return err
	}
	fmt.Fprintf(b, "\n-- %s\n%s;\n", oneLine(a.quoted()), strings.TrimRight(create, "; \n"))
	for _, g := range grants {
		fmt.Fprintf(b, "%s;\n", strings.TrimRight(g, "; \n"))
	}
	return nil
}

func (s *Session) showGrants(ctx context.Context, a account) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, "SHOW GRANTS FOR "+a.quoted())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var g sql.NullString
		if err := rows.Scan(&g); err != nil {
			return nil, err
		}
		if g.Valid {
			out = append(out, g.String)
		}
	}
	return out, rows.Err()
}

// oneLine is s for a "-- " comment line: a name with a line break must not
// end the comment and become SQL when the file is loaded.
func oneLine(s string) string {
	return strings.NewReplacer("\r", `\r`, "\n", `\n`).Replace(s)
}
