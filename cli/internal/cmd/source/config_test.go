package source

import (
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/urfave/cli/v2"
)

// runFlags parses args with the config flags and applies the ssh edits to cfg.
func runFlags(t *testing.T, cfg map[string]any, args ...string) {
	t.Helper()
	o := &configFlags{}
	app := &cli.App{Flags: o.flags(), Action: func(c *cli.Context) error {
		o.applySSH(c, cfg)
		return nil
	}}
	require.NoError(t, app.Run(append([]string{"xv"}, args...)))
}

func TestTransferAndCompressionFlags(t *testing.T) {
	t.Parallel()
	cfg := map[string]any{"host": "h", "transfer": "sftp", "port": 22}
	runFlags(t, cfg, "--transfer", "exec", "--compression", "none")
	require.Equal(t, "exec", cfg["transfer"])
	require.Equal(t, "none", cfg["compression"])

	runFlags(t, cfg, "--transfer", "")
	require.NotContains(t, cfg, "transfer", "an empty value goes back to the default")
	require.Equal(t, "none", cfg["compression"], "unset flags leave the field alone")
	require.Contains(t, sshFlagNames, "transfer")
	require.Contains(t, sshFlagNames, "compression")
}
