package mysql

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/xvault/xvault/agentd/internal/connector"
	"github.com/xvault/xvault/agentd/internal/spool"
	"github.com/xvault/xvault/sdk/archive"
)

// Dump is one database's dump, spooled. The caller archives Spool (Size
// bytes) as Database.File and then discards it.
type Dump struct {
	Database archive.Database
	Spool    *spool.Spool
	Options  []string // the tool's content options (no connection settings, no secret)
	Warnings []string
}

// Dump dumps one database (only the listed tables when tables != nil) into
// a spool, and returns the Database record (tables with engines and row
// counts) and warnings. The dump holds no CREATE DATABASE or USE line: it
// restores into a database of any name. It fails, and discards what it
// spooled, when the tool exits non-zero or its output lacks the completion
// trailer.
func (s *Session) Dump(ctx context.Context, db string, tables []string) (*Dump, error) {
	if s.toolErr != nil {
		return nil, s.toolErr
	}
	if err := checkName("database", db); err != nil {
		return nil, err
	}
	for _, t := range tables {
		if err := checkName("table", t); err != nil {
			return nil, err
		}
	}
	meta, err := s.schema(ctx, db, tables)
	if err != nil {
		return nil, err
	}
	warnings := meta.warnings(db)
	warnings = append(warnings, s.privilegeWarnings(ctx, db)...)
	sp, sc, err := s.run(ctx, db, tables)
	if err != nil {
		return nil, err
	}
	for _, n := range sc.notes {
		warnings = append(warnings, fmt.Sprintf("database %s: %s: %s", db, s.tool.name, n))
	}
	d := &Dump{
		Database: archive.Database{Name: db, File: archive.DatabaseEntry(db, "sql"), Format: "sql", Tables: meta.records(sc)},
		Spool:    sp,
		Options:  s.tool.dumpFlags(),
		Warnings: warnings,
	}
	return d, nil
}

// checkName refuses names no server can hold; every other name is passed
// to the tool as one argv element after "--", never through a shell, so
// quotes, ";", "$(…)", backquotes and line breaks are harmless.
func checkName(kind, n string) error {
	if err := validName(kind, n); err != nil {
		return fmt.Errorf("%w: %w", err, connector.ErrPermanent)
	}
	return nil
}

func validName(kind, n string) error {
	switch {
	case n == "":
		return fmt.Errorf("%s name is empty", kind)
	case strings.IndexByte(n, 0) >= 0 || !utf8.ValidString(n):
		return fmt.Errorf("%s name %q holds a NUL byte or invalid UTF-8", kind, n)
	case utf8.RuneCountInString(n) > 64:
		return fmt.Errorf("%s name %q is longer than 64 characters", kind, n)
	case kind == "database" && isSystemSchema(n):
		return fmt.Errorf("%s is a system schema and is never dumped", n)
	}
	return nil
}

// run starts the tool and spools its output, counting rows on the way.
func (s *Session) run(ctx context.Context, db string, tables []string) (*spool.Spool, *scanner, error) {
	s.dumps++
	optFile := filepath.Join(s.dir, fmt.Sprintf("dump-%d.cnf", s.dumps))
	text, err := s.tool.optionFile(s.conn)
	if err != nil {
		return nil, nil, fmt.Errorf("option file: %w: %w", err, connector.ErrPermanent)
	}
	if err := os.WriteFile(optFile, []byte(text), 0o600); err != nil {
		return nil, nil, fmt.Errorf("write option file: %w", err)
	}
	defer os.Remove(optFile)
	// --defaults-file must be the first argument (see tool.optionFile).
	args := append([]string{"--defaults-file=" + optFile}, s.tool.dumpFlags()...)
	args = append(append(args, "--", db), tables...)

	since := s.lastThread(ctx)
	cmdCtx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	cmd := exec.CommandContext(cmdCtx, s.tool.path, args...)
	cmd.Env, cmd.Dir = childEnv(s.dir), s.dir
	cmd.SysProcAttr = sysProcAttr()
	cmd.WaitDelay = 10 * time.Second
	var stderr capped
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, nil, fmt.Errorf("dump %s: %w", db, err)
	}
	if err := cmd.Start(); err != nil {
		return nil, nil, fmt.Errorf("dump %s: start %s: %w", db, s.tool.name, err)
	}
	watched := make(chan struct{})
	go func() { defer close(watched); s.watchLocks(cmdCtx, db, since, stop) }()
	sp, sc := spool.New(s.dir), newScanner()
	_, cerr := io.Copy(io.MultiWriter(sp, sc), stdout)
	if cerr != nil {
		stop(fmt.Errorf("spool: %w", cerr))
	}
	werr := cmd.Wait()
	cause := context.Cause(cmdCtx) // before stop(nil) below ends the watcher
	stop(nil)
	<-watched
	if err := errors.Join(cerr, sp.Close()); err == nil && werr == nil && sc.completed() {
		return sp, sc, nil
	}
	sp.Discard()
	return nil, nil, s.dumpError(ctx, db, werr, cerr, cause, &stderr, sc)
}

// dumpError explains a failed dump.
func (s *Session) dumpError(ctx context.Context, db string, werr, cerr, cause error, stderr *capped, sc *scanner) error {
	what := fmt.Sprintf("dump of database %s with %s", db, s.tool.name)
	msg := s.redact(stderr.firstLines())
	var lw *lockWaitError
	switch {
	case errors.As(cause, &lw):
		return fmt.Errorf("%s: %w", what, lw)
	case ctx.Err() != nil:
		return fmt.Errorf("%s: %w", what, ctx.Err())
	case cerr != nil:
		return fmt.Errorf("%s: %w", what, cerr)
	case werr != nil:
		err := fmt.Errorf("%s failed (%w): %s", what, werr, cmp(msg, "nothing on stderr"))
		if s.tunErr != nil {
			if terr := s.tunErr(); terr != nil {
				err = fmt.Errorf("%w (%w)", err, terr)
			}
		}
		if strings.Contains(msg, "Access denied") || strings.Contains(msg, "command denied") || strings.Contains(msg, "insufficient privileges") {
			return fmt.Errorf("%w (hint: xv source test names the missing GRANT): %w", err, connector.ErrPermanent)
		}
		return err
	default:
		return fmt.Errorf("%s: the output (%d bytes) lacks the completion trailer %q, so it is incomplete; stderr: %s",
			what, sc.total, string(trailer), cmp(msg, "empty"))
	}
}

// redact removes the password from a tool's message, should one ever hold it.
func (s *Session) redact(msg string) string {
	if s.srv.Password == "" {
		return msg
	}
	return strings.ReplaceAll(msg, s.srv.Password, "[password]")
}

// lockWaitError is a dump that waited too long for a lock.
type lockWaitError struct {
	wait         time.Duration
	state, query string
}

func (e *lockWaitError) Error() string {
	return fmt.Sprintf("the dump waited more than %s for a lock on the server (%s, during %q) "+
		"(hint: another session holds it: a long ALTER TABLE, LOCK TABLES or FLUSH TABLES WITH READ LOCK; retry when it is done)",
		e.wait, e.state, e.query)
}

// lastThread is the highest thread id the account sees before the dump
// starts: the dump's own connection will have a higher one.
func (s *Session) lastThread(ctx context.Context) int64 {
	var id int64
	_ = s.db.QueryRowContext(ctx, "SELECT COALESCE(MAX(ID), 0) FROM information_schema.PROCESSLIST").Scan(&id)
	return id
}

// watchLocks bounds the dump's lock waits. Neither client can set the
// dump session's lock_wait_timeout (mariadb-dump has no --init-command, and
// the server default is a year on MySQL, a day on MariaDB), so the agent
// watches the processlist instead: a thread of this account opened after
// the dump started, on the dumped database, that has been "Waiting for …
// lock" longer than s.lockWait makes it stop the tool. Killing the tool (not
// a server thread) can only ever end this dump; the server drops the
// waiting statement when it notices the closed connection.
func (s *Session) watchLocks(ctx context.Context, db string, since int64, stop context.CancelCauseFunc) {
	tick := time.NewTicker(min(time.Second, s.lockWait/2))
	defer tick.Stop()
	limit := int64(s.lockWait / time.Second)
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		var state, info string
		err := s.db.QueryRowContext(ctx, `SELECT COALESCE(STATE, ''), COALESCE(INFO, '')
			FROM information_schema.PROCESSLIST
			WHERE ID > ? AND USER = ? AND DB = ? AND STATE LIKE 'Waiting for%lock%' AND TIME >= ?
			ORDER BY TIME DESC LIMIT 1`, since, s.srv.Username, db, max(limit, 1)).Scan(&state, &info)
		if err == nil {
			if len(info) > 200 {
				info = info[:200] + "…"
			}
			stop(&lockWaitError{wait: s.lockWait, state: state, query: info})
			return
		}
	}
}

// errNoDatabase is wrapped when the database to dump does not exist.
var errNoDatabase = errors.New("no such database")

// schemaInfo is what the server says about a database before its dump.
type schemaInfo struct {
	tables []tableInfo // base tables, sorted by name
}

type tableInfo struct{ name, engine string }

// schema checks that db exists (and the listed tables in it) and reads its
// base tables' engines.
func (s *Session) schema(ctx context.Context, db string, only []string) (*schemaInfo, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", db).Scan(&n); err != nil {
		return nil, fmt.Errorf("database %s: %w", db, err)
	}
	if n == 0 {
		return nil, fmt.Errorf("database %q does not exist on the server (or the account may not see it): %w: %w", db, errNoDatabase, connector.ErrPermanent)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT TABLE_NAME, COALESCE(ENGINE, '') FROM information_schema.TABLES
		WHERE TABLE_SCHEMA = ? AND TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED')`, db)
	if err != nil {
		return nil, fmt.Errorf("database %s: list tables: %w", db, err)
	}
	defer rows.Close()
	info := &schemaInfo{}
	for rows.Next() {
		var t tableInfo
		if err := rows.Scan(&t.name, &t.engine); err != nil {
			return nil, fmt.Errorf("database %s: list tables: %w", db, err)
		}
		if only == nil || slices.Contains(only, t.name) {
			info.tables = append(info.tables, t)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("database %s: list tables: %w", db, err)
	}
	slices.SortFunc(info.tables, func(a, b tableInfo) int { return strings.Compare(a.name, b.name) })
	for _, t := range only {
		if !slices.ContainsFunc(info.tables, func(ti tableInfo) bool { return ti.name == t }) {
			return nil, fmt.Errorf("table %q is not a base table of database %q: %w", t, db, connector.ErrPermanent)
		}
	}
	return info, nil
}

// transactional engines take part in the dump's consistent snapshot.
var transactional = []string{"innodb", "rocksdb", "tokudb", "ndbcluster"}

// warnings names the tables whose engine is not transactional: their rows
// are read at whatever moment the dump reaches them.
func (si *schemaInfo) warnings(db string) []string {
	var names []string
	for _, t := range si.tables {
		if t.engine != "" && !slices.Contains(transactional, strings.ToLower(t.engine)) {
			names = append(names, fmt.Sprintf("%s (%s)", t.name, t.engine))
		}
	}
	if len(names) == 0 {
		return nil
	}
	return []string{fmt.Sprintf("database %s: tables %s are not transactionally consistent: their engine has no transactions, "+
		"so the dump may hold rows written while it ran (hint: ALTER TABLE … ENGINE=InnoDB)", db, strings.Join(names, ", "))}
}

// records are the descriptor's tables: every base table with the rows the
// dump holds for it; a table the dump holds that was created after the
// listing is added at the end.
func (si *schemaInfo) records(sc *scanner) []archive.Table {
	out := make([]archive.Table, 0, len(si.tables))
	for _, t := range si.tables {
		out = append(out, archive.Table{Name: t.name, Rows: sc.rows[t.name], Engine: t.engine})
	}
	for _, n := range sc.order {
		if !slices.ContainsFunc(si.tables, func(t tableInfo) bool { return t.name == n }) {
			out = append(out, archive.Table{Name: n, Rows: sc.rows[n]})
		}
	}
	return out
}
