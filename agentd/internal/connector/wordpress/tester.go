package wordpress

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"strings"

	pkgsftp "github.com/pkg/sftp"

	"github.com/xvault/xvault/agentd/internal/connector/mysql"
	"github.com/xvault/xvault/sdk"
)

// testListLimit is how many entries of the site's directory a test lists.
const testListLimit = 10

// report collects a test's checks.
type report struct{ *sdk.TestReport }

func (r report) check(name string, err error, detail string) bool {
	c := sdk.TestCheck{Name: name, OK: err == nil, Detail: detail}
	if err != nil {
		c.Detail = err.Error()
		r.OK = false
	}
	r.Checks = append(r.Checks, c)
	return err == nil
}

// Test connects over SSH, finds and parses wp-config.php, reports the
// WordPress version, connects to the database through the SSH server,
// lists the tables a backup would dump with their sizes, checks that the
// dump client reaches the database the way a backup would, and lists the
// first entries of the site's directory. It changes nothing.
func (c *Connector) Test(ctx context.Context) (*sdk.TestReport, error) {
	r := report{&sdk.TestReport{OK: true, Checks: []sdk.TestCheck{}}}
	client, s, err := c.connect(ctx)
	if !r.check("connect and authenticate "+c.cfg.Host, err, "") {
		return r.TestReport, nil
	}
	defer client.Close()
	r.Server = s.sshServer
	sc, err := pkgsftp.NewClient(client)
	if !r.check("sftp subsystem", err, "") {
		return r.TestReport, nil
	}
	defer sc.Close()
	err = c.readSite(sc, s)
	if !r.check("read wp-config.php", err, s.configPath) {
		return r.TestReport, nil
	}
	r.check("database settings", nil, fmt.Sprintf("DB_NAME %q, DB_USER %q, table prefix %q, database host %s",
		s.db.name, s.db.user, s.db.prefix, describeHost(s.db.host)))
	if s.version != "" {
		r.check("WordPress version", nil, s.version)
	}
	err = c.chooseRoute(ctx, client, sc, s)
	if !r.check("connect to database "+s.db.name, err, fmt.Sprintf("%s through %s", s.dbServer, s.route)) {
		r.Warnings = s.warnings
		return r.TestReport, nil
	}
	r.Server += ", " + s.dbServer
	c.testTables(r, s)
	c.testDump(ctx, r, s)
	c.testFiles(r, sc)
	r.Warnings = s.warnings
	return r.TestReport, nil
}

func describeHost(h DBHost) string {
	switch {
	case h.Socket != "":
		return "socket " + h.Socket
	case h.Host == "":
		return "localhost"
	case h.Port != 0:
		return fmt.Sprintf("%s port %d", h.Host, h.Port)
	}
	return h.Host
}

// testTables reports the database and the tables a backup would dump.
func (c *Connector) testTables(r report, s *site) {
	var total int64
	for _, t := range s.tables {
		total += t.bytes
	}
	r.Items = append(r.Items, sdk.TestItem{Name: s.db.name, Kind: "database", SizeBytes: total})
	names := s.tableNames()
	detail := fmt.Sprintf("%d tables with the prefix %q, %d other tables not dumped", len(names), s.db.prefix, s.others)
	if len(names) > 0 {
		detail += ": " + strings.Join(names[:min(len(names), 12)], ", ")
		if len(names) > 12 {
			detail += ", …"
		}
	}
	multi := "single site"
	if s.multisite {
		multi = "multisite"
	}
	r.check("tables to dump", nil, detail+" ("+multi+")")
}

// testDump opens the dump's own route (a second SSH connection and tunnel)
// and checks the agent has a dump client.
func (c *Connector) testDump(ctx context.Context, r report, s *site) {
	sess, err := mysql.Open(ctx, c.mysqlServer(s), c.env)
	if !r.check("database tunnel for the dump", err, s.route.String()) {
		return
	}
	defer sess.Close()
	tool := sess.Tool()
	if tool.Name == "" {
		r.check("dump client", fmt.Errorf("neither mariadb-dump nor mysqldump was found on the agent (hint: apt-get install mariadb-client)"), "")
		return
	}
	r.Tools = append(r.Tools, tool.Name+" "+tool.Version)
	r.check("dump client", nil, tool.Name+" "+tool.Version)
}

// testFiles lists the first entries of the site's directory.
func (c *Connector) testFiles(r report, sc *pkgsftp.Client) {
	entries, err := sc.ReadDir(c.root)
	if !r.check("list "+c.root, err, fmt.Sprintf("%d entries", len(entries))) {
		return
	}
	for _, e := range entries[:min(len(entries), testListLimit)] {
		r.Items = append(r.Items, sdk.TestItem{Name: path.Join(c.root, e.Name()), Kind: kindOf(e.Mode()), SizeBytes: e.Size()})
	}
}

func kindOf(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "dir"
	case m&fs.ModeSymlink != 0:
		return "symlink"
	case m.IsRegular():
		return "file"
	}
	return "other"
}
