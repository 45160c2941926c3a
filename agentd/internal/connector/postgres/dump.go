package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/xvault/xvault/agentd/internal/spool"
	"github.com/xvault/xvault/sdk"
	"github.com/xvault/xvault/sdk/archive"
)

// Completion marks: a tool that exits 0 without them did not finish.
const (
	plainTrailer   = "\n-- PostgreSQL database dump complete\n"
	globalsTrailer = "\n-- PostgreSQL database cluster dump complete\n"
	customMagic    = "PGDMP"
	// tailSize is how much of the end of a dump is searched for the trailer
	// (recent versions follow it with a \unrestrict line).
	tailSize = 1 << 10
)

// spooled is one finished dump, waiting in its spool for the descriptor to
// be written.
type spooled struct {
	name  string // entry name
	spool *spool.Spool
	mtime time.Time
}

// dumpFlags are the pg_dump options of this source (recorded in the descriptor).
func (c *Connector) dumpFlags() []string {
	if c.cfg.Format == sdk.PostgresFormatCustom {
		// Uncompressed: the artifact's zstd compresses better and faster.
		return []string{"--format=custom", "--compress=0", "--lock-wait-timeout=" + lockWaitTimeout}
	}
	return []string{"--format=plain", "--lock-wait-timeout=" + lockWaitTimeout}
}

// fileFormat is the extension of the dump entries and their descriptor format.
func (c *Connector) fileFormat() (ext, format string) {
	if c.cfg.Format == sdk.PostgresFormatCustom {
		return "dump", "custom"
	}
	return "sql", "sql"
}

// dumpDatabase counts the rows of db's tables and dumps it, both in one snapshot.
func (s *session) dumpDatabase(ctx context.Context, db string) (*spooled, archive.Database, error) {
	ext, format := s.c.fileFormat()
	meta := archive.Database{Name: db, File: archive.DatabaseEntry(db, ext), Format: format}
	tx, snap, err := s.beginSnapshot(ctx, db)
	if err != nil {
		return nil, meta, err
	}
	defer tx.abort()
	if meta.Tables, err = tx.countRows(); err != nil {
		return nil, meta, err
	}
	args := append([]string{"--no-password"}, s.c.dumpFlags()...)
	args = append(args, "--snapshot="+snap, "--dbname="+s.conninfo(db, false))
	sp := spool.New(s.dir)
	check := &outputCheck{}
	if err := s.runTool(ctx, "pg_dump", args, io.MultiWriter(sp, check), fmt.Sprintf("pg_dump of database %q", db)); err != nil {
		sp.Discard()
		return nil, meta, err
	}
	tx.commit()
	if err := check.verify(format); err != nil {
		sp.Discard()
		return nil, meta, fmt.Errorf("pg_dump of database %q exited 0, but %w", db, err)
	}
	if err := sp.Close(); err != nil {
		sp.Discard()
		return nil, meta, err
	}
	return &spooled{name: meta.File, spool: sp, mtime: time.Now()}, meta, nil
}

// runTool runs a dump tool with its output going to out and waits for it;
// an output error kills it.
func (s *session) runTool(ctx context.Context, tool string, args []string, out io.Writer, what string) error {
	cmd := s.command(ctx, tool, args...)
	stderr := &headBuffer{}
	cmd.Stderr = stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", tool, err)
	}
	if s.c.onTool != nil {
		out = s.c.onTool(tool, cmd.Process, out)
	}
	_, copyErr := io.Copy(out, stdout)
	if copyErr != nil {
		_ = cmd.Process.Kill()
	}
	waitErr := cmd.Wait()
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("%s: %w", what, context.Cause(ctx))
	case waitErr != nil:
		return s.toolError(ctx, what, waitErr, stderr.String())
	case copyErr != nil:
		return fmt.Errorf("%s: keep output: %w", what, copyErr)
	}
	return nil
}

// outputCheck keeps the first and last bytes of a dump to check its
// completion marks.
type outputCheck struct {
	head []byte
	tail []byte
}

func (o *outputCheck) Write(p []byte) (int, error) {
	if room := len(customMagic) - len(o.head); room > 0 {
		o.head = append(o.head, p[:min(room, len(p))]...)
	}
	if len(p) >= tailSize {
		o.tail = append(o.tail[:0], p[len(p)-tailSize:]...)
	} else {
		o.tail = append(o.tail, p...)
		if over := len(o.tail) - tailSize; over > 0 {
			o.tail = append(o.tail[:0], o.tail[over:]...)
		}
	}
	return len(p), nil
}

// verify checks the completion mark of a dump in format ("sql", "custom", "globals").
func (o *outputCheck) verify(format string) error {
	switch format {
	case "custom":
		if !bytes.Equal(o.head, []byte(customMagic)) {
			return errors.New("its output is not a pg_dump custom archive (no PGDMP header)")
		}
	case "globals":
		if !bytes.Contains(o.tail, []byte(globalsTrailer)) {
			return errors.New("its output lacks the completion trailer (-- PostgreSQL database cluster dump complete)")
		}
	default:
		if !bytes.Contains(o.tail, []byte(plainTrailer)) {
			return errors.New("its output lacks the completion trailer (-- PostgreSQL database dump complete)")
		}
	}
	return nil
}

// globalsName is the entry of the server-wide objects.
const globalsName = archive.ServerPrefix + "globals.sql"

// dumpGlobals dumps roles and tablespaces with pg_dumpall --globals-only,
// connecting to database db. An account that may not read pg_authid gets
// its roles without passwords; one that may not read the roles at all gets
// a warning instead of the file. Other failures fail the backup.
func (s *session) dumpGlobals(ctx context.Context, db string, info serverInfo) (*spooled, []string, error) {
	noPasswords := !info.ReadAuthid
	for {
		sp, err := s.runGlobals(ctx, db, noPasswords)
		switch {
		case err == nil && noPasswords:
			return sp, []string{fmt.Sprintf("%s holds the roles without their passwords: user %q may not read pg_authid "+
				"(a superuser may); restored roles need new passwords", globalsName, info.User)}, nil
		case err == nil:
			return sp, nil, nil
		case !permissionDenied(err):
			return nil, nil, err
		case !noPasswords:
			noPasswords = true
			continue
		}
		return nil, []string{fmt.Sprintf("%s not written: user %q may not read the server's roles: %v", globalsName, info.User, err)}, nil
	}
}

func (s *session) runGlobals(ctx context.Context, db string, noPasswords bool) (*spooled, error) {
	args := []string{"--globals-only", "--no-password"}
	if noPasswords {
		args = append(args, "--no-role-passwords")
	}
	// pg_dumpall expands a --database value holding "=" as a connection
	// string: give it one, so any database name stays a name.
	args = append(args, "--database="+connString("dbname", db), "--dbname="+connString(s.base...))
	sp := spool.New(s.dir)
	check := &outputCheck{}
	if err := s.runTool(ctx, "pg_dumpall", args, io.MultiWriter(sp, check), "pg_dumpall --globals-only"); err != nil {
		sp.Discard()
		return nil, err
	}
	if err := check.verify("globals"); err != nil {
		sp.Discard()
		return nil, fmt.Errorf("pg_dumpall --globals-only exited 0, but %w", err)
	}
	if err := sp.Close(); err != nil {
		sp.Discard()
		return nil, err
	}
	return &spooled{name: globalsName, spool: sp, mtime: time.Now()}, nil
}

func permissionDenied(err error) bool {
	return strings.Contains(err.Error(), "permission denied")
}
