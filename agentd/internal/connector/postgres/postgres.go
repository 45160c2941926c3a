// Package postgres is the connector of postgres sources: it dumps PostgreSQL
// databases with the agent's own client programs (pg_dump, pg_dumpall,
// psql), either straight to the server or through an SSH connection whose
// database port is forwarded to a unix socket in a private directory of the
// agent (package dbtunnel). Nothing is installed or run on the customer's
// server: through SSH the agent's pg_dump talks to the forwarded port, so one
// tested client, whose version is checked against the server's, makes every
// dump.
//
// # What a snapshot holds
//
//   - server/globals.sql: `pg_dumpall --globals-only` (roles, tablespaces).
//     When the account may not read pg_authid (it is not a superuser), the
//     roles are dumped with --no-role-passwords and a warning says so; when
//     it may not read them at all, a warning replaces the file.
//   - databases/<db>.sql (format plain, load with `psql -d NEW -f`) or
//     databases/<db>.dump (format custom, load with `pg_restore -d NEW`),
//     one per database. Plain dumps are made without --create, so they load
//     into a database of any name; custom dumps are uncompressed (-Z 0): the
//     artifact is zstd-compressed as a whole. A plain dump made by a recent
//     pg_dump (15.14, 16.10, 17.6 and later) starts with \restrict, which
//     only a psql at least as recent understands.
//
// Success is the tool's exit status 0 and its completion mark: the
// "-- PostgreSQL database dump complete" trailer of a plain dump (and of
// globals.sql, "cluster dump complete"), the PGDMP header of a custom one.
// Otherwise the backup fails, with the first lines of the tool's stderr,
// and nothing is archived.
//
// Databases are the configured list, or with all_databases every database
// that allows connections, `postgres` included, minus exclude_databases.
// template0 and template1 (and any database marked as a template) are never
// dumped: they hold no data of their own and pg_dumpall does not dump them
// either. With all_databases, a database the account may not connect to, or
// that is dropped while the backup runs, is skipped with a warning; a listed
// database that does not exist fails the job.
//
// # Consistency and row counts
//
// For each database a psql session opens a REPEATABLE READ, READ ONLY
// transaction, exports its snapshot (pg_export_snapshot), counts the rows of
// every table in it, and stays open while pg_dump runs with --snapshot: the
// counts recorded in xvault.json and the dump see exactly the same data.
// Tables are named schema-qualified and quoted as SQL would need them
// (format('%I.%I'): public.orders, "My Schema"."Order"). A partitioned
// table is counted with all its partitions' rows, and each partition on its
// own too. Tables that belong to an extension are not counted (pg_dump
// does not dump their rows). The counting transaction holds the ACCESS
// SHARE locks pg_dump takes anyway; it and pg_dump wait at most 300 s for
// a lock (a long ALTER TABLE) before the backup fails.
//
// # Secrets and the tools' environment
//
// The password reaches libpq only through a 0600 PGPASSFILE in a private
// directory of the job's temp dir, never argv or environment. Every tool runs
// with a fixed argument list and a minimal environment (PATH, HOME = a
// private empty directory, LC_ALL=C, PGPASSFILE, PGSSLMODE,
// PGCONNECT_TIMEOUT, PGSYSCONFDIR = that empty directory), so nothing of the
// agent's own environment (PGHOST, PGSERVICE, PGOPTIONS, ~/.pgpass,
// ~/.psqlrc, pg_service.conf) changes what is dumped; psql always runs with
// -X. Connection parameters go as one libpq connection string with every
// value quoted, so database and user names may hold any character.
//
// # Egress
//
// Directly, the host name is resolved and checked by the agent's egress
// policy, and libpq is given host=<name> hostaddr=<checked address>: it
// dials the checked address (no second DNS lookup), while TLS verify-full
// still checks the certificate against the name (verify-ca and verify-full
// trust the system's CA bundle: HOME is private, so no
// ~/.postgresql/root.crt is read). A host starting with "/"
// is a unix socket directory on the agent's own host, allowed only with
// --allow-loopback. Through SSH, the SSH connection goes through the egress
// dialer; the database host (default 127.0.0.1) is dialed by the SSH server.
// sslmode does not apply to the unix socket of the tunnel: SSH encrypts it.
//
// # Loading
//
// Loader (load.go) loads a snapshot's dump back into a server, reached the
// same way: plain dumps through psql after a streaming transform
// (transform.go: --no-owner --no-acl, \restrict, and no other psql
// meta-command), custom ones through pg_restore, always into a database it
// creates, so that a failed load never touches an existing one. CheckDump
// checks a dump without a server.
//
// # Client version
//
// pg_dump refuses servers newer than itself, so the version is checked
// first. The client programs are looked for in /usr/lib/postgresql/*/bin
// (Debian, Ubuntu), /usr/pgsql-*/bin (PGDG RPMs) and the agent's PATH; the
// installation whose major version equals the server's is used, else the
// closest newer one (its output is the likeliest to load back into the same
// server), else the job fails naming both versions.
package postgres

import (
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/xvault/xvault/agentd/internal/connector"
	"github.com/xvault/xvault/agentd/internal/connector/sshconn"
	"github.com/xvault/xvault/sdk"
)

const (
	defaultPort    = 5432
	defaultSSHHost = "127.0.0.1"
	defaultSSLMode = "prefer"
	// maxNameLen is NAMEDATALEN-1: the server silently truncates longer names.
	maxNameLen = 63
	// connectTimeout (seconds) bounds each connection attempt of the tools.
	connectTimeout = "30"
	// lockWaitTimeout (milliseconds) bounds how long pg_dump waits for a
	// table lock held by, say, a long ALTER TABLE.
	lockWaitTimeout = "300000"
)

var sslModes = []string{"disable", "allow", "prefer", "require", "verify-ca", "verify-full"}

// Connector backs up one postgres source. It implements connector.Connector
// and connector.Tester.
type Connector struct {
	cfg      sdk.PostgresConfig // defaults applied
	password string
	ssh      *sshconn.Dialer // nil: direct
	env      connector.Env
	log      *slog.Logger

	// toolDirs, when not nil, are the only directories searched for the
	// client programs (tests; see searchDirs for the default).
	toolDirs []string
	// onTool, when set, wraps the output of every pg_dump and pg_dumpall
	// while it runs (tests: sample processes, kill one mid-way).
	onTool func(tool string, p *os.Process, out io.Writer) io.Writer
}

var (
	_ connector.Connector = (*Connector)(nil)
	_ connector.Tester    = (*Connector)(nil)
)

// New validates cfg and the released secret (the database password, and
// with an ssh block the SSH credential in secret.SSH) and returns a
// connector. hostKey is the pinned SSH host key ("" = trust on first use).
// Invalid input is reported with an error wrapping connector.ErrPermanent.
func New(cfg sdk.PostgresConfig, hostKey string, secret *sdk.SecretPayload, env connector.Env) (*Connector, error) {
	if secret == nil {
		secret = &sdk.SecretPayload{}
	}
	if err := validate(&cfg); err != nil {
		return nil, fmt.Errorf("postgres source: %w: %w", err, connector.ErrPermanent)
	}
	if strings.ContainsAny(secret.Password, "\n\r\x00") {
		return nil, fmt.Errorf("postgres source: the password holds a line break or NUL, which libpq password files cannot hold: %w",
			connector.ErrPermanent)
	}
	if env.TempDir == "" {
		return nil, fmt.Errorf("postgres source: the agent gave no temp dir: %w", connector.ErrPermanent)
	}
	c := &Connector{cfg: cfg, password: secret.Password, env: env, log: env.Logger}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if cfg.SSH != nil {
		d, err := newSSHDialer(cfg.SSH, hostKey, secret.SSH, env)
		if err != nil {
			return nil, fmt.Errorf("postgres source: ssh: %w", err)
		}
		c.ssh = d
	}
	return c, nil
}

// validate checks cfg and fills in the defaults.
func validate(cfg *sdk.PostgresConfig) error {
	if cfg.SSH != nil && cfg.Host == "" {
		cfg.Host = defaultSSHHost
	}
	if cfg.Port == 0 {
		cfg.Port = defaultPort
	}
	if cfg.SSLMode == "" {
		cfg.SSLMode = defaultSSLMode
	}
	if cfg.Format == "" {
		cfg.Format = sdk.PostgresFormatPlain
	}
	switch {
	case cfg.Port < 1 || cfg.Port > 65535:
		return fmt.Errorf("port %d out of range 1-65535", cfg.Port)
	case cfg.Username == "":
		return fmt.Errorf("username is required")
	case !validName(cfg.Username):
		return fmt.Errorf("username %q: %s", cfg.Username, nameRule)
	case !slices.Contains(sslModes, cfg.SSLMode):
		return fmt.Errorf("sslmode %q: must be one of %s", cfg.SSLMode, strings.Join(sslModes, ", "))
	case cfg.Format != sdk.PostgresFormatPlain && cfg.Format != sdk.PostgresFormatCustom:
		return fmt.Errorf("format %q: must be plain or custom", cfg.Format)
	}
	if err := validHost(cfg.Host, cfg.SSH != nil); err != nil {
		return err
	}
	return validDatabases(cfg)
}

const nameRule = "names must be 1-63 bytes of valid UTF-8 without NUL"

func validName(s string) bool {
	return s != "" && len(s) <= maxNameLen && utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}

func isTemplate(db string) bool { return db == "template0" || db == "template1" }

func validDatabases(cfg *sdk.PostgresConfig) error {
	switch {
	case cfg.AllDatabases && len(cfg.Databases) > 0:
		return fmt.Errorf("databases and all_databases exclude each other")
	case !cfg.AllDatabases && len(cfg.Databases) == 0:
		return fmt.Errorf("name the databases to back up, or set all_databases")
	case !cfg.AllDatabases && len(cfg.ExcludeDatabases) > 0:
		return fmt.Errorf("exclude_databases needs all_databases")
	}
	for _, db := range slices.Concat(cfg.Databases, cfg.ExcludeDatabases) {
		if !validName(db) {
			return fmt.Errorf("database %q: %s", db, nameRule)
		}
	}
	for _, db := range cfg.Databases {
		if isTemplate(db) {
			return fmt.Errorf("database %q is a template database, which is never backed up", db)
		}
	}
	var uniq []string
	for _, db := range cfg.Databases {
		if !slices.Contains(uniq, db) {
			uniq = append(uniq, db)
		}
	}
	cfg.Databases = uniq
	return nil
}

// hostLabel is one label of a DNS name (underscores allowed: some internal
// names have them).
var hostLabel = regexp.MustCompile(`^[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?$`)

// validHost accepts an IP address, a DNS name, or (directly only) an
// absolute unix socket directory. Commas are refused: libpq would read them
// as a list of hosts, the second of which the egress check never saw.
func validHost(h string, viaSSH bool) error {
	switch {
	case h == "":
		return fmt.Errorf("host is required")
	case strings.HasPrefix(h, "/"):
		if viaSSH {
			return fmt.Errorf("host %q: a unix socket on the SSH server cannot be forwarded (hint: use its TCP address, e.g. 127.0.0.1)", h)
		}
		if filepath.Clean(h) != h || strings.ContainsAny(h, ",\x00") {
			return fmt.Errorf("host %q: a socket directory must be a clean absolute path without commas", h)
		}
		return nil
	}
	if _, err := netip.ParseAddr(h); err == nil {
		return nil
	}
	labels := strings.Split(strings.TrimSuffix(h, "."), ".")
	if len(h) > 253 || slices.ContainsFunc(labels, func(l string) bool { return len(l) > 63 || !hostLabel.MatchString(l) }) {
		return fmt.Errorf("host %q: not an IP address or a DNS name", h)
	}
	return nil
}

// newSSHDialer checks the ssh block and its released credential.
func newSSHDialer(b *sdk.DatabaseSSH, hostKey string, cred *sdk.SecretPayload, env connector.Env) (*sshconn.Dialer, error) {
	if cred == nil {
		return nil, fmt.Errorf("the ssh block's credential was not released with the job: %w", connector.ErrPermanent)
	}
	if hostKey == "" {
		hostKey = b.HostKey
	}
	return sshconn.NewDialer(
		sshconn.Config{Host: b.Host, Port: b.Port, Username: b.Username, HostKey: hostKey},
		sshconn.Credential{Password: cred.Password, PrivateKey: []byte(cred.PrivateKey), Passphrase: cred.Passphrase},
		sshconn.Options{OnHostKey: env.OnHostKey, Logger: env.Logger, DialContext: egressDialer(env)},
	)
}
