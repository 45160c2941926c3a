package sftp

import (
	"errors"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/agentd/internal/connector"
	"github.com/xvault/xvault/internal/testutil/sshd"
)

// modeSink is a fakeSink that records the transfer the connector used.
type modeSink struct {
	*fakeSink
	mode string
}

func (s *modeSink) TransferMode(m string) { s.mode = m }

// pullMode pulls paths from s with the given transfer and exclude patterns.
func pullMode(t *testing.T, s *sshd.Server, mode string, exclude []string, paths ...string) (*modeSink, error) {
	t.Helper()
	c := keyConnector(t, s, paths...)
	c.cfg.Transfer = mode
	c.cfg.Exclude = exclude
	sink := &modeSink{fakeSink: newFakeSink()}
	err := c.Pull(t.Context(), sink)
	sink.check(t)
	return sink, err
}

// TestExecMatchesSFTP: the awkward tree pulled over exec gives the same
// entries, in the same order, with the same contents, modes, mtimes, owners
// and link targets as over SFTP; auto picks exec on a normal account.
func TestExecMatchesSFTP(t *testing.T) {
	t.Parallel()
	s := sshd.Start(t, sshd.Options{})
	root := filepath.Join(t.TempDir(), "tree")
	buildTree(t, root, 300, 3<<20)
	other := filepath.Join(t.TempDir(), "single file.txt")
	require.NoError(t, os.WriteFile(other, []byte("one"), 0o600))
	exclude := []string{"*.log", filepath.Join(root, "cache"), "l3"}

	viaSFTP, err := pullMode(t, s, TransferSFTP, exclude, root, other)
	require.NoError(t, err)
	require.Equal(t, TransferSFTP, viaSFTP.mode)
	viaExec, err := pullMode(t, s, TransferExec, exclude, root, other)
	require.NoError(t, err)
	require.Equal(t, TransferExec, viaExec.mode)
	auto, err := pullMode(t, s, TransferAuto, exclude, root, other)
	require.NoError(t, err)
	require.Equal(t, TransferExec, auto.mode)

	require.Greater(t, len(viaSFTP.entries), 300)
	requireSameEntries(t, viaSFTP.fakeSink, viaExec.fakeSink, root)
	requireSameEntries(t, viaSFTP.fakeSink, auto.fakeSink, root)
	require.Equal(t, viaSFTP.progress, viaExec.progress)
	fifo := filepath.Join(root, "fifo")
	require.ErrorContains(t, viaExec.warns[fifo], "named pipe")
	require.Len(t, viaExec.warns, 1)
}

// requireSameEntries compares two pulls of root, entry by entry, ignoring
// the mtimes of the parents of root (other tests touch /tmp meanwhile).
func requireSameEntries(t *testing.T, want, got *fakeSink, root string) {
	t.Helper()
	parents := strings.Count(root, "/") - 1
	w := withoutParentTimes(slices.Clone(want.entries), parents)
	g := withoutParentTimes(slices.Clone(got.entries), parents)
	require.Equal(t, len(w), len(g), "entry count")
	for i := range w {
		require.Equal(t, w[i], g[i], "entry %d", i)
	}
}

// TestAutoFallsBackOnSFTPOnlyAccount: ForceCommand internal-sftp → auto
// uses SFTP and completes; exec forced fails permanently with a hint.
func TestAutoFallsBackOnSFTPOnlyAccount(t *testing.T) {
	t.Parallel()
	s := sshd.Start(t, sshd.Options{Config: []string{"Match User " + currentUser(t), "    ForceCommand internal-sftp"}})
	root := t.TempDir()
	buildTree(t, root, 10, 0)

	auto, err := pullMode(t, s, TransferAuto, nil, root)
	require.NoError(t, err)
	require.Equal(t, TransferSFTP, auto.mode)
	requireSameEntries(t, &fakeSink{entries: expectTree(t, root, nil)}, auto.fakeSink, root)

	_, err = pullMode(t, s, TransferExec, nil, root)
	require.Error(t, err)
	require.True(t, errors.Is(err, connector.ErrPermanent), err)
	require.ErrorContains(t, err, "transfer exec")
	require.ErrorContains(t, err, "ForceCommand internal-sftp")
}

func currentUser(t *testing.T) string {
	t.Helper()
	u, err := user.Current()
	require.NoError(t, err)
	return u.Username
}

// TestExecHostilePaths: paths and exclude patterns full of shell syntax and
// option look-alikes are archived as over SFTP, and no command runs.
func TestExecHostilePaths(t *testing.T) {
	t.Parallel()
	s := sshd.Start(t, sshd.Options{})
	base := t.TempDir()
	marker := filepath.Join(base, "marker")
	home, err := os.UserHomeDir()
	require.NoError(t, err)
	relMarker := "xv-marker-" + filepath.Base(base) // created in $HOME if an option ran
	t.Cleanup(func() { _ = os.Remove(filepath.Join(home, relMarker)) })
	names := []string{
		"a b", "it's 'single' \"double\"", "$(touch " + marker + ")", "`touch " + marker + "`",
		"x; touch " + marker + ";", "new\nline", "-rf", "--checkpoint=1",
		"--checkpoint-action=exec=touch " + relMarker, "$HOME & | > < * ? [x] \\ !",
	}
	var roots []string
	for _, n := range names {
		dir := filepath.Join(base, n)
		require.NoError(t, os.MkdirAll(dir, 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "f "+filepath.Base(n)), []byte(n), 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "ex'cl $(u)"), []byte("excluded"), 0o644))
		roots = append(roots, dir)
	}
	exclude := []string{"ex'cl $(u)", "$(touch " + marker + ")x", "`touch " + marker + "`y", "'; touch " + marker + "; '",
		"--checkpoint-action=exec=touch " + relMarker + "*.none", "-x", "new\nline-nomatch", "/" + strings.Repeat("*", 3) + "/`id`"}

	viaSFTP, err := pullMode(t, s, TransferSFTP, exclude, roots...)
	require.NoError(t, err)
	viaExec, err := pullMode(t, s, TransferExec, exclude, roots...)
	require.NoError(t, err)
	require.Empty(t, viaExec.warns)
	requireSameEntries(t, viaSFTP.fakeSink, viaExec.fakeSink, base)
	files := 0
	for _, e := range viaExec.entries {
		require.NotContains(t, e.Name, "ex'cl")
		if e.Type == connector.TypeFile {
			files++
		}
	}
	require.GreaterOrEqual(t, files, len(names), "%q", viaExec.names())
	require.NoFileExists(t, marker)
	require.NoFileExists(t, filepath.Join(home, relMarker))
}
