package s3config

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestFields(t *testing.T) {
	t.Parallel()
	require.Nil(t, Fields("https://s3.example.com", "my-bucket", "eu-west-1", "a/b"))
	require.Nil(t, Fields("http://127.0.0.1:7070/", "abc", "", ""))
	f := Fields("s3.example.com", "AB", "eu west", "/x")
	require.Len(t, f, 4)
	require.Contains(t, f["endpoint"], "must be a URL")
	require.Contains(t, f["bucket"], "3 to 63")
	require.Contains(t, f["region"], "letters, digits")
	require.Contains(t, f["prefix"], "relative")
	f = Fields("https://key:hunter2secret@s3.example.com", "b..b", "", "a//b")
	require.Contains(t, f["endpoint"], "must not carry a user")
	require.NotContains(t, f["endpoint"], "hunter2secret")
	require.Contains(t, f["bucket"], `".."`)
	require.Contains(t, f["prefix"], "empty segment")
	require.Contains(t, Fields("https://h?x", "abc", "", "")["endpoint"], "no path, query")
	require.Contains(t, Fields("https://h"+strings.Repeat("a", 3000), "abc", "", "")["endpoint"], "longer than")
}

func TestKeys(t *testing.T) {
	t.Parallel()
	require.NoError(t, CheckAccessKeyID("AKIA123"))
	require.Error(t, CheckAccessKeyID(""))
	require.Error(t, CheckAccessKeyID("has space"))
	require.NoError(t, CheckSecretAccessKey("abc/DEF+ghi"))
	err := CheckSecretAccessKey("secret\nwith newline")
	require.Error(t, err)
	require.NotContains(t, err.Error(), "secret\nwith")
}

// FuzzFields: the checks never panic, a secret in the endpoint's user
// info is never echoed, and an accepted prefix normalises to itself.
func FuzzFields(f *testing.F) {
	f.Add("https://s3.example.com", "bucket", "eu-west-1", "pre/fix")
	f.Add("http://user:pa55word-x@127.0.0.1:9000/", "a.b-c", "", "../x")
	f.Add("https://[::1]:443", "xn--a", "r", "a//b/")
	f.Fuzz(func(t *testing.T, endpoint, bucket, region, prefix string) {
		fields := Fields(endpoint, bucket, region, prefix)
		if msg, bad := fields["endpoint"]; bad && strings.Contains(endpoint, "pa55word-x") {
			require.NotContains(t, msg, "pa55word-x")
		}
		if _, bad := fields["prefix"]; !bad {
			p, err := NormalPrefix(prefix)
			require.NoError(t, err)
			again, err := NormalPrefix(p)
			require.NoError(t, err)
			require.Equal(t, p, again)
		}
	})
}
