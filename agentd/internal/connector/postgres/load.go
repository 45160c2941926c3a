package postgres

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/xvault/xvault/agentd/internal/connector"
	"github.com/xvault/xvault/sdk"
)

// Loader loads dumps of postgres snapshots into one server (a restore
// into a database, a verify job's scratch server). It implements
// connector.Loader.
//
// It reaches the server exactly as the connector does (egress-checked
// address, or the SSH tunnel) and keeps that way open until Close. The
// maintenance connection (listing, CREATE, DROP, RENAME) goes to the
// source's first database, else postgres, else template1, and never to
// the database being dropped or renamed.
//
// Every load goes into a database the loader creates, from template0 (a
// dump holds the whole content of its database: objects someone added to
// template1 would collide with it; created with the server's default
// encoding and locale, which a dump made without --create does not
// carry): the target itself with Create, or with Replace a temporary
// <target>__xv<random> that replaces the target only once the load and the
// row counts succeeded. A failed load drops the database it loaded into.
type Loader struct {
	c      *Connector
	s      *session
	sets   []loadSet
	psql   loadSet
	metaDB string
	info   serverInfo
}

var _ connector.Loader = (*Loader)(nil)

// NewLoader validates cfg (as New does; a config naming no database
// connects to postgres, else template1), reaches the server, reads its
// version and picks the psql for it. hostKey is the pinned SSH host key.
func NewLoader(ctx context.Context, cfg sdk.PostgresConfig, hostKey string, secret *sdk.SecretPayload, env connector.Env) (*Loader, error) {
	if len(cfg.Databases) == 0 && !cfg.AllDatabases {
		cfg.AllDatabases = true
	}
	c, err := New(cfg, hostKey, secret, env)
	if err != nil {
		return nil, err
	}
	return c.loader(ctx)
}

func (c *Connector) loader(ctx context.Context) (*Loader, error) {
	s, err := c.open(ctx)
	if err != nil {
		return nil, err
	}
	l := &Loader{c: c, s: s}
	if l.sets, err = s.findLoadSets(ctx); err != nil {
		s.close()
		return nil, err
	}
	s.tools = l.sets[0].toolset
	if err := l.maintenance(ctx); err != nil {
		s.close()
		return nil, err
	}
	l.psql = pickFor(l.sets, serverMajor(l.info.Num))
	s.tools = l.psql.toolset
	return l, nil
}

// maintenance finds the maintenance database and reads the server's version.
func (l *Loader) maintenance(ctx context.Context) error {
	var candidates []string
	if !l.c.cfg.AllDatabases {
		candidates = append(candidates, l.c.cfg.Databases[0])
	}
	var errs []error
	for _, db := range append(candidates, "postgres", "template1") {
		err := l.s.query(ctx, db, serverSQL, &l.info)
		if err == nil {
			l.metaDB = db
			return nil
		}
		if !databaseMissing(err.Error()) && !strings.Contains(err.Error(), "permission denied for database") {
			return err
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// maintFor is the maintenance database for an operation on the databases
// dbs (one cannot drop or rename a database one is connected to).
func (l *Loader) maintFor(dbs ...string) string {
	for _, m := range []string{l.metaDB, "postgres", "template1"} {
		if !slices.Contains(dbs, m) {
			return m
		}
	}
	return "template1"
}

// Close ends the way to the server and removes the private directory.
func (l *Loader) Close() error {
	l.s.close()
	return nil
}

// Databases lists the server's databases, templates excluded, by name.
func (l *Loader) Databases(ctx context.Context) ([]string, error) {
	all, err := l.s.listDatabases(ctx, l.metaDB)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, d := range all {
		if !d.Template && !isTemplate(d.Name) {
			names = append(names, d.Name)
		}
	}
	return names, nil
}

// Drop drops database db if it exists, ending its sessions.
func (l *Loader) Drop(ctx context.Context, db string) error {
	if err := checkTarget(db); err != nil {
		return err
	}
	return l.exec(ctx, l.maintFor(db), fmt.Sprintf("drop database %q", db), l.dropSQL(db)...)
}

// dropSQL drops db: WITH (FORCE) from PostgreSQL 13; before, the other
// sessions are ended first.
func (l *Loader) dropSQL(db string) []string {
	if l.info.Num >= 130000 {
		return []string{"DROP DATABASE IF EXISTS " + quoteIdent(db) + " WITH (FORCE)"}
	}
	return []string{
		"SELECT pg_catalog.count(pg_catalog.pg_terminate_backend(pid)) FROM pg_catalog.pg_stat_activity " +
			"WHERE datname = " + escapeLiteral(db) + " AND pid <> pg_catalog.pg_backend_pid()",
		"DROP DATABASE IF EXISTS " + quoteIdent(db),
	}
}

// Load loads one dump (see Loader for where to).
func (l *Loader) Load(ctx context.Context, opts connector.LoadOptions) (*connector.LoadResult, error) {
	target := opts.Database
	if err := checkTarget(target); err != nil {
		return nil, err
	}
	if opts.Format != "sql" && opts.Format != "custom" {
		return nil, fmt.Errorf("database %q: dump format %q: not one of sql, custom: %w", target, opts.Format, connector.ErrPermanent)
	}
	if opts.Open == nil {
		return nil, fmt.Errorf("database %q: no dump to load: %w", target, connector.ErrPermanent)
	}
	dbs, err := l.Databases(ctx)
	if err != nil {
		return nil, err
	}
	exists := slices.Contains(dbs, target)
	switch {
	case exists && !opts.Replace:
		return nil, fmt.Errorf("database %q already exists on the server; pass --replace to replace it: %w", target, connector.ErrPermanent)
	case !exists && !opts.Create && !opts.Replace:
		return nil, fmt.Errorf("database %q does not exist; pass --create-database: %w", target, connector.ErrPermanent)
	}
	work := target
	if opts.Replace {
		work = tempName(target)
	}
	if err := l.exec(ctx, l.maintFor(work), fmt.Sprintf("create database %q", work),
		"CREATE DATABASE "+quoteIdent(work)+" TEMPLATE template0"); err != nil {
		return nil, err
	}
	res, err := l.fill(ctx, work, opts)
	if err == nil && opts.Replace {
		err = l.swap(ctx, work, target)
		if errors.Is(err, errSwapHalfDone) {
			return nil, err
		}
	}
	if err != nil {
		l.cleanup(ctx, work)
		if work != target {
			err = fmt.Errorf("%w (database %q is untouched)", err, target)
		}
		return nil, err
	}
	return res, nil
}

// fill loads the dump into db and counts its tables.
func (l *Loader) fill(ctx context.Context, db string, opts connector.LoadOptions) (*connector.LoadResult, error) {
	rc, err := opts.Open()
	if err != nil {
		return nil, fmt.Errorf("database %q: open the dump: %w", opts.Database, err)
	}
	defer rc.Close()
	res := &connector.LoadResult{}
	if opts.Format == "custom" {
		err = l.loadCustom(ctx, db, rc, opts, res)
	} else {
		err = l.loadPlain(ctx, db, rc, opts, res)
	}
	if err != nil {
		return nil, err
	}
	tx, _, err := l.s.beginSnapshot(ctx, db)
	if err != nil {
		return nil, err
	}
	defer tx.abort()
	if res.Tables, err = tx.countRows(); err != nil {
		return nil, err
	}
	tx.commit()
	return res, nil
}

func (l *Loader) loadPlain(ctx context.Context, db string, r io.Reader, opts connector.LoadOptions, res *connector.LoadResult) error {
	popts := plainOptions{keepOwners: opts.KeepOwners, restrict: knowsRestrict(l.psql.version)}
	args := []string{"-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction", "--no-password", "-f", "-",
		"--dbname=" + l.s.conninfo(db, false)}
	var out plainResult
	err := l.run(ctx, l.psql.toolset, "psql", args, fmt.Sprintf("psql %s loading database %q", l.psql.version, db), false,
		func(w io.Writer) error {
			var err error
			out, err = transformPlain(w, r, popts)
			return err
		})
	if err != nil {
		return err
	}
	if l.psql.major < serverMajor(l.info.Num) {
		res.Warnings = append(res.Warnings, fmt.Sprintf("psql %s is older than the server (PostgreSQL %s)", l.psql.version, l.info.shortVersion()))
	}
	if out.droppedRestrict {
		res.Warnings = append(res.Warnings, fmt.Sprintf("the dump's \\restrict lines were dropped: psql %s (%s) does not know them "+
			"(17.6, 16.10, 15.14, 14.19, 13.22 and later do); xVault's own check found no other psql meta-command in the dump",
			l.psql.version, l.psql.dir))
	}
	return nil
}

func (l *Loader) loadCustom(ctx context.Context, db string, r io.Reader, opts connector.LoadOptions, res *connector.LoadResult) error {
	br := bufio.NewReaderSize(r, 64<<10)
	head, err := br.Peek(headerPeek)
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("database %q: read the dump: %w", opts.Database, err)
	}
	h, err := parseCustomHeader(head)
	if err != nil {
		return fmt.Errorf("database %q: custom dump: %w: %w", opts.Database, err, connector.ErrPermanent)
	}
	t, err := chooseRestore(l.sets, h, serverMajor(l.info.Num))
	if err != nil {
		return fmt.Errorf("database %q: %w", opts.Database, err)
	}
	args := []string{"--exit-on-error", "--single-transaction", "--no-password"}
	if !opts.KeepOwners {
		args = append(args, "--no-owner", "--no-acl")
	}
	args = append(args, "--dbname="+l.s.conninfo(db, false))
	err = l.run(ctx, t.toolset, "pg_restore", args, fmt.Sprintf("pg_restore %s loading database %q", t.version, db), true,
		func(w io.Writer) error {
			_, err := io.Copy(w, br)
			return err
		})
	if err != nil {
		return err
	}
	// pg_restore may stop before the end of the archive: read the rest,
	// so that a checking reader below sees every byte.
	if _, err := io.Copy(io.Discard, br); err != nil {
		return fmt.Errorf("database %q: read the dump: %w", opts.Database, err)
	}
	if t.major < serverMajor(l.info.Num) {
		res.Warnings = append(res.Warnings, fmt.Sprintf("pg_restore %s is older than the server (PostgreSQL %s)", t.version, l.info.shortVersion()))
	}
	return nil
}

// run runs a loading tool with feed writing its input. The tool sees the
// end of its input (and, with --single-transaction, commits) only when
// feed succeeded; otherwise it is killed first. earlyExit accepts a tool
// that succeeded without reading all its input (pg_restore).
func (l *Loader) run(ctx context.Context, t toolset, tool string, args []string, what string, earlyExit bool, feed func(io.Writer) error) error {
	cmd := l.s.loadCommand(ctx, t, tool, args...)
	stderr := &stderrCapture{}
	cmd.Stderr = stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", tool, err)
	}
	var w io.Writer = &toolInput{w: stdin}
	if l.c.onTool != nil {
		w = l.c.onTool(tool, cmd.Process, w)
	}
	fed := make(chan error, 1)
	go func() {
		err := feed(w)
		if err != nil {
			_ = cmd.Process.Kill()
		} else if cerr := stdin.Close(); cerr != nil {
			err = &toolInputError{cerr}
		}
		fed <- err
	}()
	waitErr := cmd.Wait()
	var feedErr error
	select {
	case feedErr = <-fed:
	case <-ctx.Done():
	}
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("%s: %w", what, context.Cause(ctx))
	case feedErr != nil && !isToolInput(feedErr):
		return fmt.Errorf("%s: %w", what, feedErr)
	case waitErr != nil:
		return l.loadError(ctx, what, waitErr, stderr.message())
	case feedErr != nil && !earlyExit:
		return fmt.Errorf("%s: it exited before reading all the dump: %w", what, feedErr)
	}
	return nil
}

// errSwapHalfDone marks a replace that dropped the target but could not
// rename the loaded database to its name.
var errSwapHalfDone = errors.New("the replaced database was dropped, but the new one could not be renamed")

// swap replaces target by the loaded database work.
func (l *Loader) swap(ctx context.Context, work, target string) error {
	maint := l.maintFor(work, target)
	if err := l.exec(ctx, maint, fmt.Sprintf("drop database %q (to replace it)", target), l.dropSQL(target)...); err != nil {
		return err
	}
	err := l.exec(ctx, maint, fmt.Sprintf("rename database %q to %q", work, target),
		"ALTER DATABASE "+quoteIdent(work)+" RENAME TO "+quoteIdent(target))
	if err != nil {
		return fmt.Errorf("%w: %w (hint: the loaded data is in database %q: ALTER DATABASE %s RENAME TO %s)",
			errSwapHalfDone, err, work, quoteIdent(work), quoteIdent(target))
	}
	return nil
}

// cleanup drops a database the loader created, even when ctx has ended.
func (l *Loader) cleanup(ctx context.Context, db string) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	if err := l.Drop(cctx, db); err != nil {
		l.c.log.Warn("postgres: drop the database of a failed load", "db", db, "err", err)
	}
}

// exec runs statements (each on its own, outside a transaction block) in db.
func (l *Loader) exec(ctx context.Context, db, what string, sqls ...string) error {
	args := l.s.psqlArgs(db)
	for _, q := range sqls {
		args = append(args, "-c", q)
	}
	cmd := l.s.command(ctx, "psql", args...)
	stderr := &headBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Run(); err != nil {
		return l.s.toolError(ctx, what, err, stderr.String())
	}
	return nil
}

// loadDiagnoses explain the failures of a load that the connector's own
// diagnoses (about connecting) would explain wrongly.
var loadDiagnoses = []diagnosis{
	{regexp.MustCompile(`must be member of role|must be able to SET ROLE`),
		"the dump's objects are owned by roles the loading user may not become: load without --keep-owners, or grant it those roles", true},
	{regexp.MustCompile(`ERROR: +role ".*" does not exist`),
		"the dump names roles this server lacks: create them (the snapshot's server/globals.sql), or load without --keep-owners", true},
	{regexp.MustCompile(`ERROR: +(permission denied|must be owner|must be superuser)`),
		"the loading user lacks a privilege the dump's statements need (a superuser, or load without --keep-owners)", true},
}

func (l *Loader) loadError(ctx context.Context, what string, err error, stderr string) error {
	for _, d := range loadDiagnoses {
		if d.re.MatchString(stderr) {
			msg := firstLines(redact(stderr, l.c.password), stderrLines)
			return fmt.Errorf("%s: %v: %s (hint: %s): %w", what, err, msg, d.hint, connector.ErrPermanent)
		}
	}
	return l.s.toolError(ctx, what, err, stderr)
}

// stderrCapture keeps the start and the end of a tool's stderr; the
// message quotes the part holding the error (a load may warn a lot first).
type stderrCapture struct {
	head headBuffer
	tail []byte
}

func (s *stderrCapture) Write(p []byte) (int, error) {
	_, _ = s.head.Write(p)
	s.head.mu.Lock()
	defer s.head.mu.Unlock()
	s.tail = append(s.tail, p...)
	if over := len(s.tail) - stderrLimit; over > 0 {
		s.tail = append(s.tail[:0], s.tail[over:]...)
	}
	return len(p), nil
}

var errorLine = regexp.MustCompile(`(?m)^.*(ERROR|FATAL|error):.*$`)

func (s *stderrCapture) message() string {
	head := s.head.String()
	s.head.mu.Lock()
	tail := string(s.tail)
	s.head.mu.Unlock()
	if errorLine.MatchString(head) || !errorLine.MatchString(tail) {
		return head
	}
	loc := errorLine.FindStringIndex(tail)
	return tail[loc[0]:]
}

// checkTarget validates a database name given to the loader.
func checkTarget(db string) error {
	switch {
	case !validName(db):
		return fmt.Errorf("database %q: %s: %w", db, nameRule, connector.ErrPermanent)
	case isTemplate(db):
		return fmt.Errorf("database %q is a template database: %w", db, connector.ErrPermanent)
	}
	return nil
}

// tempName is <db>__xv<8 hex digits>, db cut (at a character boundary)
// so that the whole fits in 63 bytes.
func tempName(db string) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	suffix := "__xv" + hex.EncodeToString(b)
	for len(db)+len(suffix) > maxNameLen {
		_, size := utf8.DecodeLastRuneInString(db)
		db = db[:len(db)-size]
	}
	return db + suffix
}

// quoteIdent quotes a name as an SQL identifier.
func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// escapeLiteral quotes s as an escape string literal (E-prefixed), which reads the same
// whatever standard_conforming_strings says.
func escapeLiteral(s string) string {
	return "E'" + strings.NewReplacer(`\`, `\\`, `'`, `''`).Replace(s) + "'"
}
