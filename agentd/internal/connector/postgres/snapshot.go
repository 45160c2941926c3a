package postgres

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"regexp"
	"slices"
	"strings"

	"github.com/xvault/xvault/sdk/archive"
)

// beginSQL opens the transaction whose snapshot pg_dump imports. The
// session stays idle in it while pg_dump runs, so no server-side timeout
// may end it; row_security off makes a table whose rows the account cannot
// all see fail here, as it fails pg_dump, instead of counting fewer rows.
const beginSQL = `SET statement_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET lock_timeout = ` + lockWaitTimeout + `;
SET row_security = off;
SET search_path = pg_catalog;
BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;
SELECT pg_catalog.pg_export_snapshot();
`

// endMarker ends the output of countSQL (a JSON line never looks like it).
const endMarker = "xvault:counts-done"

// countSQL makes the server generate one count per table (names quoted by
// format %I, never by us) and psql's \gexec run each: one JSON line
// ["schema.table", rows] per table, then the marker.
const countSQL = `SELECT pg_catalog.format('SELECT pg_catalog.jsonb_build_array(%L::text, count(*))::text FROM %I.%I',
  pg_catalog.format('%I.%I', n.nspname, c.relname), n.nspname, c.relname)
` + userRelations + ` AND c.relkind IN ('r', 'p') \gexec
\echo ` + endMarker + "\n"

// snapshotID matches what pg_export_snapshot returns ("00000003-0000001B-1").
var snapshotID = regexp.MustCompile(`^[0-9A-Fa-f]{1,16}(-[0-9A-Fa-f]{1,16}){1,2}$`)

// maxLine bounds one line of the session's output.
const maxLine = 1 << 20

// txSession is a psql process holding the snapshot transaction, driven
// through its stdin.
type txSession struct {
	s      *session
	ctx    context.Context
	db     string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  *bufio.Scanner
	stderr *headBuffer
	done   bool
}

// beginSnapshot starts the session in database db and returns the exported snapshot id.
func (s *session) beginSnapshot(ctx context.Context, db string) (*txSession, string, error) {
	cmd := s.command(ctx, "psql", s.psqlArgs(db)...)
	t := &txSession{s: s, ctx: ctx, db: db, cmd: cmd, stderr: &headBuffer{}}
	cmd.Stderr = t.stderr
	var err error
	if t.stdin, err = cmd.StdinPipe(); err != nil {
		return nil, "", fmt.Errorf("psql on database %q: %w", db, err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, "", fmt.Errorf("psql on database %q: %w", db, err)
	}
	if err := cmd.Start(); err != nil {
		return nil, "", fmt.Errorf("start psql: %w", err)
	}
	t.lines = bufio.NewScanner(out)
	t.lines.Buffer(make([]byte, 0, 64<<10), maxLine)
	if err := t.send(beginSQL); err != nil {
		return nil, "", err
	}
	id, err := t.line()
	if err != nil {
		return nil, "", err
	}
	if !snapshotID.MatchString(id) {
		t.abort()
		return nil, "", fmt.Errorf("database %q: the server exported a snapshot id %q that does not look like one", db, id)
	}
	return t, id, nil
}

func (t *txSession) send(sql string) error {
	if _, err := io.WriteString(t.stdin, sql); err != nil {
		return t.fail(err)
	}
	return nil
}

// line reads the next line of output; at the end of output psql has
// stopped (an error, with ON_ERROR_STOP), and its stderr says why.
func (t *txSession) line() (string, error) {
	if t.lines.Scan() {
		return t.lines.Text(), nil
	}
	err := t.lines.Err()
	if err != nil { // a line too long: psql still has output for us
		t.abort()
	} else {
		err = io.ErrUnexpectedEOF
	}
	return "", t.fail(err)
}

// fail ends the session after err and describes why it ended.
func (t *txSession) fail(err error) error {
	t.close()
	if werr := t.cmd.ProcessState; werr != nil && !werr.Success() {
		err = errors.New(werr.String())
	}
	return t.s.toolError(t.ctx, fmt.Sprintf("row counts of database %q", t.db), err, t.stderr.String())
}

// countRows counts every table's rows in the snapshot, sorted by name.
func (t *txSession) countRows() ([]archive.Table, error) {
	if err := t.send(countSQL); err != nil {
		return nil, err
	}
	tables := []archive.Table{}
	for {
		line, err := t.line()
		if err != nil {
			return nil, err
		}
		if line == endMarker {
			break
		}
		var row []json.RawMessage
		var tb archive.Table
		if json.Unmarshal([]byte(line), &row) != nil || len(row) != 2 ||
			json.Unmarshal(row[0], &tb.Name) != nil || json.Unmarshal(row[1], &tb.Rows) != nil || tb.Name == "" || tb.Rows < 0 {
			t.abort()
			return nil, fmt.Errorf("row counts of database %q: unexpected line %q", t.db, firstLines(line, 1))
		}
		tables = append(tables, tb)
	}
	slices.SortFunc(tables, func(a, b archive.Table) int { return strings.Compare(a.Name, b.Name) })
	return tables, nil
}

// commit ends the transaction (it only read) and waits for psql. pg_dump
// imported the snapshot long before, so a failure here changes nothing
// about the dump: it is logged.
func (t *txSession) commit() {
	if t.done {
		return
	}
	_, _ = io.WriteString(t.stdin, "COMMIT;\n")
	t.close()
	if ps := t.cmd.ProcessState; ps != nil && !ps.Success() {
		t.s.c.log.Warn("postgres: snapshot session ended badly", "db", t.db, "state", ps.String(),
			"stderr", firstLines(redact(t.stderr.String(), t.s.c.password), stderrLines))
	}
}

// close ends psql gracefully: at the end of its input it leaves.
func (t *txSession) close() {
	if t.done {
		return
	}
	t.done = true
	_ = t.stdin.Close()
	_ = t.cmd.Wait()
}

// abort kills psql (output may be pending that nobody will read).
func (t *txSession) abort() {
	if t.done {
		return
	}
	_ = t.cmd.Process.Kill()
	t.close()
}
