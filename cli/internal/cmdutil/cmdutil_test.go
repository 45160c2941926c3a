package cmdutil

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/sdk"
)

func TestExitCode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  error
		want int
	}{
		{nil, ExitOK},
		{errors.New("boom"), ExitError},
		{UsageErrorf("bad"), ExitUsage},
		{WithHint(UsageErrorf("bad"), "h"), ExitUsage},
		{&sdk.Error{Code: sdk.CodeNotFound, Message: "gone"}, ExitNotFound},
		{fmt.Errorf("get: %w", &sdk.Error{Code: sdk.CodeNotFound}), ExitNotFound},
		{&sdk.Error{Code: sdk.CodeConflict}, ExitError},
		{&JobFailedError{Job: &sdk.Job{ID: "j", Status: sdk.JobFailed}}, ExitJobFailed},
		{fmt.Errorf("list jobs: %w", context.Canceled), ExitInterrupted},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, ExitCode(tt.err), "%v", tt.err)
	}
}

func TestReadSecret(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want, err string }{
		{"pw\n", "pw", ""},
		{"pw", "pw", ""},
		{"pw\r\n", "pw", ""},
		{"pw\n\n", "pw\n", ""}, // only one newline is stripped
		{" spaced pw \n", " spaced pw ", ""},
		{"\n", "", "empty password"},
		{"", "", "empty password"},
	}
	for _, tt := range tests {
		io := &IOStreams{In: strings.NewReader(tt.in), Out: &strings.Builder{}, ErrOut: &strings.Builder{}}
		got, err := ReadSecret(io, "password")
		if tt.err != "" {
			require.ErrorContains(t, err, tt.err)
			continue
		}
		require.NoError(t, err)
		require.Equal(t, tt.want, got)
	}
}

func TestConfigRoundTrip(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	env := map[string]string{"HOME": home}
	path, err := ConfigPath(func(k string) string { return env[k] })
	require.NoError(t, err)
	require.Equal(t, filepath.Join(home, ".config", "xvault", "config.json"), path)
	env["XDG_CONFIG_HOME"] = filepath.Join(home, "xdg")
	path, err = ConfigPath(func(k string) string { return env[k] })
	require.NoError(t, err)
	require.Equal(t, filepath.Join(home, "xdg", "xvault", "config.json"), path)

	cfg, err := LoadConfig(path)
	require.NoError(t, err)
	require.Equal(t, Config{}, cfg)

	want := Config{Hub: "http://h:1", Token: "t", Tenant: "ten"}
	require.NoError(t, SaveConfig(path, want))
	require.NoError(t, SaveConfig(path, want)) // overwrite
	got, err := LoadConfig(path)
	require.NoError(t, err)
	require.Equal(t, want, got)
	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	entries, _ := os.ReadDir(filepath.Dir(path))
	require.Len(t, entries, 1, "no temp files left behind")

	require.NoError(t, os.WriteFile(path, []byte("{"), 0o600))
	_, err = LoadConfig(path)
	require.ErrorContains(t, err, "xv login")
}

func TestCheckHubURL(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"http://127.0.0.1:8080", "https://hub.example.com/xvault"} {
		require.NoError(t, CheckHubURL(ok))
	}
	for _, bad := range []string{"127.0.0.1:8080", "ftp://x", "http://", "::"} {
		require.Error(t, CheckHubURL(bad), bad)
	}
}
