package validate

import (
	"path"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/sdk"
)

func TestLocalConfig(t *testing.T) {
	t.Parallel()
	runConfigCases(t, LocalConfig, []configCase{
		{name: "minimal", config: `{"paths":["/srv/www"]}`, want: `{"paths":["/srv/www"]}`},
		{name: "excludes", config: `{"paths":["/srv","/etc"],"exclude":["*.log","cache/*"]}`},
		{name: "empty exclude dropped", config: `{"paths":["/srv"],"exclude":[]}`, want: `{"paths":["/srv"]}`},
		{name: "no paths", config: `{}`, fields: []string{"paths"}},
		{name: "empty paths", config: `{"paths":[]}`, fields: []string{"paths"}},
		{name: "relative", config: `{"paths":["/ok","srv"]}`, fields: []string{"paths[1]"}},
		{name: "unclean", config: `{"paths":["/srv/"]}`, fields: []string{"paths[0]"}},
		{name: "dot dot", config: `{"paths":["/srv/../etc"]}`, fields: []string{"paths[0]"}},
		{name: "bad glob", config: `{"paths":["/srv"],"exclude":["["]}`, fields: []string{"exclude[0]"}},
		{name: "too many", config: `{"paths":[` + strings.Repeat(`"/a",`, 100) + `"/b"]}`, fields: []string{"paths"}},
		{name: "unknown key", config: `{"paths":["/srv"],"allow_root":true}`, fields: []string{"allow_root"}},
		{name: "everything", config: `{"paths":["x","/y/"],"Exclude":[],"exclude":[""]}`,
			fields: []string{"paths[0]", "paths[1]", "exclude[0]", "Exclude"}},
	})
}

func FuzzLocalConfig(f *testing.F) {
	for _, s := range []string{`{"paths":["/a"]}`, `{"paths":["/a","b"],"exclude":["*"]}`, `{}`, `[]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		fuzzConfig(t, LocalConfig, raw, func(c *sdk.LocalConfig) {
			require.NotEmpty(t, c.Paths)
			for _, p := range c.Paths {
				require.True(t, strings.HasPrefix(p, "/") && path.Clean(p) == p, p)
			}
		})
	})
}
