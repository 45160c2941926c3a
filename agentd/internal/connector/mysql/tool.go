package mysql

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/xvault/xvault/agentd/internal/connector"
	"github.com/xvault/xvault/sdk"
	"github.com/xvault/xvault/sdk/archive"
)

// toolNames are the dump clients looked for in PATH, best first: MariaDB's
// client ships mariadb-dump (and mysqldump as a compatibility name),
// MySQL's only mysqldump.
var toolNames = []string{"mariadb-dump", "mysqldump"}

// tool is the dump client found on the agent and what it supports.
type tool struct {
	path    string
	name    string // base name
	version string // "10.11.19-MariaDB" (the distribution), or "8.0.36"
	mariadb bool   // MariaDB's client: no --ssl-mode, no --column-statistics
	// Flags the client knows, read from its --help: they decide
	// --set-gtid-purged=OFF, --column-statistics=0 and --ssl-mode.
	gtidPurged, columnStats, sslMode bool
	// Flags of the command-line client (the loader's tool): --binary-mode,
	// MariaDB's --sandbox.
	binaryMode, sandbox bool
}

// errNoTool is wrapped when no dump client is installed.
var errNoTool = errors.New("no MySQL/MariaDB dump client (mariadb-dump or mysqldump) in PATH (hint: apt-get install mariadb-client, or MySQL's mysql-client)")

// findTool looks the dump client up in the agent's PATH and asks it for its
// version and options. It runs the client with the same minimal
// environment and an empty option file as a dump, so nothing on the agent
// (a ~/.my.cnf) changes what it reports.
func findTool(ctx context.Context, dir string) (*tool, error) {
	return lookupTool(ctx, dir, toolNames, errNoTool)
}

// lookupTool finds the first of names in PATH (missing wraps errMissing and
// connector.ErrPermanent) and probes it as findTool says.
func lookupTool(ctx context.Context, dir string, names []string, errMissing error) (*tool, error) {
	var path string
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		return nil, fmt.Errorf("%w: %w", errMissing, connector.ErrPermanent)
	}
	empty := filepath.Join(dir, "probe.cnf")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		return nil, fmt.Errorf("write option file: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	version, err := runProbe(ctx, path, dir, "--defaults-file="+empty, "--version")
	if err != nil {
		return nil, err
	}
	help, err := runProbe(ctx, path, dir, "--defaults-file="+empty, "--help")
	if err != nil {
		return nil, err
	}
	t := &tool{path: path, name: filepath.Base(path)}
	t.version, t.mariadb = parseToolVersion(version)
	t.gtidPurged = bytes.Contains(help, []byte("--set-gtid-purged"))
	t.columnStats = bytes.Contains(help, []byte("--column-statistics"))
	t.sslMode = bytes.Contains(help, []byte("--ssl-mode"))
	t.binaryMode = bytes.Contains(help, []byte("--binary-mode"))
	t.sandbox = bytes.Contains(help, []byte("--sandbox"))
	return t, nil
}

func runProbe(ctx context.Context, path, home string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = childEnv(home)
	cmd.Dir = home
	var stderr capped
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w: %s", filepath.Base(path), args[len(args)-1], err, stderr.firstLines())
	}
	return out, nil
}

var (
	distribRe = regexp.MustCompile(`Distrib ([0-9][0-9A-Za-z.\-]*?)[, ]`)
	verRe     = regexp.MustCompile(`Ver ([0-9][0-9A-Za-z.\-]*)`)
)

// parseToolVersion reads "mariadb-dump  Ver 10.19 Distrib 10.11.19-MariaDB,
// for debian-linux-gnu (x86_64)" or "mysqldump  Ver 8.0.36 for Linux on
// x86_64 (MySQL Community Server - GPL)".
func parseToolVersion(out []byte) (version string, mariadb bool) {
	line := string(bytes.TrimSpace(out))
	if i := strings.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	}
	mariadb = strings.Contains(line, "MariaDB")
	if m := distribRe.FindStringSubmatch(line + " "); m != nil {
		return m[1], mariadb
	}
	if m := verRe.FindStringSubmatch(line); m != nil {
		return m[1], mariadb
	}
	return strings.TrimSpace(line), mariadb
}

func (t *tool) software() archive.Software {
	return archive.Software{Name: t.name, Version: t.version}
}

// childEnv is the whole environment of a client process: nothing of the
// agent's own (no MYSQL_PWD, MYSQL_HOST, MYSQL_TCP_PORT, MYSQL_UNIX_PORT,
// MYSQL_TEST_LOGIN_FILE, MARIADB_HOME, LD_PRELOAD…), HOME a private
// directory of the job so no ~/.my.cnf or ~/.mylogin.cnf is found.
func childEnv(home string) []string {
	return []string{"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=" + home, "LC_ALL=C", "TZ=UTC"}
}

// dumpFlags are the content options of every dump, as recorded in the
// descriptor. Without --databases the dump holds no CREATE DATABASE or USE
// line, so it restores into any database name (xv restore --as NEWNAME);
// the source name is recorded in the descriptor instead.
func (t *tool) dumpFlags() []string {
	flags := []string{
		"--single-transaction", "--routines", "--triggers", "--events", "--hex-blob",
		"--default-character-set=utf8mb4", "--no-tablespaces",
		// The client's limit on one row (default 24 MiB) would fail a dump
		// of a table with larger rows; 1 GiB is the protocol's maximum.
		"--max-allowed-packet=1G",
	}
	if t.gtidPurged {
		// MySQL's client: a dump of a GTID-enabled server would otherwise
		// carry SET @@GLOBAL.GTID_PURGED, which fails on import into a server
		// that already has GTIDs and is meaningless for a logical backup.
		flags = append(flags, "--set-gtid-purged=OFF")
	}
	if t.columnStats && !t.mariadb {
		// MySQL 8's client queries information_schema.COLUMN_STATISTICS,
		// which MariaDB and MySQL 5.7 servers lack.
		flags = append(flags, "--column-statistics=0")
	}
	return flags
}

// optionFile renders the client's option file. It is the only option file
// the client reads: it is passed with --defaults-file, which (unlike
// --defaults-extra-file, which adds a file to /etc/my.cnf, /etc/mysql/…
// and ~/.my.cnf) makes the client read that file and no other, so nothing
// on the agent's host can override the source's settings (a [client]
// host= or ssl= in the agent user's ~/.my.cnf). HOME is also private, and
// MySQL's ~/.mylogin.cnf, which MySQL clients read even with
// --defaults-file, is therefore not found either.
func (t *tool) optionFile(c conn) (string, error) {
	var b strings.Builder
	b.WriteString("[client]\n")
	for _, kv := range [][2]string{{"user", c.user}, {"password", c.password}} {
		v, err := optionValue(kv[1])
		if err != nil {
			return "", fmt.Errorf("%s: %w", kv[0], err)
		}
		fmt.Fprintf(&b, "%s=%s\n", kv[0], v)
	}
	if c.socket != "" {
		v, err := optionValue(c.socket)
		if err != nil {
			return "", fmt.Errorf("socket: %w", err)
		}
		fmt.Fprintf(&b, "protocol=SOCKET\nsocket=%s\n", v)
	} else {
		fmt.Fprintf(&b, "protocol=TCP\nhost=%s\nport=%d\n", c.ip, c.port)
	}
	for _, l := range t.tlsOptions(c.tls) {
		b.WriteString(l + "\n")
	}
	return b.String(), nil
}

// optionValue quotes v for an option file: double quotes, with backslash
// and double quote escaped (both clients' option file parsers undo \\ \"
// \n \r \t inside quotes).
func optionValue(v string) (string, error) {
	if strings.IndexByte(v, 0) >= 0 {
		return "", errors.New("contains a NUL byte")
	}
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\r", `\r`, "\t", `\t`)
	return `"` + r.Replace(v) + `"`, nil
}

// tlsOptions maps the source's tls setting (as conn.tls: see Open for the
// SSH case) onto the client's options.
func (t *tool) tlsOptions(mode string) []string {
	if t.sslMode { // MySQL's client
		switch mode {
		case sdk.MySQLTLSDisabled:
			return []string{"ssl-mode=DISABLED"}
		case sdk.MySQLTLSRequired:
			return []string{"ssl-mode=REQUIRED"}
		case sdk.MySQLTLSVerifyCA:
			return []string{"ssl-mode=VERIFY_CA", "ssl-capath=/etc/ssl/certs"}
		}
		return []string{"ssl-mode=PREFERRED"}
	}
	// MariaDB's client: ssl is on by default and (up to 11.3) falls back to
	// plain text when the server has no TLS; ssl-verify-server-cert makes it
	// required and verified (the default from 11.4 on, hence the explicit
	// skip- for the unverified modes). It has no "required but unverified"
	// setting; for "required" the agent's own connection (Open) has already
	// refused a server without TLS.
	switch mode {
	case sdk.MySQLTLSDisabled:
		return []string{"skip-ssl"}
	case sdk.MySQLTLSVerifyCA:
		return []string{"ssl", "ssl-verify-server-cert", "ssl-capath=/etc/ssl/certs"}
	}
	return []string{"ssl", "skip-ssl-verify-server-cert"}
}

// capped keeps the first 2 KiB written to it: the start of a tool's stderr.
type capped struct{ b []byte }

const stderrCap = 2 << 10

func (c *capped) Write(p []byte) (int, error) {
	if room := stderrCap - len(c.b); room > 0 {
		c.b = append(c.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

// firstLines is the kept stderr, trimmed, at most 8 lines, one line of text.
func (c *capped) firstLines() string {
	lines := strings.Split(strings.TrimSpace(string(c.b)), "\n")
	if len(lines) > 8 {
		lines = lines[:8]
	}
	return strings.Join(lines, " | ")
}
