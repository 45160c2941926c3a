package validate

import (
	"fmt"

	"github.com/xvault/xvault/sdk"
)

const (
	defaultFTPPort    = 21
	defaultFTPSPort   = 990 // implicit TLS
	maxFTPUsernameLen = 255
)

var ftpConfigKeys = []string{"host", "port", "username", "paths", "exclude", "tls", "insecure_skip_verify"}

// FTPConfig decodes and checks the config of an ftp source. It returns the
// normalized config: tls defaulted to none, port to 21 (990 with implicit
// TLS).
func FTPConfig(raw []byte) (*sdk.FTPConfig, Fields) {
	var c sdk.FTPConfig
	f, ok := decodeConfig(raw, &c, ftpConfigKeys, nil)
	if !ok {
		return nil, f
	}
	checkHost(f, c.Host)
	c.TLS = oneOf(f, "tls", c.TLS, sdk.FTPTLSNone, sdk.FTPTLSNone, sdk.FTPTLSExplicit, sdk.FTPTLSImplicit)
	def := defaultFTPPort
	if c.TLS == sdk.FTPTLSImplicit {
		def = defaultFTPSPort
	}
	c.Port = checkPort(f, "port", c.Port, def)
	checkFTPUsername(f, c.Username)
	checkPaths(f, c.Paths)
	for i, p := range c.Paths {
		// FTP commands are lines: a CR or LF in a path would start another.
		if hasControl(p) {
			f.Add(fmt.Sprintf("paths[%d]", i), "must not contain control characters (FTP commands are lines of text)")
		}
	}
	checkExcludes(f, c.Exclude)
	c.Exclude = nilIfEmpty(c.Exclude)
	if c.InsecureSkipVerify && c.TLS == sdk.FTPTLSNone {
		f.Add("insecure_skip_verify", "only applies with tls explicit or implicit")
	}
	if len(f) > 0 {
		return nil, f
	}
	return &c, nil
}

// checkFTPUsername accepts any printable user name (hosting panels use
// "user@example.com"), refusing control characters: the name is sent in a
// USER command line.
func checkFTPUsername(f Fields, u string) {
	switch {
	case u == "":
		f.Add("username", "is required")
	case len(u) > maxFTPUsernameLen:
		f.Add("username", fmt.Sprintf("must be at most %d bytes", maxFTPUsernameLen))
	case hasControl(u):
		f.Add("username", "must not contain control characters")
	}
}
