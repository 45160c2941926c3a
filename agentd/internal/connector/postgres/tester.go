package postgres

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/xvault/xvault/sdk"
)

// privilegesSQL lists what the account lacks for pg_dump to dump the
// database it is connected to, one phrase per missing privilege.
const privilegesSQL = `SELECT coalesce(pg_catalog.jsonb_agg(x ORDER BY x), '[]')::text FROM (
SELECT 'USAGE on schema ' || pg_catalog.quote_ident(n.nspname) AS x FROM pg_catalog.pg_namespace n
  WHERE n.nspname !~ '^pg_' AND n.nspname <> 'information_schema' AND NOT pg_catalog.has_schema_privilege(n.oid, 'USAGE')
UNION ALL
SELECT 'SELECT on table ' || pg_catalog.format('%I.%I', n.nspname, c.relname) ` + userRelations + `
  AND c.relkind IN ('r', 'p') AND NOT pg_catalog.has_table_privilege(c.oid, 'SELECT')
UNION ALL
SELECT 'SELECT on sequence ' || pg_catalog.format('%I.%I', n.nspname, c.relname) ` + userRelations + `
  AND CASE WHEN c.relkind = 'S' THEN NOT pg_catalog.has_sequence_privilege(c.oid, 'SELECT') ELSE false END
UNION ALL
SELECT 'BYPASSRLS or ownership (row-level security) of table ' || pg_catalog.format('%I.%I', n.nspname, c.relname) ` + userRelations + `
  AND c.relkind IN ('r', 'p') AND c.relrowsecurity AND NOT pg_catalog.pg_has_role(c.relowner, 'USAGE')
  AND NOT (SELECT r.rolbypassrls FROM pg_catalog.pg_roles r WHERE r.rolname = current_user)
) t`

// Test connects, reports the server and client versions, lists the
// databases a backup would dump with their sizes, and checks the
// privileges pg_dump needs in each (CONNECT, USAGE on schemas, SELECT on
// tables and sequences, row-level security). Every query runs in a
// read-only transaction: nothing is changed.
func (c *Connector) Test(ctx context.Context) (*sdk.TestReport, error) {
	rep := &sdk.TestReport{Checks: []sdk.TestCheck{}}
	check := func(name string, err error, okDetail string) bool {
		if err != nil {
			rep.Checks = append(rep.Checks, sdk.TestCheck{Name: name, Detail: err.Error()})
			return false
		}
		rep.Checks = append(rep.Checks, sdk.TestCheck{Name: name, OK: true, Detail: okDetail})
		return true
	}
	s, err := c.open(ctx)
	if !check("connect", err, c.endpoint()) {
		return rep, nil
	}
	defer s.close()
	if !check("client programs", s.findToolsets(ctx), "") {
		return rep, nil
	}
	db, info, err := s.metadataDB(ctx)
	if !check("connect and authenticate", err, fmt.Sprintf("as %q (%s)", info.User, s.mode)) {
		return rep, nil
	}
	rep.Server = "PostgreSQL " + info.shortVersion()
	t, err := chooseToolset(s.sets, serverMajor(info.Num), info.shortVersion())
	if check("pg_dump version", err, fmt.Sprintf("pg_dump %s (%s) can dump PostgreSQL %s", t.version, t.dir, info.shortVersion())) {
		s.tools = t
		for _, name := range toolNames {
			rep.Tools = append(rep.Tools, name+" "+t.version)
		}
	}
	c.testDatabases(ctx, s, db, rep, check)
	c.testGlobals(info, rep, check)
	rep.OK = true
	for _, ch := range rep.Checks {
		rep.OK = rep.OK && ch.OK
	}
	return rep, nil
}

func (c *Connector) testDatabases(ctx context.Context, s *session, db string, rep *sdk.TestReport,
	check func(string, error, string) bool) {
	all, err := s.listDatabases(ctx, db)
	if !check("list databases", err, "") {
		return
	}
	dbs, warnings, err := c.selectDatabases(all)
	rep.Warnings = append(rep.Warnings, warnings...)
	if !check("databases", err, fmt.Sprintf("%d to back up", len(dbs))) {
		return
	}
	for _, d := range all {
		if d.Size != nil && slices.Contains(dbs, d.Name) {
			rep.Items = append(rep.Items, sdk.TestItem{Name: d.Name, Kind: "database", SizeBytes: *d.Size})
		}
	}
	for _, name := range dbs {
		var missing []string
		err := s.query(ctx, name, privilegesSQL, &missing)
		if err == nil && len(missing) > 0 {
			err = fmt.Errorf("missing: %s (hint: GRANT them to %q)", strings.Join(missing, "; "), c.cfg.Username)
		}
		check(fmt.Sprintf("privileges on database %q", name), err, "CONNECT, and SELECT on every table and sequence")
	}
}

func (c *Connector) testGlobals(info serverInfo, rep *sdk.TestReport, check func(string, error, string) bool) {
	if info.ReadAuthid {
		check("roles ("+globalsName+")", nil, "with their passwords")
		return
	}
	check("roles ("+globalsName+")", nil, "without their passwords")
	rep.Warnings = append(rep.Warnings, fmt.Sprintf("%s will hold the roles without their passwords: user %q may not read pg_authid",
		globalsName, info.User))
}

// endpoint says where the source's database is reached.
func (c *Connector) endpoint() string {
	db := net.JoinHostPort(c.cfg.Host, strconv.Itoa(c.cfg.Port))
	if strings.HasPrefix(c.cfg.Host, "/") {
		db = c.cfg.Host + " (unix socket, port " + strconv.Itoa(c.cfg.Port) + ")"
	}
	if c.ssh != nil {
		return fmt.Sprintf("%s through SSH %s@%s", db, c.cfg.SSH.Username, c.ssh.Addr())
	}
	return db
}
