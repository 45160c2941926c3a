package mysql

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/xvault/xvault/agentd/internal/connector"
	"github.com/xvault/xvault/sdk/archive"
)

// CheckDump checks a dump without a server: it reads the whole stream
// through the transform (which refuses USE and CREATE/DROP DATABASE lines
// and overlong statement lines) and requires the dump client's completion
// trailer on its last line. A failed check wraps connector.ErrPermanent;
// an error of r is returned as it is.
func CheckDump(r io.Reader) error {
	return newTransform(nil).run(io.Discard, r)
}

// loadInto loads the dump into db, which exists; shown names it in errors.
// It then fixes what a WordPress prefix rename needs and counts the rows
// of every base table.
func (l *Loader) loadInto(ctx context.Context, db, shown string, opts connector.LoadOptions) (*connector.LoadResult, error) {
	tr, err := l.runClient(ctx, db, shown, opts)
	if err != nil {
		return nil, err
	}
	res := &connector.LoadResult{Warnings: tr.warnings()}
	if p := opts.TablePrefix; p != nil && p.From != p.To {
		w, err := l.renameWordPressKeys(ctx, db, p)
		if err != nil {
			return nil, fmt.Errorf("load into database %s: %w", shown, err)
		}
		res.Warnings = append(res.Warnings, w...)
	}
	if res.Tables, err = l.countRows(ctx, db); err != nil {
		return nil, fmt.Errorf("load into database %s: %w", shown, err)
	}
	return res, nil
}

// clientArgs are the client's arguments: --defaults-file first (see
// tool.optionFile), the target as --database=NAME.
func (l *Loader) clientArgs(optFile, db string) []string {
	args := []string{"--defaults-file=" + optFile, "--batch", "--local-infile=0",
		"--default-character-set=utf8mb4", "--max-allowed-packet=1G"}
	if l.client.binaryMode {
		args = append(args, "--binary-mode")
	}
	if l.client.sandbox {
		args = append(args, "--sandbox")
	}
	return append(args, "--database="+db)
}

// runClient runs the client with the transformed dump on its stdin.
func (l *Loader) runClient(ctx context.Context, db, shown string, opts connector.LoadOptions) (*transform, error) {
	r, err := opts.Open()
	if err != nil {
		return nil, fmt.Errorf("load into database %s: open the dump: %w", shown, err)
	}
	defer r.Close()
	l.loads++
	optFile := filepath.Join(l.s.dir, fmt.Sprintf("load-%d.cnf", l.loads))
	text, err := l.client.optionFile(l.s.conn)
	if err != nil {
		return nil, fmt.Errorf("option file: %w: %w", err, connector.ErrPermanent)
	}
	if err := os.WriteFile(optFile, []byte(text), 0o600); err != nil {
		return nil, fmt.Errorf("write option file: %w", err)
	}
	defer os.Remove(optFile)

	cmd := exec.CommandContext(ctx, l.client.path, l.clientArgs(optFile, db)...)
	cmd.Env, cmd.Dir = childEnv(l.s.dir), l.s.dir
	cmd.SysProcAttr = sysProcAttr()
	cmd.WaitDelay = 10 * time.Second
	var stdout capped
	var stderr clientStderr
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("load into database %s: %w", shown, err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("load into database %s: start %s: %w", shown, l.client.name, err)
	}
	tr := newTransform(opts.TablePrefix)
	sw := &stickyWriter{w: stdin}
	terr := tr.run(sw, r)
	if terr != nil && sw.err == nil {
		// The dump failed (refused, cut short, or unreadable): kill the
		// client before it sees the end of its input, so that no statement
		// cut short runs.
		_ = cmd.Process.Kill()
	}
	_ = stdin.Close()
	werr := cmd.Wait()
	return tr, l.clientError(ctx, shown, clientRun{werr: werr, terr: terr, pipeErr: sw.err, stderr: &stderr})
}

type clientRun struct {
	werr, terr, pipeErr error
	stderr              *clientStderr
}

// clientStderr keeps the start of the client's stderr and its first
// "ERROR …" lines: MariaDB's client echoes the failing statement (which may
// be long, and hold data) before its error line.
type clientStderr struct {
	head capped
	line []byte
	long bool // the current line is longer than kept
	errs []string
}

const maxErrLines, maxErrLine = 3, 512

func (c *clientStderr) Write(p []byte) (int, error) {
	_, _ = c.head.Write(p)
	for _, b := range p {
		switch {
		case b == '\n':
			if l := string(c.line); strings.HasPrefix(l, "ERROR ") && len(c.errs) < maxErrLines {
				c.errs = append(c.errs, strings.TrimSpace(l))
			}
			c.line, c.long = c.line[:0], false
		case len(c.line) < maxErrLine && !c.long:
			c.line = append(c.line, b)
		default:
			c.long = true
		}
	}
	return len(p), nil
}

// message is the client's error lines, else the start of its stderr.
func (c *clientStderr) message() string {
	if l := string(c.line); strings.HasPrefix(l, "ERROR ") && len(c.errs) < maxErrLines {
		c.errs = append(c.errs, strings.TrimSpace(l)) // no line break at the end
		c.line = c.line[:0]
	}
	if len(c.errs) > 0 {
		return strings.Join(c.errs, " | ")
	}
	return c.head.firstLines()
}

// clientError explains a failed client run (nil when it succeeded).
func (l *Loader) clientError(ctx context.Context, shown string, run clientRun) error {
	what := fmt.Sprintf("load into database %s with %s", shown, l.client.name)
	msg := l.s.redact(run.stderr.message())
	switch {
	case ctx.Err() != nil && (run.werr != nil || run.terr != nil):
		return fmt.Errorf("%s interrupted: %w", what, ctx.Err())
	case run.terr != nil && run.pipeErr == nil:
		return fmt.Errorf("%s: %w", what, run.terr)
	case run.werr != nil:
		err := fmt.Errorf("%s failed (%w): %s", what, run.werr, cmp(msg, "nothing on stderr"))
		if l.s.tunErr != nil {
			if terr := l.s.tunErr(); terr != nil {
				err = fmt.Errorf("%w (%w)", err, terr)
			}
		}
		if strings.Contains(msg, "Access denied") || strings.Contains(msg, "command denied") {
			return fmt.Errorf("%w (hint: the account %q needs ALL PRIVILEGES on the database it loads into): %w",
				err, l.s.srv.Username, connector.ErrPermanent)
		}
		return err
	case run.pipeErr != nil:
		return fmt.Errorf("%s: writing the dump to the client: %w", what, run.pipeErr)
	}
	return nil
}

// renameWordPressKeys renames the rows WordPress keys by its table prefix:
// the <prefix>user_roles option and the <prefix>… usermeta keys
// (capabilities, user_level, settings).
func (l *Loader) renameWordPressKeys(ctx context.Context, db string, p *connector.PrefixRename) ([]string, error) {
	tables, err := l.baseTables(ctx, db)
	if err != nil {
		return nil, err
	}
	has := func(n string) bool {
		return slices.ContainsFunc(tables, func(t archive.Table) bool { return t.Name == n })
	}
	var warnings []string
	options, usermeta := p.To+"options", p.To+"usermeta"
	if !has(options) || !has(usermeta) {
		return []string{fmt.Sprintf("table prefix: no %s and %s tables, so no WordPress option or usermeta keys were renamed", options, usermeta)}, nil
	}
	r, err := l.s.db.ExecContext(ctx, "UPDATE "+quoteIdent(db)+"."+quoteIdent(options)+
		" SET option_name = ? WHERE option_name = ?", p.To+"user_roles", p.From+"user_roles")
	if err != nil {
		return nil, fmt.Errorf("rename the %suser_roles option: %w", p.From, err)
	}
	if n, _ := r.RowsAffected(); n == 0 {
		warnings = append(warnings, fmt.Sprintf("table prefix: %s has no %suser_roles option", options, p.From))
	}
	r, err = l.s.db.ExecContext(ctx, "UPDATE "+quoteIdent(db)+"."+quoteIdent(usermeta)+
		" SET meta_key = CONCAT(?, SUBSTRING(meta_key, ?)) WHERE CAST(LEFT(meta_key, ?) AS BINARY) = CAST(? AS BINARY)",
		p.To, len(p.From)+1, len(p.From), p.From)
	if err != nil {
		return nil, fmt.Errorf("rename the %s… usermeta keys: %w", p.From, err)
	}
	n, _ := r.RowsAffected()
	warnings = append(warnings, fmt.Sprintf("table prefix: %d %s keys renamed from %s… to %s…", n, usermeta, p.From, p.To))
	return warnings, nil
}

// baseTables lists db's base tables with their engines, sorted by name.
func (l *Loader) baseTables(ctx context.Context, db string) ([]archive.Table, error) {
	rows, err := l.s.db.QueryContext(ctx, `SELECT TABLE_NAME, COALESCE(ENGINE, '') FROM information_schema.TABLES
		WHERE TABLE_SCHEMA = ? AND TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED')`, db)
	if err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	defer rows.Close()
	var out []archive.Table
	for rows.Next() {
		var t archive.Table
		if err := rows.Scan(&t.Name, &t.Engine); err != nil {
			return nil, fmt.Errorf("list tables: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	slices.SortFunc(out, func(a, b archive.Table) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// countRows is every base table of db with SELECT COUNT(*).
func (l *Loader) countRows(ctx context.Context, db string) ([]archive.Table, error) {
	tables, err := l.baseTables(ctx, db)
	if err != nil {
		return nil, err
	}
	for i := range tables {
		q := "SELECT COUNT(*) FROM " + quoteIdent(db) + "." + quoteIdent(tables[i].Name)
		if err := l.s.db.QueryRowContext(ctx, q).Scan(&tables[i].Rows); err != nil {
			return nil, fmt.Errorf("count rows of %s: %w", tables[i].Name, err)
		}
	}
	if tables == nil {
		tables = []archive.Table{}
	}
	return tables, nil
}
