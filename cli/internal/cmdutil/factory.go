package cmdutil

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/xvault/xvault/cli/internal/output"
	"github.com/xvault/xvault/sdk"
)

// Factory builds what commands need. Tests replace its fields.
type Factory struct {
	IO         *IOStreams
	Getenv     func(string) string
	HTTPClient *http.Client // nil: a default client
	Now        func() time.Time
	Version    string

	// conn is what the last Client call resolved, to explain errors.
	conn *Settings
}

// NewFactory returns a Factory for the real process.
func NewFactory(version string) *Factory {
	return &Factory{IO: System(), Getenv: os.Getenv, Now: time.Now, Version: version}
}

// Settings is how to reach the hub, and where each value came from.
type Settings struct {
	Hub, Token, Tenant string
	HubFrom, TokenFrom string // "--hub", "XV_HUB_URL", "config file …"
	ConfigPath         string
}

// FlagString returns the value of a flag set on the command line, looking
// from the command up to the app, so global flags (-o, --hub, --tenant) work
// both before and after the command name.
// names are the flag's name and its aliases.
func FlagString(c *cli.Context, names ...string) (string, bool) {
	for _, x := range c.Lineage() {
		set := x.LocalFlagNames()
		for _, n := range names {
			if slices.Contains(set, n) {
				return x.String(names[0]), true
			}
		}
	}
	return "", false
}

// Settings resolves hub, token and tenant: flags > environment > config file.
// The config file's token and tenant are used only with the config file's hub,
// so a token never goes to a hub it was not saved for.
func (f *Factory) Settings(c *cli.Context) (*Settings, error) {
	s := &Settings{}
	path, err := ConfigPath(f.Getenv)
	if err != nil {
		return nil, err
	}
	s.ConfigPath = path
	cfg, err := LoadConfig(path)
	if err != nil {
		return nil, err
	}
	pick := func(flag, env, file string) (string, string) {
		if v, ok := FlagString(c, flag); ok && v != "" {
			return v, "--" + flag
		}
		if v := f.Getenv(env); v != "" {
			return v, env
		}
		if file != "" {
			return file, "config file " + path
		}
		return "", ""
	}
	s.Hub, s.HubFrom = pick("hub", "XV_HUB_URL", cfg.Hub)
	s.Hub = strings.TrimRight(s.Hub, "/")
	sameHub := cfg.Hub != "" && strings.TrimRight(cfg.Hub, "/") == s.Hub
	fileToken, fileTenant := "", ""
	if sameHub {
		fileToken, fileTenant = cfg.Token, cfg.Tenant
	}
	s.Token, s.TokenFrom = pick("token", "XV_TOKEN", fileToken)
	s.Tenant, _ = pick("tenant", "XV_TENANT", fileTenant)
	return s, nil
}

// CheckHubURL accepts http(s)://host[:port][/prefix].
func CheckHubURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("invalid hub URL %q: want http(s)://host[:port]", raw)
	}
	return nil
}

// NewClient makes an SDK client for explicit settings.
func (f *Factory) NewClient(hub, token, tenant string) *sdk.Client {
	opts := []sdk.Option{sdk.WithUserAgent("xv/" + f.Version)}
	if f.HTTPClient != nil {
		opts = append(opts, sdk.WithHTTPClient(f.HTTPClient))
	}
	if tenant != "" {
		opts = append(opts, sdk.WithTenant(tenant))
	}
	return sdk.New(hub, token, opts...)
}

// Client returns an SDK client for the resolved settings.
func (f *Factory) Client(c *cli.Context) (*sdk.Client, error) {
	s, err := f.Settings(c)
	if err != nil {
		return nil, err
	}
	if s.Hub == "" {
		return nil, WithHint(errors.New("no hub address"),
			"set XV_HUB_URL (or --hub), or run 'xv login --hub URL --token-stdin'")
	}
	if err := CheckHubURL(s.Hub); err != nil {
		return nil, WithHint(err, "fix %s", s.HubFrom)
	}
	if s.Token == "" {
		return nil, WithHint(errors.New("no API token"),
			"set XV_TOKEN (or --token), or run 'xv login --hub %s --token-stdin'", s.Hub)
	}
	f.conn = s
	return f.NewClient(s.Hub, s.Token, s.Tenant), nil
}

// Printer returns the output printer for the -o/--format flag.
func (f *Factory) Printer(c *cli.Context) (*output.Printer, error) {
	v, _ := FlagString(c, "format", "o")
	if c.Command != nil && hasOutputFormat(c.Command) {
		v = ownFormat(c)
	}
	format, err := output.ParseFormat(v)
	if err != nil {
		return nil, &UsageError{Err: err}
	}
	return &output.Printer{Format: format, Out: f.IO.Out, Now: f.Now}, nil
}

// Explain adds a hint to errors whose cause a user can fix.
func (f *Factory) Explain(err error) error {
	if err == nil || Hint(err) != "" {
		return err
	}
	s := f.conn
	if s == nil {
		return err
	}
	var apiErr *sdk.Error
	if errors.As(err, &apiErr) && strings.Contains(apiErr.Message, "hint:") {
		return err // the hub said what to do already
	}
	switch {
	case errors.Is(err, sdk.ErrUnauthenticated):
		return WithHint(err, "the hub rejected the token from %s (expired or revoked?); run 'xv login' with a valid one", s.TokenFrom)
	case errors.Is(err, sdk.ErrPermissionDenied) && s.Tenant != "":
		return WithHint(err, "tenant %s was named (--tenant/XV_TENANT): a tenant token acts only on its own tenant, "+
			"and role member is read-only", s.Tenant)
	case errors.Is(err, sdk.ErrPermissionDenied):
		return WithHint(err, "role member is read-only, and some commands need a platform-admin token ('xv status' shows yours)")
	case s.Tenant == "" && errors.As(err, &apiErr) && apiErr.Code == sdk.CodeInvalidArgument &&
		(apiErr.Fields["tenant_id"] != "" || strings.Contains(apiErr.Message, "tenant_id")):
		return WithHint(err, "a platform-admin token must name the tenant: --tenant ID or XV_TENANT=ID")
	}
	return err
}

// OutputFormatFlag is the name -o has on a command with its own --format
// flag (xv snapshot restore --format zip).
const OutputFormatFlag = "output-format"

func hasOutputFormat(cmd *cli.Command) bool {
	for _, fl := range cmd.Flags {
		if slices.Contains(fl.Names(), OutputFormatFlag) {
			return true
		}
	}
	return false
}

// ownFormat is -o on such a command, else -o/--format given before its name.
func ownFormat(c *cli.Context) string {
	if set := c.LocalFlagNames(); slices.Contains(set, OutputFormatFlag) || slices.Contains(set, "o") {
		return c.String(OutputFormatFlag)
	}
	for _, x := range c.Lineage()[1:] {
		if set := x.LocalFlagNames(); slices.Contains(set, "format") || slices.Contains(set, "o") {
			return x.String("format")
		}
	}
	return ""
}
