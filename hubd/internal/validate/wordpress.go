package validate

import (
	"net/netip"
	"strconv"
	"strings"

	"github.com/xvault/xvault/sdk"
)

const maxDBHostLen = 255

var wordpressConfigKeys = []string{"host", "port", "username", "path", "exclude", "host_key", "db_host",
	"db_credential_id"}

// WordPressConfig decodes and checks the config of a wordpress source (a
// site reached over SSH). It returns the normalized config (port 22).
func WordPressConfig(raw []byte) (*sdk.WordPressConfig, Fields) {
	var c sdk.WordPressConfig
	f, ok := decodeConfig(raw, &c, wordpressConfigKeys, nil)
	if !ok {
		return nil, f
	}
	checkHost(f, c.Host)
	c.Port = checkPort(f, "port", c.Port, defaultSSHPort)
	checkUsername(f, c.Username)
	if c.Path == "" {
		f.Add("path", "is required: the absolute path of the WordPress root")
	} else if p := absPathProblem(c.Path); p != "" {
		f.Add("path", p)
	}
	checkExcludes(f, c.Exclude)
	c.Exclude = nilIfEmpty(c.Exclude)
	checkHostKey(f, "host_key", c.HostKey)
	if c.DBHost != "" {
		if p := dbHostProblem(c.DBHost); p != "" {
			f.Add("db_host", p)
		}
	}
	checkCredentialID(f, "db_credential_id", c.DBCredentialID, false)
	if len(f) > 0 {
		return nil, f
	}
	return &c, nil
}

// dbHostProblem describes what is wrong with a WordPress DB_HOST value, or
// returns "". The forms are WordPress's own (wpdb::parse_db_host): "host",
// "host:port", "localhost:/path/to.sock", "[::1]:3306", "[::1]" and a bare
// IPv6 address ("::1").
func dbHostProblem(s string) string {
	const forms = "must be host, host:port, [ipv6]:port or localhost:/path/to.sock"
	switch {
	case len(s) > maxDBHostLen:
		return "must be at most 255 bytes"
	case hasControl(s) || strings.ContainsAny(s, " \t"):
		return "must not contain spaces or control characters"
	}
	host := s
	if i := strings.Index(s, ":/"); i >= 0 {
		h, sock := s[:i], s[i+1:]
		if p := socketPathProblem(sock); p != "" {
			return "socket path " + p
		}
		if h != "" && h != "localhost" {
			return "a socket path (localhost:/path/to.sock) needs host localhost"
		}
		return ""
	}
	if rest, ok := strings.CutPrefix(host, "["); ok {
		addr, port, ok := strings.Cut(rest, "]")
		if a, err := netip.ParseAddr(addr); !ok || err != nil || !a.Is6() {
			return "must hold an IPv6 address between [ and ]"
		}
		if port == "" {
			return ""
		}
		if port, ok = strings.CutPrefix(port, ":"); !ok || !validPort(port) {
			return forms
		}
		return ""
	}
	if strings.Count(host, ":") > 1 {
		if a, err := netip.ParseAddr(host); err != nil || !a.Is6() {
			return forms
		}
		return ""
	}
	name, port, hasPort := strings.Cut(host, ":")
	sub := Fields{}
	checkHost(sub, name)
	if len(sub) > 0 || (hasPort && !validPort(port)) {
		return forms
	}
	return ""
}

// validPort accepts a decimal port 1-65535.
func validPort(s string) bool {
	if s == "" || strings.TrimLeft(s, "0123456789") != "" {
		return false
	}
	n, err := strconv.Atoi(s)
	return err == nil && n >= 1 && n <= 65535
}
