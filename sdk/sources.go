package sdk

// Source configs: the JSON "config" of each source type. Field names are
// the API contract (docs/api.md); the hub validates each type strictly and
// the agent decodes the same types.

// LocalConfig is the config of local sources: directories on the agent's
// own host, allowed only under the agent's --allow-local-root.
type LocalConfig struct {
	Paths   []string `json:"paths"`
	Exclude []string `json:"exclude,omitempty"`
}

// FTP TLS modes (FTPConfig.TLS).
const (
	FTPTLSNone     = "none"
	FTPTLSExplicit = "explicit" // AUTH TLS on the control port
	FTPTLSImplicit = "implicit" // TLS from the first byte (port 990)
)

// FTPConfig is the config of ftp sources; the credential is a password.
type FTPConfig struct {
	Host     string   `json:"host"`
	Port     int      `json:"port,omitempty"` // default 21 (990 with implicit TLS)
	Username string   `json:"username"`
	Paths    []string `json:"paths"`
	Exclude  []string `json:"exclude,omitempty"`
	TLS      string   `json:"tls,omitempty"` // none (default), explicit, implicit
	// InsecureSkipVerify accepts any certificate (logged as a warning on every run).
	InsecureSkipVerify bool `json:"insecure_skip_verify,omitempty"`
}

// DatabaseSSH is the "ssh" block of mysql and postgres sources: reach the
// database through this SSH server (its port forwarded over the connection).
type DatabaseSSH struct {
	Host         string `json:"host"`
	Port         int    `json:"port,omitempty"` // default 22
	Username     string `json:"username"`
	CredentialID string `json:"credential_id"`
	HostKey      string `json:"host_key,omitempty"` // pinned "SHA256:…"; empty = trust on first use
}

// MySQL TLS modes (MySQLConfig.TLS).
const (
	MySQLTLSPreferred = "preferred" // default: TLS when the server offers it
	MySQLTLSRequired  = "required"
	MySQLTLSVerifyCA  = "verify_ca"
	MySQLTLSDisabled  = "disabled"
)

// MySQLConfig is the config of mysql sources (MySQL and MariaDB); the
// credential is the database password.
type MySQLConfig struct {
	Host             string       `json:"host,omitempty"`
	Port             int          `json:"port,omitempty"`   // default 3306
	Socket           string       `json:"socket,omitempty"` // unix socket instead of host/port
	Username         string       `json:"username"`
	Databases        []string     `json:"databases,omitempty"`
	AllDatabases     bool         `json:"all_databases,omitempty"`
	ExcludeDatabases []string     `json:"exclude_databases,omitempty"`
	TLS              string       `json:"tls,omitempty"`
	SSH              *DatabaseSSH `json:"ssh,omitempty"`
}

// PostgreSQL dump formats (PostgresConfig.Format).
const (
	PostgresFormatPlain  = "plain"  // databases/<db>.sql, loaded with psql
	PostgresFormatCustom = "custom" // databases/<db>.dump, loaded with pg_restore
)

// PostgresConfig is the config of postgres sources; the credential is the
// database password.
type PostgresConfig struct {
	Host             string       `json:"host"`
	Port             int          `json:"port,omitempty"` // default 5432
	Username         string       `json:"username"`
	Databases        []string     `json:"databases,omitempty"`
	AllDatabases     bool         `json:"all_databases,omitempty"`
	ExcludeDatabases []string     `json:"exclude_databases,omitempty"`
	SSLMode          string       `json:"sslmode,omitempty"` // libpq sslmode; default prefer
	Format           string       `json:"format,omitempty"`  // plain (default) or custom
	SSH              *DatabaseSSH `json:"ssh,omitempty"`
}

// WordPressConfig is the config of wordpress sources, reached over SSH
// (the credential is the SSH one); the database settings come from
// wp-config.php, DBHost overriding DB_HOST.
type WordPressConfig struct {
	Host     string   `json:"host"`
	Port     int      `json:"port,omitempty"`
	Username string   `json:"username"`
	Path     string   `json:"path"` // the WordPress root (or the directory below wp-config.php)
	Exclude  []string `json:"exclude,omitempty"`
	HostKey  string   `json:"host_key,omitempty"`
	DBHost   string   `json:"db_host,omitempty"`
	// DBCredentialID overrides DB_PASSWORD with a password credential (for
	// a wp-config.php that builds it with getenv()).
	DBCredentialID string `json:"db_credential_id,omitempty"`
}

// TestReport is the result of a test_connection job (xv source test): what
// the agent found, changing nothing on the source.
type TestReport struct {
	// OK is true when a backup of the source would start: every check passed.
	OK       bool        `json:"ok"`
	Server   string      `json:"server,omitempty"` // e.g. "MariaDB 10.11.19", "OpenSSH_9.2"
	Tools    []string    `json:"tools,omitempty"`  // e.g. "mysqldump 10.19"
	Items    []TestItem  `json:"items,omitempty"`  // first paths, or the databases
	Checks   []TestCheck `json:"checks"`
	Warnings []string    `json:"warnings,omitempty"`
}

// TestItem is one path or database the source would back up.
type TestItem struct {
	Name      string `json:"name"`
	Kind      string `json:"kind"` // file, dir, symlink, database
	SizeBytes int64  `json:"size_bytes"`
}

// TestCheck is one thing checked, e.g. "connect", "authenticate",
// "privilege SELECT on shop", "pg_dump version".
type TestCheck struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail,omitempty"`
}
