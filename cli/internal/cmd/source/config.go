package source

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/xvault/xvault/cli/internal/cmdutil"
)

// configFlags are the flags that describe a source's config.
type configFlags struct {
	Host, User, HostKey    string
	Transfer, Compression  string
	Port                   int
	Paths, Excludes        cli.StringSlice
	ConfigJSON, ConfigFile string
}

func (o *configFlags) flags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "host", Usage: "ssh/sftp: server `HOST` name or address", Destination: &o.Host},
		&cli.IntFlag{Name: "port", Value: 22, Usage: "ssh/sftp: server `PORT`", Destination: &o.Port},
		&cli.StringFlag{Name: "user", Usage: "ssh/sftp: login `USER`", Destination: &o.User},
		&cli.StringSliceFlag{Name: "path", Usage: "ssh/sftp: absolute `PATH` to back up (repeat for more)", Destination: &o.Paths},
		&cli.StringSliceFlag{Name: "exclude", Usage: "ssh/sftp: skip files matching `GLOB` (repeat for more)", Destination: &o.Excludes},
		&cli.StringFlag{Name: "host-key", Usage: "ssh/sftp: pin the server's host key `SHA256:…` (default: trust on first use)", Destination: &o.HostKey},
		&cli.StringFlag{Name: "transfer", Usage: "ssh/sftp: how to pull, `MODE` auto (remote tar where allowed, else SFTP), exec or sftp (default auto)", Destination: &o.Transfer},
		&cli.StringFlag{Name: "compression", Usage: "ssh/sftp: `LEVEL` fastest, default, better or none (default default)", Destination: &o.Compression},
		&cli.StringFlag{Name: "config-json", Usage: "the whole config as a `JSON` object (any type)", Destination: &o.ConfigJSON},
		&cli.PathFlag{Name: "config-file", Usage: "read the whole config from JSON `FILE` (any type)", Destination: &o.ConfigFile},
	}
}

// sshFlagNames are the flags that edit an ssh/sftp config field by field.
var sshFlagNames = []string{"host", "port", "user", "path", "exclude", "host-key", "transfer", "compression"}

func setFlags(c *cli.Context, names ...string) []string {
	var set []string
	for _, n := range names {
		if c.IsSet(n) {
			set = append(set, "--"+n)
		}
	}
	return set
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

// applySSH writes the set ssh/sftp flags into a config object, keeping any
// field this xv does not know.
func (o *configFlags) applySSH(c *cli.Context, cfg map[string]any) {
	if c.IsSet("host") {
		cfg["host"] = o.Host
	}
	if c.IsSet("port") || cfg["port"] == nil {
		cfg["port"] = o.Port
	}
	if c.IsSet("user") {
		cfg["username"] = o.User
	}
	if c.IsSet("path") {
		cfg["paths"] = o.Paths.Value()
	}
	if c.IsSet("exclude") {
		cfg["exclude"] = o.Excludes.Value()
	}
	setOrDelete(c, cfg, "transfer", "transfer", o.Transfer)
	setOrDelete(c, cfg, "compression", "compression", o.Compression)
	if c.IsSet("host-key") {
		if o.HostKey == "" {
			delete(cfg, "host_key")
		} else {
			cfg["host_key"] = o.HostKey
		}
	}
}

// missingSSH lists the flags an ssh/sftp source cannot do without.
func missingSSH(c *cli.Context) error {
	var missing []string
	for _, n := range []string{"host", "user", "path"} {
		if !c.IsSet(n) {
			missing = append(missing, "--"+n)
		}
	}
	if len(missing) > 0 {
		return cmdutil.UsageErrorf("an ssh/sftp source needs %s", strings.Join(missing, ", "))
	}
	return nil
}

// setOrDelete writes a set string flag into cfg[key]; an empty value removes
// the key, so the hub's default applies again.
func setOrDelete(c *cli.Context, cfg map[string]any, flag, key, value string) {
	switch {
	case !c.IsSet(flag):
	case value == "":
		delete(cfg, key)
	default:
		cfg[key] = value
	}
}
