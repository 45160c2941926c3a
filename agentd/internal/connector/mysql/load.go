package mysql

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	gomysql "github.com/go-sql-driver/mysql"

	"github.com/xvault/xvault/agentd/internal/connector"
)

// Loader loads dumps (as the mysql connector stores them) into one
// MySQL/MariaDB server with the agent's command-line client (mariadb, else
// mysql): a restore into a database, or a verify job's throwaway database.
// It implements connector.Loader.
//
// The client reaches the server as the dump client does (see Open: the
// egress-checked address, a unix socket, or the SSH tunnel's socket) and
// gets the password only through a 0600 --defaults-file in the session's
// private directory; it runs with childEnv, --batch, --binary-mode (NUL and
// \r in data load, and client commands such as \! are off), --sandbox
// where the client has it, and --local-infile=0 (a dump cannot read the
// agent's files with LOAD DATA LOCAL). Its stdin is the dump, transformed
// (see transform.go); its default database is the target, passed as
// --database=NAME so that no name can become an option.
//
// # Replace
//
// MySQL has no RENAME DATABASE, and RENAME TABLE cannot move views, or
// tables with triggers, to another schema; so an existing database is
// replaced in three steps:
//
//  1. the whole dump is loaded into a fresh temporary database
//     <name>__xv<random> (the name cut to stay within 64 characters). That
//     proves every statement of the dump loads on this server as this
//     account. If it fails, the temporary database is dropped and the
//     target was never touched.
//  2. Only then is the target dropped, created again (with its former
//     character set and collation) and the dump loaded a second time
//     (LoadOptions.Open gives a second reader).
//  3. The temporary database is dropped.
//
// If step 2 fails (the connection or the agent lost midway), the target is
// incomplete and the temporary database is kept: the error names it, as it
// holds the complete data.
//
// A database the loader created (Create, or Replace of a missing one) is
// dropped again when its load fails, so a failed restore never leaves a
// half-loaded new database.
type Loader struct {
	s      *Session
	client *tool
	loads  int
}

var _ connector.Loader = (*Loader)(nil)

// clientNames are the command-line clients looked for in PATH, best first.
var clientNames = []string{"mariadb", "mysql"}

// errNoClient is wrapped when no command-line client is installed.
var errNoClient = errors.New("no MySQL/MariaDB command-line client (mariadb or mysql) in PATH (hint: apt-get install mariadb-client, or MySQL's mysql-client)")

// NewLoader connects as Open does and looks up the command-line client; a
// missing client is a permanent error.
func NewLoader(ctx context.Context, srv Server, env connector.Env) (*Loader, error) {
	s, err := openSession(ctx, srv, env)
	if err != nil {
		return nil, err
	}
	c, err := lookupTool(ctx, s.dir, clientNames, errNoClient)
	if err != nil {
		_ = s.Close()
		return nil, err
	}
	return &Loader{s: s, client: c}, nil
}

// Client is the command-line client the loader runs.
func (l *Loader) Client() string { return l.client.name + " " + l.client.version }

// Databases lists the server's databases, system schemas excluded.
func (l *Loader) Databases(ctx context.Context) ([]string, error) { return l.s.Databases(ctx) }

// Close ends the session and removes its private directory.
func (l *Loader) Close() error { return l.s.Close() }

// Drop drops a database if it exists (never a system schema).
func (l *Loader) Drop(ctx context.Context, db string) error {
	if err := checkTarget(db); err != nil {
		return err
	}
	if _, err := l.s.db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+quoteIdent(db)); err != nil {
		return l.sqlError("drop database "+db, err)
	}
	return nil
}

// checkTarget refuses a database name the loader will not load into.
func checkTarget(db string) error {
	err := validName("database", db)
	switch {
	case err != nil:
	case strings.ContainsAny(db, `/\`):
		err = fmt.Errorf("database name %q holds / or \\", db)
	case strings.Trim(db, ".") == "":
		err = fmt.Errorf("database name %q is only dots", db)
	case strings.HasSuffix(db, " "):
		err = fmt.Errorf("database name %q ends with a space", db)
	}
	if err != nil {
		return fmt.Errorf("%w: %w", err, connector.ErrPermanent)
	}
	return nil
}

var prefixRe = regexp.MustCompile(`^[A-Za-z0-9_]{1,20}$`)

func checkLoadOptions(opts connector.LoadOptions) error {
	if err := checkTarget(opts.Database); err != nil {
		return err
	}
	var err error
	switch {
	case opts.Format != "" && opts.Format != "sql":
		err = fmt.Errorf("mysql: a dump of format %q cannot be loaded (only \"sql\")", opts.Format)
	case opts.Open == nil:
		err = errors.New("mysql: no dump to load (LoadOptions.Open is nil)")
	case opts.TablePrefix != nil && (!prefixRe.MatchString(opts.TablePrefix.From) || !prefixRe.MatchString(opts.TablePrefix.To)):
		err = fmt.Errorf("table prefix %q → %q: a prefix is 1-20 characters of A-Z, a-z, 0-9 and _", opts.TablePrefix.From, opts.TablePrefix.To)
	}
	if err != nil {
		return fmt.Errorf("%w: %w", err, connector.ErrPermanent)
	}
	return nil
}

// charset is a database's default character set and collation.
type charset struct{ name, collation string }

// Load loads one dump into opts.Database (see Loader for Create and
// Replace) and counts the rows of its tables.
func (l *Loader) Load(ctx context.Context, opts connector.LoadOptions) (*connector.LoadResult, error) {
	if err := checkLoadOptions(opts); err != nil {
		return nil, err
	}
	db := opts.Database
	cur, err := l.schemaOf(ctx, db)
	if err != nil {
		return nil, err
	}
	switch {
	case cur != nil && !opts.Replace:
		return nil, fmt.Errorf("database %s already exists on the server; pass --replace to replace it: %w", db, connector.ErrPermanent)
	case cur != nil:
		return l.replace(ctx, opts, cur)
	case !opts.Create && !opts.Replace:
		return nil, fmt.Errorf("database %s does not exist; pass --create-database: %w", db, connector.ErrPermanent)
	}
	if err := l.create(ctx, db, nil); err != nil {
		return nil, err
	}
	res, err := l.loadInto(ctx, db, db, opts)
	if err != nil {
		if derr := l.dropDetached(ctx, db); derr != nil {
			return nil, fmt.Errorf("%w (dropping the half-loaded database %s failed too: %v)", err, db, derr)
		}
		return nil, err
	}
	return res, nil
}

// replace replaces an existing database in the three steps Loader
// describes.
func (l *Loader) replace(ctx context.Context, opts connector.LoadOptions, cs *charset) (*connector.LoadResult, error) {
	db := opts.Database
	tmp := tempName(db)
	if err := l.create(ctx, tmp, cs); err != nil {
		return nil, fmt.Errorf("replace database %s: temporary database: %w", db, err)
	}
	if _, err := l.loadInto(ctx, tmp, fmt.Sprintf("%s (first into temporary database %s)", db, tmp), opts); err != nil {
		if derr := l.dropDetached(ctx, tmp); derr != nil {
			err = fmt.Errorf("%w (dropping temporary database %s failed too: %v)", err, tmp, derr)
		}
		return nil, fmt.Errorf("%w; database %s is unchanged", err, db)
	}
	kept := func(err error) error {
		return fmt.Errorf("%w; database %s is incomplete, the complete data is in database %s "+
			"(hint: retry the restore; drop %s when done)", err, db, tmp, tmp)
	}
	if _, err := l.s.db.ExecContext(ctx, "DROP DATABASE "+quoteIdent(db)); err != nil {
		return nil, kept(l.sqlError("replace: drop database "+db, err))
	}
	if err := l.create(ctx, db, cs); err != nil {
		return nil, kept(err)
	}
	res, err := l.loadInto(ctx, db, db, opts)
	if err != nil {
		return nil, kept(err)
	}
	if err := l.dropDetached(ctx, tmp); err != nil {
		res.Warnings = append(res.Warnings, fmt.Sprintf("the temporary database %s could not be dropped (%v); drop it by hand", tmp, err))
	}
	return res, nil
}

// tempName is the temporary database of a replace: <db>__xv<8 hex>, db cut
// so that the name stays within 64 characters.
func tempName(db string) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	suffix := "__xv" + hex.EncodeToString(b)
	r := []rune(db)
	if len(r) > 64-len(suffix) {
		r = r[:64-len(suffix)]
	}
	return strings.TrimRight(string(r), " ") + suffix
}

// schemaOf is the database's character set, nil when it does not exist
// (or the account cannot see it).
func (l *Loader) schemaOf(ctx context.Context, db string) (*charset, error) {
	rows, err := l.s.db.QueryContext(ctx, `SELECT SCHEMA_NAME, DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME
		FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?`, db)
	if err != nil {
		return nil, fmt.Errorf("database %s: %w", db, err)
	}
	defer rows.Close()
	var found *charset
	for rows.Next() {
		var name string
		var cs charset
		if err := rows.Scan(&name, &cs.name, &cs.collation); err != nil {
			return nil, fmt.Errorf("database %s: %w", db, err)
		}
		if name == db { // the comparison above ignores case
			found = &cs
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("database %s: %w", db, err)
	}
	return found, nil
}

var charsetRe = regexp.MustCompile(`^[A-Za-z0-9_]+$`)

// create creates a database, with the given character set when known.
func (l *Loader) create(ctx context.Context, db string, cs *charset) error {
	q := "CREATE DATABASE " + quoteIdent(db)
	if cs != nil && charsetRe.MatchString(cs.name) && charsetRe.MatchString(cs.collation) {
		q += " CHARACTER SET " + cs.name + " COLLATE " + cs.collation
	}
	_, err := l.s.db.ExecContext(ctx, q)
	var me *gomysql.MySQLError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &me) && me.Number == 1007: // ER_DB_CREATE_EXISTS
		return fmt.Errorf("database %s already exists on the server (the account cannot see it); pass --replace to replace it: %w", db, connector.ErrPermanent)
	}
	return l.sqlError("create database "+db, err)
}

// sqlError explains a failed statement of the agent's own connection;
// refused privileges are permanent.
func (l *Loader) sqlError(what string, err error) error {
	var me *gomysql.MySQLError
	if errors.As(err, &me) {
		switch me.Number {
		case 1044, 1045, 1142, 1227: // access denied to database, to user, command denied, need SUPER
			return fmt.Errorf("%s: %s (hint: the account %q needs ALL PRIVILEGES on the database, and CREATE on *.* to create one): %w",
				what, me.Message, l.s.srv.Username, connector.ErrPermanent)
		}
	}
	return fmt.Errorf("%s: %w", what, err)
}

// dropDetached drops a database the loader created, also when ctx was
// cancelled (a half-loaded database must not stay behind).
func (l *Loader) dropDetached(ctx context.Context, db string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	return l.Drop(ctx, db)
}

// stickyWriter remembers the first write error (the client went away).
type stickyWriter struct {
	w   io.Writer
	err error
}

func (s *stickyWriter) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	n, err := s.w.Write(p)
	s.err = err
	return n, err
}
