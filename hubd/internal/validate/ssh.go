package validate

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/netip"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/xvault/xvault/sdk"
)

const (
	defaultSSHPort = 22
	maxPaths       = 100
	maxExcludes    = 500
)

// SSHConfig decodes and checks the config of an ssh or sftp source. It
// returns the normalized config (port defaulted to 22) and every problem,
// keyed relative to the config ("port", "paths[1]").
func SSHConfig(raw []byte) (*sdk.SSHConfig, Fields) {
	var c sdk.SSHConfig
	if f := decodeStrict(raw, &c); len(f) > 0 {
		return nil, f
	}
	f := Fields{}
	exactKeys(f, raw, sshConfigKeys)
	if len(c.Exclude) == 0 {
		c.Exclude = nil
	}
	checkHost(f, c.Host)
	if c.Port == 0 {
		c.Port = defaultSSHPort
	} else if c.Port < 1 || c.Port > 65535 {
		f.Add("port", "must be 1-65535")
	}
	checkUsername(f, c.Username)
	checkPaths(f, c.Paths)
	checkExcludes(f, c.Exclude)
	checkHostKey(f, "host_key", c.HostKey)
	switch c.Transfer {
	case "", sdk.TransferAuto, sdk.TransferExec, sdk.TransferSFTP:
	default:
		f.Add("transfer", "must be auto, exec or sftp (empty means auto)")
	}
	switch c.Compression {
	case "", sdk.CompressionFastest, sdk.CompressionDefault, sdk.CompressionBetter, sdk.CompressionNone:
	default:
		f.Add("compression", "must be fastest, default, better or none (empty means default)")
	}
	checkFullEvery(f, c.FullEvery)
	if len(f) > 0 {
		return nil, f
	}
	return &c, nil
}

// sshConfigKeys are the JSON names of sdk.SSHConfig's fields.
var sshConfigKeys = []string{"host", "port", "username", "paths", "exclude", "host_key", "transfer", "compression",
	"incremental", "full_every"}

// Bounds of full_every (docs/incremental.md section 4).
const (
	minFullEvery = time.Hour
	maxFullEvery = 365 * 24 * time.Hour
)

// checkFullEvery: full_every is a period such as "7d" or "12h", 1h to 365d.
func checkFullEvery(f Fields, s string) {
	if s == "" {
		return
	}
	d, err := ParseDuration(s)
	switch {
	case err != nil:
		f.Add("full_every", err.Error())
	case d < minFullEvery || d > maxFullEvery:
		f.Add("full_every", "must be between 1h and 365d")
	}
}

// exactKeys rejects keys that encoding/json would match case-insensitively
// ("Host", "usernAme"): a config is stored as given, so it must use the
// exact names that every reader expects.
func exactKeys(f Fields, raw []byte, known []string) {
	exactKeysAt(f, "", raw, known)
}

// exactKeysAt is exactKeys for an object found at prefix ("ssh.").
func exactKeysAt(f Fields, prefix string, raw []byte, known []string) {
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) != nil {
		return
	}
	for k := range obj {
		if !slices.Contains(known, k) {
			f.Add(prefix+k, "is not a known field (names are lower case: "+strings.Join(known, ", ")+")")
		}
	}
}

func checkHost(f Fields, host string) {
	if host == "" {
		f.Add("host", "is required")
		return
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return
	}
	if !validHostname(host) {
		f.Add("host", "must be a hostname or IP address (no spaces, slashes, '@' or port)")
	}
}

// validHostname accepts RFC 1123 host names (letters, digits, '-', '_'
// and dots; labels of 1-63 characters, 253 in all).
func validHostname(h string) bool {
	if len(h) > 253 {
		return false
	}
	for label := range strings.SplitSeq(strings.TrimSuffix(h, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			ok := r == '-' || r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')
			if !ok {
				return false
			}
		}
	}
	return true
}

func checkUsername(f Fields, u string) {
	switch {
	case u == "":
		f.Add("username", "is required")
	case len(u) > 64 || strings.ContainsAny(u, " \t\r\n/@:\x00"):
		f.Add("username", "must be at most 64 characters without spaces, '/', '@' or ':'")
	}
}

func checkPaths(f Fields, paths []string) {
	if len(paths) == 0 {
		f.Add("paths", "needs at least one absolute path")
		return
	}
	if len(paths) > maxPaths {
		f.Add("paths", fmt.Sprintf("must list at most %d paths", maxPaths))
		return
	}
	for i, p := range paths {
		if problem := absPathProblem(p); problem != "" {
			f.Add(fmt.Sprintf("paths[%d]", i), problem)
		}
	}
}

// absPathProblem describes what is wrong with a remote path, or "".
func absPathProblem(p string) string {
	switch {
	case p == "":
		return "must not be empty"
	case strings.ContainsRune(p, 0):
		return "must not contain NUL bytes"
	case !strings.HasPrefix(p, "/"):
		return "must be an absolute path (start with /)"
	case containsDotDot(p):
		return "must not contain '..'"
	case path.Clean(p) != p:
		return fmt.Sprintf("must be a clean path (%s)", path.Clean(p))
	}
	return ""
}

func containsDotDot(p string) bool {
	for part := range strings.SplitSeq(p, "/") {
		if part == ".." {
			return true
		}
	}
	return false
}

func checkExcludes(f Fields, globs []string) {
	if len(globs) > maxExcludes {
		f.Add("exclude", fmt.Sprintf("must list at most %d patterns", maxExcludes))
		return
	}
	for i, g := range globs {
		key := fmt.Sprintf("exclude[%d]", i)
		switch {
		case g == "":
			f.Add(key, "must not be empty")
		case strings.ContainsRune(g, 0):
			f.Add(key, "must not contain NUL bytes")
		default:
			if _, err := path.Match(g, ""); err != nil {
				f.Add(key, "is not a valid glob pattern: "+err.Error())
			}
		}
	}
}

// HostKeyFingerprint reports whether s looks like an OpenSSH SHA-256 host
// key fingerprint: "SHA256:" and 43 characters of unpadded base64.
func HostKeyFingerprint(s string) bool {
	b64, ok := strings.CutPrefix(s, "SHA256:")
	if !ok || len(b64) != 43 {
		return false
	}
	b, err := base64.RawStdEncoding.Strict().DecodeString(b64)
	return err == nil && len(b) == 32
}
