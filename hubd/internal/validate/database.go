package validate

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/xvault/xvault/sdk"
)

const (
	defaultMySQLPort    = 3306
	defaultPostgresPort = 5432
	maxDatabases        = 1000
	maxMySQLUserLen     = 80 // characters (MariaDB's limit; MySQL's is 32)
	maxMySQLDBLen       = 64 // characters
	maxPostgresNameLen  = 63 // bytes (NAMEDATALEN - 1)
	// tunnelHost is where a database reached through SSH listens by
	// default, as seen from the SSH server.
	tunnelHost = "127.0.0.1"
)

var (
	mysqlConfigKeys = []string{"host", "port", "socket", "username", "databases", "all_databases",
		"exclude_databases", "tls", "ssh"}
	postgresConfigKeys = []string{"host", "port", "username", "databases", "all_databases",
		"exclude_databases", "sslmode", "format", "ssh"}
	databaseSSHKeys = []string{"host", "port", "username", "credential_id", "host_key"}
	databaseNested  = map[string][]string{"ssh": databaseSSHKeys}
)

// MySQLConfig decodes and checks the config of a mysql source (MySQL and
// MariaDB). It returns the normalized config: port 3306 unless a socket is
// given, tls preferred, the ssh block's port 22, and host 127.0.0.1 (as
// seen from the SSH server) when an ssh block leaves it out.
func MySQLConfig(raw []byte) (*sdk.MySQLConfig, Fields) {
	var c sdk.MySQLConfig
	f, ok := decodeConfig(raw, &c, mysqlConfigKeys, databaseNested)
	if !ok {
		return nil, f
	}
	c.SSH = checkDatabaseSSH(f, c.SSH)
	checkMySQLEndpoint(f, &c)
	checkDBUser(f, c.Username, mysqlUserProblem)
	c.Databases, c.ExcludeDatabases = checkDatabaseSelection(f, c.Databases, c.AllDatabases, c.ExcludeDatabases,
		mysqlDatabaseProblem, mysqlReserved)
	c.TLS = oneOf(f, "tls", c.TLS, sdk.MySQLTLSPreferred,
		sdk.MySQLTLSPreferred, sdk.MySQLTLSRequired, sdk.MySQLTLSVerifyCA, sdk.MySQLTLSDisabled)
	if len(f) > 0 {
		return nil, f
	}
	return &c, nil
}

// checkMySQLEndpoint checks how the server is reached: a unix socket on
// the agent's host, or host and port (directly or from the SSH server).
func checkMySQLEndpoint(f Fields, c *sdk.MySQLConfig) {
	if c.Socket != "" {
		checkSocketPath(f, "socket", c.Socket)
		switch {
		case c.SSH != nil:
			f.Add("socket", "cannot be combined with ssh: through SSH the server is reached at host and port "+
				"as seen from the SSH server (default 127.0.0.1)")
		case c.Host != "" || c.Port != 0:
			f.Add("socket", "give either host (and port) or socket, not both")
		}
		return
	}
	switch {
	case c.Host == "" && c.SSH != nil:
		c.Host = tunnelHost
	case c.Host == "":
		f.Add("host", "is required (or socket, for a server on the agent's own host)")
	}
	if c.Host != "" {
		checkHost(f, c.Host)
	}
	c.Port = checkPort(f, "port", c.Port, defaultMySQLPort)
}

// PostgresConfig decodes and checks the config of a postgres source. It
// returns the normalized config: port 5432, sslmode prefer, format plain,
// the ssh block's port 22, and host 127.0.0.1 (as seen from the SSH
// server) when an ssh block leaves it out.
func PostgresConfig(raw []byte) (*sdk.PostgresConfig, Fields) {
	var c sdk.PostgresConfig
	f, ok := decodeConfig(raw, &c, postgresConfigKeys, databaseNested)
	if !ok {
		return nil, f
	}
	c.SSH = checkDatabaseSSH(f, c.SSH)
	switch {
	case c.Host == "" && c.SSH != nil:
		c.Host = tunnelHost
	default:
		checkHost(f, c.Host)
	}
	c.Port = checkPort(f, "port", c.Port, defaultPostgresPort)
	checkDBUser(f, c.Username, postgresUserProblem)
	c.Databases, c.ExcludeDatabases = checkDatabaseSelection(f, c.Databases, c.AllDatabases, c.ExcludeDatabases,
		postgresDatabaseProblem, postgresReserved)
	c.SSLMode = oneOf(f, "sslmode", c.SSLMode, "prefer",
		"disable", "allow", "prefer", "require", "verify-ca", "verify-full")
	c.Format = oneOf(f, "format", c.Format, sdk.PostgresFormatPlain, sdk.PostgresFormatPlain, sdk.PostgresFormatCustom)
	if len(f) > 0 {
		return nil, f
	}
	return &c, nil
}

// checkDatabaseSSH checks the ssh block of a database source (nil: none)
// and defaults its port to 22. Problems are keyed "ssh.host" and so on. It
// returns nil when "ssh" was not an object at all (already reported).
func checkDatabaseSSH(f Fields, s *sdk.DatabaseSSH) *sdk.DatabaseSSH {
	if _, bad := f["ssh"]; bad || s == nil {
		return nil
	}
	sub := Fields{}
	checkHost(sub, s.Host)
	s.Port = checkPort(sub, "port", s.Port, defaultSSHPort)
	checkUsername(sub, s.Username)
	checkCredentialID(sub, "credential_id", s.CredentialID, true)
	checkHostKey(sub, "host_key", s.HostKey)
	f.Merge("ssh.", sub)
	return s
}

func checkDBUser(f Fields, u string, problem func(string) string) {
	if u == "" {
		f.Add("username", "is required")
	} else if p := problem(u); p != "" {
		f.Add("username", p)
	}
}

// mysqlUserProblem: a MySQL/MariaDB account name reaches the dump tool as
// one argv value (or one shell-quoted word), so punctuation is fine; only
// control characters and overlong names are refused.
func mysqlUserProblem(u string) string {
	switch {
	case utf8.RuneCountInString(u) > maxMySQLUserLen:
		return fmt.Sprintf("must be at most %d characters", maxMySQLUserLen)
	case hasControl(u):
		return "must not contain control characters"
	}
	return ""
}

func postgresUserProblem(u string) string {
	switch {
	case len(u) > maxPostgresNameLen:
		return fmt.Sprintf("must be at most %d bytes", maxPostgresNameLen)
	case hasControl(u):
		return "must not contain control characters"
	}
	return ""
}

// mysqlSystemSchemas are never dumped (the accounts go to server/grants.sql).
var mysqlSystemSchemas = []string{"information_schema", "performance_schema", "mysql", "sys"}

// mysqlDatabaseProblem follows MySQL's rules for database names (1-64
// characters of the Basic Multilingual Plane, no NUL, no trailing space),
// and refuses control characters and a leading '-' (it would read as an
// option of the dump tool).
func mysqlDatabaseProblem(db string) string {
	switch {
	case db == "":
		return "must not be empty"
	case utf8.RuneCountInString(db) > maxMySQLDBLen:
		return fmt.Sprintf("must be at most %d characters", maxMySQLDBLen)
	case hasControl(db):
		return "must not contain control characters"
	case strings.ContainsFunc(db, func(r rune) bool { return r > 0xFFFF }):
		return "must not contain characters beyond U+FFFF (MySQL identifiers cannot)"
	case strings.HasSuffix(db, " "):
		return "must not end with a space (MySQL names cannot)"
	case strings.HasPrefix(db, "-"):
		return "must not start with '-'"
	}
	return ""
}

func mysqlReserved(db string) string {
	for _, s := range mysqlSystemSchemas {
		if strings.EqualFold(db, s) {
			return "is a system schema, never dumped"
		}
	}
	return ""
}

// postgresDatabaseProblem follows PostgreSQL's rules for names (1-63
// bytes), and refuses control characters, a leading '-', and what libpq
// would read as a connection string instead of a name ('=', a URI).
func postgresDatabaseProblem(db string) string {
	switch {
	case db == "":
		return "must not be empty"
	case len(db) > maxPostgresNameLen:
		return fmt.Sprintf("must be at most %d bytes", maxPostgresNameLen)
	case hasControl(db):
		return "must not contain control characters"
	case strings.HasPrefix(db, "-"):
		return "must not start with '-'"
	case strings.Contains(db, "="), strings.HasPrefix(db, "postgres://"), strings.HasPrefix(db, "postgresql://"):
		return "must not contain '=' or be a URI (libpq would read it as connection settings)"
	}
	return ""
}

func postgresReserved(db string) string {
	if db == "template0" {
		return "is template0, which accepts no connections"
	}
	return ""
}

// checkDatabaseSelection checks which databases to dump: exactly one of
// databases (a list) and all_databases, exclude_databases only with
// all_databases. It returns both lists, empty ones as nil.
func checkDatabaseSelection(f Fields, dbs []string, all bool, exclude []string,
	problem, reserved func(string) string) ([]string, []string) {
	switch {
	case all && len(dbs) > 0:
		f.Add("databases", "give either databases or all_databases, not both")
	case !all && len(dbs) == 0:
		f.Add("databases", "needs at least one database (or set all_databases)")
	}
	if len(exclude) > 0 && !all {
		f.Add("exclude_databases", "only applies with all_databases")
	}
	checkDatabaseList(f, "databases", dbs, func(db string) string {
		if p := problem(db); p != "" {
			return p
		}
		return reserved(db) // excluding one is harmless
	})
	checkDatabaseList(f, "exclude_databases", exclude, problem)
	return nilIfEmpty(dbs), nilIfEmpty(exclude)
}

func checkDatabaseList(f Fields, field string, dbs []string, problem func(string) string) {
	if len(dbs) > maxDatabases {
		f.Add(field, fmt.Sprintf("must list at most %d databases", maxDatabases))
		return
	}
	seen := make(map[string]int, len(dbs))
	for i, db := range dbs {
		key := fmt.Sprintf("%s[%d]", field, i)
		j, dup := seen[db]
		switch p := problem(db); {
		case p != "":
			f.Add(key, p)
		case dup:
			f.Add(key, fmt.Sprintf("repeats %s[%d]", field, j))
		default:
			seen[db] = i
		}
	}
}
