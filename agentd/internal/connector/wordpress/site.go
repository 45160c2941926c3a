package wordpress

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"path"
	"strconv"

	pkgsftp "github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"

	"github.com/xvault/xvault/agentd/internal/connector"
)

// site is what the first SSH connection learned about the site.
type site struct {
	hostKey    string // pinned for the job's later connections
	sshServer  string // the SSH server's version banner
	configPath string
	version    string // "" when version.php could not be read
	multisite  bool
	// multisiteUnknown: MULTISITE is not a literal; the tables decide.
	multisiteUnknown bool
	customTables     []string // CUSTOM_USER_TABLE, CUSTOM_USER_META_TABLE
	db               dbSettings
	route            dbRoute
	dbServer         string // VERSION() as the metadata connection saw it
	tables           []tableInfo
	others           int // tables of the database without the prefix
	warnings         []string
}

func (s *site) tableNames() []string {
	names := make([]string, len(s.tables))
	for i, t := range s.tables {
		names[i] = t.name
	}
	return names
}

// dbSettings are the database settings, wp-config.php's or the source's.
type dbSettings struct {
	name, user, password, prefix, charset string
	host                                  DBHost
}

// dbRoute is where the SSH server connects to reach mysqld.
type dbRoute struct {
	host   string // TCP host as seen from the SSH server
	port   int
	socket string // or a unix socket on the SSH server
}

func (r dbRoute) network() (network, addr string) {
	if r.socket != "" {
		return "unix", r.socket
	}
	return "tcp", net.JoinHostPort(r.host, strconv.Itoa(r.port))
}

func (r dbRoute) String() string {
	if r.socket != "" {
		return "unix socket " + r.socket + " on the SSH server"
	}
	_, addr := r.network()
	return addr + " from the SSH server"
}

// defaultSockets are where mysqld's socket usually is; mysqli's default
// socket (DB_HOST "localhost") is one of them on nearly every system.
var defaultSockets = []string{
	"/run/mysqld/mysqld.sock",     // Debian, Ubuntu
	"/var/run/mysqld/mysqld.sock", // older Debian, Ubuntu
	"/var/lib/mysql/mysql.sock",   // RHEL, Fedora, cPanel
	"/tmp/mysql.sock",             // the compiled-in default, macOS, FreeBSD
}

// wpConfigName is the configuration file of a WordPress root.
const wpConfigName = "wp-config.php"

// inspect connects, reads the site's configuration and version, and lists
// the prefixed tables through the SSH connection, which it then closes.
func (c *Connector) inspect(ctx context.Context) (*site, error) {
	client, s, err := c.connect(ctx)
	if err != nil {
		return nil, err
	}
	defer client.Close()
	stop := context.AfterFunc(ctx, func() { _ = client.Close() })
	defer stop()
	sc, err := pkgsftp.NewClient(client)
	if err != nil {
		return nil, fmt.Errorf("start sftp on %s: %w (hint: is the sftp subsystem enabled in sshd_config?)", c.cfg.Host, err)
	}
	defer sc.Close()
	if err := c.readSite(sc, s); err != nil {
		return nil, err
	}
	if err := c.chooseRoute(ctx, client, sc, s); err != nil {
		return nil, err
	}
	return s, nil
}

// connect opens the first SSH connection and records the host key it trusted.
func (c *Connector) connect(ctx context.Context) (*ssh.Client, *site, error) {
	pin := &keyPin{record: c.env.OnHostKey}
	d, err := c.dialer(c.hostKey, pin.onHostKey)
	if err != nil {
		return nil, nil, err
	}
	client, err := d.Dial(ctx)
	if err != nil {
		return nil, nil, err
	}
	s := &site{hostKey: c.hostKey, sshServer: string(client.ServerVersion())}
	if s.hostKey == "" {
		s.hostKey = pin.get()
	}
	return client, s, nil
}

// readSite reads wp-config.php, version.php and checks for .htaccess.
func (c *Connector) readSite(sc *pkgsftp.Client, s *site) error {
	cfgPath, src, err := findConfig(sc, c.root)
	if err != nil {
		return err
	}
	s.configPath = cfgPath
	cfg, err := ParseWPConfig(src)
	if err != nil {
		return fmt.Errorf("%s: %w: %w", cfgPath, err, connector.ErrPermanent)
	}
	s.warnings = append(s.warnings, cfg.Warnings...)
	if s.db, err = c.settings(cfg); err != nil {
		return fmt.Errorf("%s: %w", cfgPath, err)
	}
	s.multisite, s.multisiteUnknown, s.customTables = cfg.Multisite, !cfg.MultisiteKnown, cfg.CustomTables
	if s.multisiteUnknown {
		s.warnings = append(s.warnings, "wp-config.php "+cfg.MultisiteReason+": multisite is decided by the presence of the "+s.db.prefix+"blogs table")
	}
	vpath := path.Join(c.root, "wp-includes", "version.php")
	if b, err := readSmall(sc, vpath); err != nil {
		s.warnings = append(s.warnings, fmt.Sprintf("WordPress version unknown: %v (hint: path should be the WordPress root)", err))
	} else if s.version, err = ParseVersionPHP(b); err != nil {
		s.warnings = append(s.warnings, fmt.Sprintf("WordPress version unknown: %s: %v", vpath, err))
	}
	ht := path.Join(c.root, ".htaccess")
	if _, err := sc.Stat(ht); errors.Is(err, fs.ErrNotExist) {
		s.warnings = append(s.warnings, fmt.Sprintf("no .htaccess in %s: normal on nginx, but on Apache pretty permalinks need one", c.root))
	} else if err != nil {
		s.warnings = append(s.warnings, fmt.Sprintf("%s: %v", ht, err))
	}
	return nil
}

// findConfig reads wp-config.php from root, or from the directory above
// when that directory is not itself a WordPress root (WordPress's rule in
// wp-load.php).
func findConfig(sc *pkgsftp.Client, root string) (string, []byte, error) {
	p := path.Join(root, wpConfigName)
	b, err := readSmall(sc, p)
	if !errors.Is(err, fs.ErrNotExist) {
		return p, b, err
	}
	parent := path.Dir(root)
	if parent != root {
		_, err := sc.Stat(path.Join(parent, "wp-settings.php"))
		if errors.Is(err, fs.ErrNotExist) {
			pp := path.Join(parent, wpConfigName)
			b, err := readSmall(sc, pp)
			if !errors.Is(err, fs.ErrNotExist) {
				return pp, b, err
			}
		}
	}
	return "", nil, fmt.Errorf("no %s in %s or in the directory above it: the database cannot be found "+
		"(hint: the source's path must be the WordPress root, the directory holding wp-settings.php): %w",
		wpConfigName, root, connector.ErrPermanent)
}

// readSmall reads a regular file of at most maxConfigSize bytes.
func readSmall(sc *pkgsftp.Client, p string) ([]byte, error) {
	f, err := sc.Open(p)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat %s: %w", p, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file: %w", p, connector.ErrPermanent)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxConfigSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	if len(b) > maxConfigSize {
		return nil, fmt.Errorf("%s is larger than %d bytes: %w", p, maxConfigSize, connector.ErrPermanent)
	}
	return b, nil
}

const literalHint = "hint: xVault reads wp-config.php without running it; write the value as a quoted string"

// settings takes the database settings from wp-config.php, with the
// source's overrides.
func (c *Connector) settings(cfg *WPConfig) (dbSettings, error) {
	var db dbSettings
	var err error
	permanent := func(err error) error { return fmt.Errorf("%w: %w", err, connector.ErrPermanent) }
	if db.name, err = cfg.DBName.Get(literalHint); err != nil {
		return db, permanent(err)
	}
	if db.user, err = cfg.DBUser.Get(literalHint); err != nil {
		return db, permanent(err)
	}
	if c.dbPassword != nil {
		db.password = *c.dbPassword
	} else if db.password, err = cfg.DBPassword.Get("hint: set the source's db_credential_id to a password credential to override it"); err != nil {
		return db, permanent(err)
	}
	if c.dbHost != nil {
		db.host = *c.dbHost
	} else {
		v, err := cfg.DBHost.Get("hint: set the source's db_host to override it")
		if err != nil {
			return db, permanent(err)
		}
		if db.host, err = ParseDBHost(v); err != nil {
			return db, permanent(fmt.Errorf("wp-config.php line %d: %w (hint: set the source's db_host to override it)", cfg.DBHost.Line, err))
		}
	}
	if db.prefix, err = cfg.TablePrefix.Get(literalHint); err != nil {
		return db, permanent(err)
	}
	if cfg.DBCharset.Literal {
		db.charset = cfg.DBCharset.Value
	}
	return db, nil
}
