package source

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/xvault/xvault/cli/internal/cmdutil"
	"github.com/xvault/xvault/sdk"
)

// The config flags of `xv source create|update`: one table says which flag
// sets which JSON field (docs/api.md) of which source types. The hub
// validates the result field by field; xv only refuses a flag that the
// type does not have and names the flags a new source cannot do without.

type fieldKind int

const (
	kindString fieldKind = iota
	kindInt
	kindBool
	kindList // repeatable
)

// configField is one flag that sets one config field.
type configField struct {
	flag, key string // key "ssh.host" is inside the ssh block
	kind      fieldKind
	usage     string
	types     []sdk.SourceType
}

var (
	sshTypes    = []sdk.SourceType{sdk.SourceSSH, sdk.SourceSFTP}
	remoteTypes = []sdk.SourceType{sdk.SourceSSH, sdk.SourceSFTP, sdk.SourceFTP, sdk.SourceMySQL, sdk.SourcePostgres, sdk.SourceWordPress}
	fileTypes   = []sdk.SourceType{sdk.SourceSSH, sdk.SourceSFTP, sdk.SourceFTP, sdk.SourceLocal, sdk.SourceWordPress}
	dbTypes     = []sdk.SourceType{sdk.SourceMySQL, sdk.SourcePostgres}
	sshKeyTypes = []sdk.SourceType{sdk.SourceSSH, sdk.SourceSFTP, sdk.SourceWordPress}
	ftpMySQL    = []sdk.SourceType{sdk.SourceFTP, sdk.SourceMySQL}
	ftpOnly     = []sdk.SourceType{sdk.SourceFTP}
	mysqlOnly   = []sdk.SourceType{sdk.SourceMySQL}
	pgOnly      = []sdk.SourceType{sdk.SourcePostgres}
	wpOnly      = []sdk.SourceType{sdk.SourceWordPress}
	// allTypes in the order of the help text.
	allTypes = []sdk.SourceType{sdk.SourceSSH, sdk.SourceSFTP, sdk.SourceFTP, sdk.SourceMySQL, sdk.SourcePostgres,
		sdk.SourceWordPress, sdk.SourceLocal}
)

var configFields = []configField{
	{"host", "host", kindString, "server `HOST` name or address (mysql/postgres with --ssh-host: as seen from the SSH server, default 127.0.0.1)", remoteTypes},
	{"port", "port", kindInt, "server `PORT`", remoteTypes},
	{"user", "username", kindString, "log in as `USER`", remoteTypes},
	{"path", "paths", kindList, "absolute `PATH` to back up (repeat for more; wordpress: the one WordPress root)", fileTypes},
	{"exclude", "exclude", kindList, "skip files matching `GLOB` (repeat for more)", fileTypes},
	{"host-key", "host_key", kindString, "ssh/sftp/wordpress: pin the server's host key `SHA256:…` (default: trust on first use)", sshKeyTypes},
	{"transfer", "transfer", kindString, "ssh/sftp: how to pull, `MODE` auto (remote tar where allowed, else SFTP), exec or sftp (default auto)", sshTypes},
	{"compression", "compression", kindString, "ssh/sftp: `LEVEL` fastest, default, better or none (default default)", sshTypes},
	{"incremental", "incremental", kindBool, "ssh/sftp: back up only what changed since the last snapshot (default true; --incremental=false for fulls only; docs/incremental.md)", sshTypes},
	{"full-every", "full_every", kindString, "ssh/sftp: start a new full when the chain's full is older than `DUR` (1h..365d, default 7d)", sshTypes},
	{"tls", "tls", kindString, "ftp: `MODE` none (default), explicit or implicit; mysql: preferred (default), required, verify_ca or disabled", ftpMySQL},
	{"insecure-skip-verify", "insecure_skip_verify", kindBool, "ftp: accept any TLS certificate (warned about on every run)", ftpOnly},
	{"socket", "socket", kindString, "mysql: unix socket `PATH` on the agent's host, instead of --host", mysqlOnly},
	{"database", "databases", kindList, "mysql/postgres: dump database `NAME` (repeat for more)", dbTypes},
	{"all-databases", "all_databases", kindBool, "mysql/postgres: dump every database (system schemas excepted)", dbTypes},
	{"exclude-database", "exclude_databases", kindList, "mysql/postgres: with --all-databases, skip database `NAME` (repeat for more)", dbTypes},
	{"sslmode", "sslmode", kindString, "postgres: libpq `MODE` disable, allow, prefer (default), require, verify-ca or verify-full", pgOnly},
	{"format", "format", kindString, "postgres: dump `FORMAT` plain (default, .sql) or custom (.dump, for pg_restore)", pgOnly},
	{"ssh-host", "ssh.host", kindString, "mysql/postgres: reach the database through SSH server `HOST`", dbTypes},
	{"ssh-port", "ssh.port", kindInt, "mysql/postgres: SSH server `PORT`", dbTypes},
	{"ssh-user", "ssh.username", kindString, "mysql/postgres: SSH login `USER`", dbTypes},
	{"ssh-credential", "ssh.credential_id", kindString, "mysql/postgres: SSH credential `ID`", dbTypes},
	{"ssh-host-key", "ssh.host_key", kindString, "mysql/postgres: pin the SSH server's host key `SHA256:…` (default: trust on first use)", dbTypes},
	{"db-host", "db_host", kindString, "wordpress: database `HOST` instead of wp-config.php's DB_HOST (host, host:port, [::1]:3306, localhost:/path.sock)", wpOnly},
	{"db-credential", "db_credential_id", kindString, "wordpress: database password credential `ID` instead of wp-config.php's DB_PASSWORD", wpOnly},
}

// portDefaults are the hub's defaults, for the help text.
var portDefaults = map[string]string{"port": "22; ftp 21, 990 with --tls implicit; mysql 3306; postgres 5432", "ssh-port": "22"}

// updateOnlyFields clear a field on update (the value flags can only set).
var updateOnlyFields = []configField{
	{"no-exclude", "exclude", kindBool, "remove every exclude glob", fileTypes},
	{"no-exclude-database", "exclude_databases", kindBool, "mysql/postgres: remove every --exclude-database", dbTypes},
	{"no-ssh", "ssh", kindBool, "mysql/postgres: reach the database directly again (drop the ssh block)", dbTypes},
}

// createNeeds lists, per type, the flags a new source needs: one of each group.
var createNeeds = map[sdk.SourceType][][]string{
	sdk.SourceSSH:       {{"host"}, {"user"}, {"path"}},
	sdk.SourceSFTP:      {{"host"}, {"user"}, {"path"}},
	sdk.SourceFTP:       {{"host"}, {"user"}, {"path"}},
	sdk.SourceLocal:     {{"path"}},
	sdk.SourceMySQL:     {{"user"}, {"database", "all-databases"}, {"host", "socket", "ssh-host"}},
	sdk.SourcePostgres:  {{"user"}, {"database", "all-databases"}, {"host", "ssh-host"}},
	sdk.SourceWordPress: {{"host"}, {"user"}, {"path"}},
}

// configFlags are the flags that describe a source's config.
type configFlags struct {
	ConfigJSON, ConfigFile string
	update                 bool // the update-only flags too
}

func (o *configFlags) flags() []cli.Flag {
	fields := configFields
	if o.update {
		fields = append(slices.Clone(configFields), updateOnlyFields...)
	}
	out := make([]cli.Flag, 0, len(fields)+2)
	for _, fd := range fields {
		out = append(out, fd.cliFlag())
	}
	return append(out,
		&cli.StringFlag{Name: "config-json", Usage: "the whole config as a `JSON` object (any type)", Destination: &o.ConfigJSON},
		&cli.PathFlag{Name: "config-file", Usage: "read the whole config from JSON `FILE` (any type)", Destination: &o.ConfigFile},
	)
}

func (fd configField) cliFlag() cli.Flag {
	switch fd.kind {
	case kindInt:
		return &cli.IntFlag{Name: fd.flag, Usage: fd.usage, DefaultText: portDefaults[fd.flag]}
	case kindBool:
		return &cli.BoolFlag{Name: fd.flag, Usage: fd.usage}
	case kindList:
		// Values go to the hub exactly as typed ("shop " is not "shop"):
		// no trimming here, no splitting at commas (root's
		// DisableSliceFlagSeparator); the hub says what is wrong.
		return &cli.StringSliceFlag{Name: fd.flag, Usage: fd.usage, KeepSpace: true}
	}
	var aliases []string
	if fd.flag == "user" {
		aliases = []string{"username"}
	}
	return &cli.StringFlag{Name: fd.flag, Aliases: aliases, Usage: fd.usage}
}

// setFields lists the config flags given on the command line (a --no-…
// flag only when true).
func setFields(c *cli.Context, fields []configField) []configField {
	var set []configField
	for _, fd := range fields {
		if c.IsSet(fd.flag) && (!fd.clears() || c.Bool(fd.flag)) {
			set = append(set, fd)
		}
	}
	return set
}

// clears reports whether fd is an update-only --no-… flag.
func (fd configField) clears() bool { return strings.HasPrefix(fd.flag, "no-") }

func flagNames(fields []configField) []string {
	names := make([]string, len(fields))
	for i, fd := range fields {
		names[i] = "--" + fd.flag
	}
	return names
}

// checkApplies refuses flags that the source type does not have, naming each.
func checkApplies(t sdk.SourceType, set []configField) error {
	if !slices.Contains(allTypes, t) {
		return cmdutil.UsageErrorf("unknown source type %q: want one of %s", t, joinTypes(allTypes))
	}
	var wrong []string
	for _, fd := range set {
		if !slices.Contains(fd.types, t) {
			wrong = append(wrong, fmt.Sprintf("--%s (only %s)", fd.flag, joinTypes(fd.types)))
		}
	}
	if len(wrong) > 0 {
		return cmdutil.UsageErrorf("not for a %s source: %s", t, strings.Join(wrong, ", "))
	}
	return nil
}

func joinTypes(ts []sdk.SourceType) string {
	s := make([]string, len(ts))
	for i, t := range ts {
		s[i] = string(t)
	}
	return strings.Join(s, ", ")
}

// checkNeeds names the flags a new source of type t lacks.
func checkNeeds(c *cli.Context, t sdk.SourceType) error {
	var missing []string
	for _, group := range createNeeds[t] {
		if !slices.ContainsFunc(group, c.IsSet) {
			missing = append(missing, "--"+strings.Join(group, " or --"))
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return cmdutil.UsageErrorf("a --type %s source needs %s (or the whole config as --config-json/--config-file)",
		t, strings.Join(missing, ", "))
}

// checkConflicts refuses an update-only --no-… flag given with a flag that
// sets the same field.
func checkConflicts(c *cli.Context) error {
	for _, pair := range [][2]string{{"no-exclude", "exclude"}, {"no-exclude-database", "exclude-database"},
		{"no-ssh", "ssh-host"}, {"no-ssh", "ssh-port"}, {"no-ssh", "ssh-user"}, {"no-ssh", "ssh-credential"},
		{"no-ssh", "ssh-host-key"}} {
		if c.IsSet(pair[0]) && c.Bool(pair[0]) && c.IsSet(pair[1]) {
			return cmdutil.UsageErrorf("give either --%s or --%s, not both", pair[0], pair[1])
		}
	}
	return nil
}

// applyConfig writes the given flags into cfg, keeping every field they do
// not name (fields this xv does not know included). An empty value removes
// the field, so the hub's default applies again.
func applyConfig(c *cli.Context, t sdk.SourceType, cfg map[string]any, set []configField) error {
	for _, fd := range set {
		v, err := fd.value(c, t)
		if err != nil {
			return err
		}
		setKey(cfg, fd.jsonKey(t), v)
	}
	exclusive(c, cfg)
	if slices.Contains(sshTypes, t) && cfg["port"] == nil {
		cfg["port"] = 22
	}
	return nil
}

// jsonKey is fd's field for type t: a wordpress source has one "path".
func (fd configField) jsonKey(t sdk.SourceType) string {
	if fd.key == "paths" && t == sdk.SourceWordPress {
		return "path"
	}
	return fd.key
}

// value is the flag's value for the config; nil removes the field.
func (fd configField) value(c *cli.Context, t sdk.SourceType) (any, error) {
	if fd.clears() {
		return nil, nil // --no-…: remove
	}
	switch fd.kind {
	case kindInt:
		if n := c.Int(fd.flag); n != 0 {
			return n, nil
		}
	case kindBool:
		if c.Bool(fd.flag) {
			return true, nil
		}
		if fd.key == "incremental" {
			return false, nil // on by default: false must be said
		}
	case kindList:
		vals := c.StringSlice(fd.flag)
		if fd.jsonKey(t) == "path" {
			if len(vals) != 1 {
				return nil, cmdutil.UsageErrorf("a %s source takes one --path (the WordPress root)", t)
			}
			return vals[0], nil
		}
		if len(vals) > 0 {
			return vals, nil
		}
	default:
		if s := c.String(fd.flag); s != "" {
			return s, nil
		}
	}
	return nil, nil
}

// setKey sets (v != nil) or removes cfg[key]; "ssh.host" is inside the ssh
// block, which goes away with its last field.
func setKey(cfg map[string]any, key string, v any) {
	if block, sub, ok := strings.Cut(key, "."); ok {
		m, _ := cfg[block].(map[string]any)
		if m == nil {
			m = map[string]any{}
		}
		setKey(m, sub, v)
		if len(m) == 0 {
			delete(cfg, block)
		} else {
			cfg[block] = m
		}
		return
	}
	if v == nil {
		delete(cfg, key)
	} else {
		cfg[key] = v
	}
}

// exclusive drops what a given flag replaces, so that an update can switch
// a source from a socket to a host, or from listed databases to all.
func exclusive(c *cli.Context, cfg map[string]any) {
	given := func(flag string) bool { return c.IsSet(flag) && cfg[flagKey(flag)] != nil }
	if given("database") && !c.IsSet("all-databases") {
		delete(cfg, "all_databases")
		delete(cfg, "exclude_databases")
	}
	if given("all-databases") && !c.IsSet("database") {
		delete(cfg, "databases")
	}
	if given("socket") && !c.IsSet("host") && !c.IsSet("port") {
		delete(cfg, "host")
		delete(cfg, "port")
	}
	if given("host") && !c.IsSet("socket") {
		delete(cfg, "socket")
	}
}

func flagKey(flag string) string {
	for _, fd := range configFields {
		if fd.flag == flag {
			return fd.key
		}
	}
	return flag
}

// rawConfig reads --config-json or --config-file; nil when neither is given.
func (o *configFlags) rawConfig() (json.RawMessage, error) {
	if o.ConfigJSON != "" && o.ConfigFile != "" {
		return nil, cmdutil.UsageErrorf("give either --config-json or --config-file, not both")
	}
	var b []byte
	switch {
	case o.ConfigJSON != "":
		b = []byte(o.ConfigJSON)
	case o.ConfigFile != "":
		var err error
		if b, err = os.ReadFile(o.ConfigFile); err != nil {
			return nil, fmt.Errorf("read config: %w", err)
		}
	default:
		return nil, nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(b, &obj); err != nil || obj == nil {
		return nil, cmdutil.UsageErrorf("the config must be a JSON object: %v", errOr(err, "got null"))
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return nil, cmdutil.UsageErrorf("the config must be a JSON object: %v", err)
	}
	return buf.Bytes(), nil
}

func errOr(err error, s string) string {
	if err != nil {
		return err.Error()
	}
	return s
}
