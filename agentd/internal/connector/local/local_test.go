package local

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/agentd/internal/connector"
	"github.com/xvault/xvault/agentd/internal/connector/connectortest"
	"github.com/xvault/xvault/sdk"
)

// tree makes root/site with files, a dotfile, a symlink inside and one
// pointing outside, and root/outside; it returns the resolved root.
func tree(t *testing.T) string {
	t.Helper()
	root, err := filepath.EvalSymlinks(t.TempDir())
	require.NoError(t, err)
	for name, body := range map[string]string{
		"site/index.php": "<?php echo 1;", "site/.htaccess": "Deny from all", "site/a/b/deep.txt": "deep",
		"site/cache/junk": "x", "outside/secret.txt": "secret",
	} {
		p := filepath.Join(root, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(body), 0o640))
	}
	require.NoError(t, os.Symlink("index.php", filepath.Join(root, "site/link")))
	require.NoError(t, os.Symlink(filepath.Join(root, "outside"), filepath.Join(root, "site/escape")))
	require.NoError(t, os.Symlink(filepath.Join(root, "outside"), filepath.Join(root, "escape-root")))
	return root
}

func pull(t *testing.T, cfg sdk.LocalConfig, env connector.Env) (*connectortest.Recorder, error) {
	t.Helper()
	c, err := New(cfg, env)
	require.NoError(t, err)
	rec := &connectortest.Recorder{}
	err = c.Pull(context.Background(), rec)
	require.NoError(t, rec.Err)
	return rec, err
}

func TestPullUnderAllowedRoot(t *testing.T) {
	t.Parallel()
	root := tree(t)
	site := filepath.Join(root, "site")
	rec, err := pull(t, sdk.LocalConfig{Paths: []string{site}, Exclude: []string{"cache"}},
		connector.Env{LocalRoots: []string{site}})
	require.NoError(t, err)
	require.NotNil(t, rec.Descriptor)
	require.Equal(t, "local", rec.Descriptor.Connector)
	name := strings.TrimPrefix(site, "/")
	require.Equal(t, "<?php echo 1;", string(rec.Bodies[name+"/index.php"]))
	require.Equal(t, "Deny from all", string(rec.Bodies[name+"/.htaccess"]), "dotfiles are kept")
	require.Equal(t, "deep", string(rec.Bodies[name+"/a/b/deep.txt"]))
	_, cached := rec.Bodies[name+"/cache/junk"]
	require.False(t, cached, "excluded directory")
	links := map[string]string{}
	for _, e := range rec.Entries {
		if e.Type == connector.TypeSymlink {
			links[e.Name] = e.LinkTarget
		}
	}
	require.Equal(t, "index.php", links[name+"/link"])
	// A symlink inside the tree that points outside is archived as a link, never followed.
	require.Equal(t, filepath.Join(root, "outside"), links[name+"/escape"])
	_, leaked := rec.Bodies[name+"/escape/secret.txt"]
	require.False(t, leaked)
	// Parents come first, as directories.
	require.Equal(t, connector.TypeDir, rec.Entries[0].Type)
}

func TestRefusals(t *testing.T) {
	t.Parallel()
	root := tree(t)
	site := filepath.Join(root, "site")
	cases := []struct {
		name string
		path string
		env  connector.Env
		want string
	}{
		{"no roots allowed", site, connector.Env{}, "allows no local roots"},
		{"outside the root", filepath.Join(root, "outside"), connector.Env{LocalRoots: []string{site}}, "outside the agent's allowed roots"},
		{"symlink escaping the root", filepath.Join(site, "escape"), connector.Env{LocalRoots: []string{site}}, "outside the agent's allowed roots"},
		{"root path that is a symlink out", filepath.Join(root, "escape-root"), connector.Env{LocalRoots: []string{site}}, "outside the agent's allowed roots"},
		{"agent's own dir inside", root, connector.Env{LocalRoots: []string{root}, ForbiddenRoots: []string{filepath.Join(root, "outside")}}, "overlaps the agent's own directory"},
		{"inside the agent's own dir", site, connector.Env{LocalRoots: []string{root}, ForbiddenRoots: []string{root}}, "overlaps the agent's own directory"},
		{"missing", filepath.Join(site, "nope"), connector.Env{LocalRoots: []string{site}}, "no such file"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec, err := pull(t, sdk.LocalConfig{Paths: []string{tc.path}}, tc.env)
			require.ErrorContains(t, err, tc.want)
			require.Empty(t, rec.Entries, "nothing archived")
			require.Nil(t, rec.Descriptor)
			c, _ := New(sdk.LocalConfig{Paths: []string{tc.path}}, tc.env)
			rep, err := c.Test(context.Background())
			require.NoError(t, err)
			require.False(t, rep.OK)
		})
	}
}

func TestExactReaderPadsAndCuts(t *testing.T) {
	t.Parallel()
	x := &exactReader{r: strings.NewReader("abc"), left: 5}
	b, err := io.ReadAll(x)
	require.NoError(t, err)
	require.Equal(t, "abc\x00\x00", string(b))
	require.EqualValues(t, 2, x.padded)
}
