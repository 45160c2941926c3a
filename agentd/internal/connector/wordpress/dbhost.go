package wordpress

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// DBHost is DB_HOST split the way WordPress splits it (wpdb::parse_db_host).
type DBHost struct {
	Host   string // "" or "localhost" means the server's default socket to mysqli
	Port   int    // 0: the default, 3306
	Socket string // "localhost:/run/mysqld/mysqld.sock" → "/run/mysqld/mysqld.sock"
	IPv6   bool
}

var (
	ipv6HostRE = regexp.MustCompile(`^(?:\[)?([0-9a-fA-F:]+)(?:\]:([0-9]+))?`)
	ipv4HostRE = regexp.MustCompile(`^([^:/]*)(?::([0-9]+))?`)
	hostNameRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.-]{0,252})$`)
)

// ParseDBHost splits a DB_HOST value: "host", "host:port",
// "localhost:/path/to.sock" (or "host:port:/path"), "[::1]:3306", "[::1]"
// and "::1". Like WordPress, the socket is peeled off at the first ":/",
// a value with two colons or more is IPv6, and anything after what the
// patterns match is ignored (WordPress ignores it too); but a host name
// that is not a plain DNS name or IP address is refused, since it reaches
// the SSH server's dialer.
func ParseDBHost(s string) (DBHost, error) {
	var h DBHost
	host := s
	if i := strings.Index(host, ":/"); i >= 0 {
		h.Socket, host = host[i+1:], host[:i]
		if strings.ContainsRune(h.Socket, 0) || len(h.Socket) > 1024 {
			return DBHost{}, fmt.Errorf("DB_HOST socket path %q is not valid", truncate(h.Socket, 60))
		}
	}
	re := ipv4HostRE
	if strings.Count(host, ":") > 1 {
		re, h.IPv6 = ipv6HostRE, true
	}
	m := re.FindStringSubmatch(host)
	if m == nil {
		return DBHost{}, fmt.Errorf("DB_HOST %q is not a host, host:port or host:/socket", truncate(s, 60))
	}
	h.Host = m[1]
	if m[2] != "" {
		p, err := strconv.Atoi(m[2])
		if err != nil || p > 65535 { // 0 means the default, as in WordPress
			return DBHost{}, fmt.Errorf("DB_HOST %q: port out of range 1-65535", truncate(s, 60))
		}
		h.Port = p
	}
	if h.Host != "" && !h.IPv6 && !hostNameRE.MatchString(h.Host) {
		return DBHost{}, fmt.Errorf("DB_HOST %q: %q is not a host name or IP address", truncate(s, 60), truncate(h.Host, 60))
	}
	return h, nil
}

// IsLocal reports whether mysqli would use a unix socket: the host is empty
// or "localhost" (and TCP otherwise, a socket path then being ignored).
func (h DBHost) IsLocal() bool { return h.Host == "" || strings.EqualFold(h.Host, "localhost") }
