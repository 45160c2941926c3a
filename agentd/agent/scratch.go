package agent

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/xvault/xvault/sdk"
)

// ScratchServer is a database server of the agent's operator that verify
// jobs load dumps into, each into a throwaway database dropped afterwards.
// It needs an account that may create and drop databases. Password is read
// from a 0600 file (ReadScratchPassword), never from argv.
type ScratchServer struct {
	URL      string // mysql://USER@HOST:PORT/ or postgres://USER@HOST:PORT/DB?sslmode=…
	Password string
}

// ReadScratchPassword reads a scratch server's password file: it must not
// be readable by group or others. Only the first line counts.
func ReadScratchPassword(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("scratch password file: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("scratch password file %s is readable by others (mode %v); chmod 600 it", path, fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("scratch password file: %w", err)
	}
	defer clear(b)
	line, _, _ := strings.Cut(string(b), "\n")
	return strings.TrimSuffix(line, "\r"), nil
}

// parseScratchURL checks what both schemes share: no password in the URL,
// a user, and a host with an optional port.
func parseScratchURL(raw string, schemes ...string) (*url.URL, int, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, 0, errors.New("not a URL") // url's error would echo the URL
	}
	ok := false
	for _, s := range schemes {
		ok = ok || u.Scheme == s
	}
	switch {
	case !ok:
		return nil, 0, fmt.Errorf("scheme must be %s", strings.Join(schemes, " or "))
	case u.User == nil || u.User.Username() == "":
		return nil, 0, errors.New("a user is required (SCHEME://USER@HOST:PORT/)")
	case hasPassword(u):
		return nil, 0, errors.New("the URL must not hold a password: put it in the --scratch-…-password-file (mode 0600)")
	case u.Hostname() == "" && u.Query().Get("socket") == "":
		return nil, 0, errors.New("a host is required")
	}
	port := 0
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return nil, 0, fmt.Errorf("port %q out of range 1-65535", p)
		}
		port = n
	}
	return u, port, nil
}

func hasPassword(u *url.URL) bool { _, set := u.User.Password(); return set }

// scratchMySQL turns --scratch-mysql into the config of a mysql source:
// mysql://USER@HOST:PORT/, or mysql://USER@localhost/?socket=/run/mysqld/mysqld.sock.
func scratchMySQL(s *ScratchServer) (sdk.MySQLConfig, error) {
	u, port, err := parseScratchURL(s.URL, "mysql", "mariadb")
	if err != nil {
		return sdk.MySQLConfig{}, fmt.Errorf("--scratch-mysql: %w", err)
	}
	if p := strings.Trim(u.Path, "/"); p != "" {
		return sdk.MySQLConfig{}, fmt.Errorf("--scratch-mysql: the path must be empty (throwaway databases are created), not %q", p)
	}
	cfg := sdk.MySQLConfig{Host: u.Hostname(), Port: port, Username: u.User.Username(), TLS: u.Query().Get("tls"),
		Socket: u.Query().Get("socket")}
	if cfg.Socket != "" {
		cfg.Host = ""
	}
	return cfg, nil
}

// scratchPostgres turns --scratch-postgres into the config of a postgres
// source: postgres://USER@HOST:PORT/DB?sslmode=…; DB (default postgres)
// is the maintenance database the agent connects to.
func scratchPostgres(s *ScratchServer) (sdk.PostgresConfig, error) {
	u, port, err := parseScratchURL(s.URL, "postgres", "postgresql")
	if err != nil {
		return sdk.PostgresConfig{}, fmt.Errorf("--scratch-postgres: %w", err)
	}
	db := strings.Trim(u.Path, "/")
	if db == "" {
		db = "postgres"
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); ip != nil && ip.To4() == nil {
		host = ip.String()
	}
	return sdk.PostgresConfig{Host: host, Port: port, Username: u.User.Username(), Databases: []string{db},
		SSLMode: u.Query().Get("sslmode")}, nil
}

// Scratch builds a scratch server's settings from its flags: url "" = none
// (then passwordFile must be empty too); passwordFile "" = no password.
func Scratch(url, passwordFile string) (*ScratchServer, error) {
	if url == "" {
		if passwordFile != "" {
			return nil, errors.New("a scratch password file was given without its --scratch-mysql/--scratch-postgres URL")
		}
		return nil, nil
	}
	s := &ScratchServer{URL: url}
	if passwordFile != "" {
		pw, err := ReadScratchPassword(passwordFile)
		if err != nil {
			return nil, err
		}
		s.Password = pw
	}
	return s, nil
}
