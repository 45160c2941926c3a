package monitor

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/urfave/cli/v2"

	"github.com/xvault/xvault/cli/internal/cmdutil"
	"github.com/xvault/xvault/sdk"
)

func TestCommandNeedsATerminal(t *testing.T) {
	var out, errOut bytes.Buffer
	env := map[string]string{"XV_HUB_URL": "http://127.0.0.1:1", "XV_TOKEN": "tok-secret", "XDG_CONFIG_HOME": t.TempDir()}
	f := &cmdutil.Factory{IO: &cmdutil.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut},
		Getenv: func(k string) string { return env[k] }, Now: func() time.Time { return t0 }, Version: "test"}
	app := &cli.App{Name: "xv", Commands: []*cli.Command{NewCmd(f)}, Writer: &out, ErrWriter: &errOut,
		ExitErrHandler: func(*cli.Context, error) {}}
	err := app.Run([]string{"xv", "monitor", "--readonly"})
	require.ErrorContains(t, err, "needs an interactive terminal")
	require.Equal(t, cmdutil.ExitUsage, cmdutil.ExitCode(err))
	require.Contains(t, cmdutil.Hint(err), "xv job list -o json")
	require.NotContains(t, out.String()+errOut.String(), "tok-secret")
}

func TestConfigForWiresTheClient(t *testing.T) {
	c := sdk.New("http://127.0.0.1:1", "tok")
	cfg := configFor(c, "ten")
	require.NotNil(t, cfg.Events)
	require.NotNil(t, cfg.Drain)
	require.Equal(t, "ten", cfg.Tenant)
	require.Equal(t, "http://127.0.0.1:1", cfg.HubURL)
	require.Equal(t, "t2", cfg.ForTenant("t2").(*sdk.Client).TenantID())
}
