package mysql

import (
	"context"
	"fmt"
	"strings"

	"github.com/xvault/xvault/sdk"
)

// Test connects, finds the dump client, lists the databases a backup would
// dump with their sizes, and checks on each the privileges a dump needs
// (naming the GRANT that is missing). It only reads: nothing on the server
// changes.
func (c *Connector) Test(ctx context.Context) (*sdk.TestReport, error) {
	rep := &sdk.TestReport{OK: true, Checks: []sdk.TestCheck{}}
	check := func(name string, ok bool, detail string) {
		rep.OK = rep.OK && ok
		rep.Checks = append(rep.Checks, sdk.TestCheck{Name: name, OK: ok, Detail: detail})
	}
	s, err := Open(ctx, c.srv, c.env)
	if err != nil {
		check("connect and authenticate", false, err.Error())
		return rep, nil
	}
	defer s.Close()
	info := s.ServerInfo()
	rep.Server = info.Name + " " + info.Version
	check("connect and authenticate", true, rep.Server+" via "+c.transferMode())
	if s.toolErr != nil {
		check("dump client", false, s.toolErr.Error())
	} else {
		t := s.Tool()
		rep.Tools = []string{t.Name + " " + t.Version}
		check("dump client", true, s.tool.path)
	}
	dbs, err := c.databases(ctx, s)
	if err != nil {
		check("databases", false, err.Error())
		return rep, nil
	}
	sizes, err := s.sizes(ctx)
	if err != nil {
		rep.Warnings = append(rep.Warnings, "database sizes: "+err.Error())
	}
	for _, db := range dbs {
		rep.Items = append(rep.Items, sdk.TestItem{Name: db, Kind: "database", SizeBytes: sizes[db]})
		checks, err := s.checkPrivileges(ctx, db)
		if err != nil {
			check("privileges on "+db, false, err.Error())
			continue
		}
		for _, p := range checks {
			detail := ""
			if !p.ok {
				detail = p.detail
			}
			check(fmt.Sprintf("privilege %s on %s", p.name, db), p.ok, detail)
		}
		if meta, err := s.schema(ctx, db, nil); err == nil {
			rep.Warnings = append(rep.Warnings, meta.warnings(db)...)
		}
	}
	if _, warn, err := s.Grants(ctx, dbs); err == nil && warn != "" {
		rep.Warnings = append(rep.Warnings, warn)
	}
	return rep, nil
}

// sizes is data+index bytes per database, from information_schema.
func (s *Session) sizes(ctx context.Context) (map[string]int64, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT TABLE_SCHEMA, COALESCE(SUM(DATA_LENGTH + INDEX_LENGTH), 0)
		FROM information_schema.TABLES GROUP BY TABLE_SCHEMA`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var db string
		var n float64 // a DECIMAL sum
		if err := rows.Scan(&db, &n); err != nil {
			return nil, err
		}
		out[strings.Clone(db)] = int64(n)
	}
	return out, rows.Err()
}
