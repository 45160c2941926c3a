package postgres

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/xvault/xvault/agentd/internal/connector"
	"github.com/xvault/xvault/sdk/archive"
)

// Pull dumps the server's globals and every selected database into
// spools, then describes the snapshot and archives them: globals first (a
// restore creates the roles before the objects they own), then the
// databases (in the configured order; with all_databases, by name). Any failure fails the pull before the first
// object is archived; the spools are discarded.
func (c *Connector) Pull(ctx context.Context, sink connector.Sink) error {
	s, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer s.close()
	metaDB, info, err := s.connect(ctx)
	if err != nil {
		return err
	}
	all, err := s.listDatabases(ctx, metaDB)
	if err != nil {
		return err
	}
	dbs, warnings, err := c.selectDatabases(all)
	if err != nil {
		return err
	}
	var out []*spooled
	defer func() {
		for _, sp := range out {
			sp.spool.Discard()
		}
	}()
	globals, warns, err := s.dumpGlobals(ctx, metaDB, info)
	if err != nil {
		return err
	}
	warnings = append(warnings, warns...)
	desc := c.descriptor(s, info)
	if globals != nil {
		out = append(out, globals)
		desc.Globals = []string{globals.name}
	}
	for _, db := range dbs {
		ext, _ := c.fileFormat()
		sink.Progress(archive.DatabaseEntry(db, ext))
		sp, meta, err := s.dumpDatabase(ctx, db)
		if err != nil && s.dropped(ctx, metaDB, db) {
			warnings = append(warnings, fmt.Sprintf("database %q was dropped while the backup ran: not backed up", db))
			continue
		}
		if err != nil {
			return err
		}
		out = append(out, sp)
		desc.Databases = append(desc.Databases, meta)
	}
	desc.Warnings = warnings
	return c.archive(sink, desc, out)
}

// dropped reports whether db, found by all_databases, no longer exists
// (after its dump failed): a database dropped during the backup is not an
// error of the backup.
func (s *session) dropped(ctx context.Context, metaDB, db string) bool {
	if !s.c.cfg.AllDatabases || ctx.Err() != nil {
		return false
	}
	all, err := s.listDatabases(ctx, metaDB)
	return err == nil && !slices.ContainsFunc(all, func(d databaseInfo) bool { return d.Name == db })
}

// archive writes the descriptor, then every spooled dump.
func (c *Connector) archive(sink connector.Sink, desc archive.Descriptor, out []*spooled) error {
	if r, ok := sink.(connector.TransferReporter); ok {
		r.TransferMode(desc.TransferMode)
	}
	if err := sink.Describe(desc); err != nil {
		return err
	}
	for _, sp := range out {
		body, err := sp.spool.Reader()
		if err != nil {
			return err
		}
		sink.Progress(sp.name)
		if err := sink.PutObject(sp.name, sp.spool.Size(), sp.mtime, body); err != nil {
			return err
		}
		sp.spool.Discard()
	}
	return nil
}

func (c *Connector) descriptor(s *session, info serverInfo) archive.Descriptor {
	var tools []archive.Software
	for _, name := range toolNames {
		tools = append(tools, archive.Software{Name: name, Version: s.tools.version})
	}
	return archive.Descriptor{
		Connector:    "postgres",
		TransferMode: s.mode,
		Server:       &archive.Software{Name: "PostgreSQL", Version: info.shortVersion()},
		Tools:        tools,
		Options:      append(c.dumpFlags(), "--snapshot=<exported by the row-count transaction>"),
		Databases:    []archive.Database{},
	}
}

// selectDatabases picks the databases to dump from the server's list, and
// says why others were left out.
func (c *Connector) selectDatabases(all []databaseInfo) ([]string, []string, error) {
	byName := map[string]databaseInfo{}
	for _, d := range all {
		byName[d.Name] = d
	}
	if !c.cfg.AllDatabases {
		var missing []string
		for _, db := range c.cfg.Databases {
			if _, ok := byName[db]; !ok {
				missing = append(missing, fmt.Sprintf("%q", db))
			}
		}
		if len(missing) > 0 {
			return nil, nil, fmt.Errorf("database %s does not exist on the server (hint: xv source test lists the databases): %w",
				strings.Join(missing, ", "), connector.ErrPermanent)
		}
		return slices.Clone(c.cfg.Databases), nil, nil
	}
	var dbs, warnings []string
	for _, d := range all {
		switch {
		case d.Template || isTemplate(d.Name) || slices.Contains(c.cfg.ExcludeDatabases, d.Name):
		case !d.AllowConn:
			warnings = append(warnings, fmt.Sprintf("database %q does not allow connections: not backed up", d.Name))
		case !d.Connect:
			warnings = append(warnings, fmt.Sprintf("user %q has no CONNECT privilege on database %q: not backed up", c.cfg.Username, d.Name))
		default:
			dbs = append(dbs, d.Name)
		}
	}
	if len(dbs) == 0 {
		return nil, nil, fmt.Errorf("no database left to back up after the exclusions: %w", connector.ErrPermanent)
	}
	return dbs, warnings, nil
}
