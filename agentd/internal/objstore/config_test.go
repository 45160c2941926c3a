package objstore

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/agentd/internal/storage"
)

func goodConfig() Config {
	return Config{Endpoint: "https://s3.example.com", Bucket: "my-bucket.v2", Region: "eu-west-1",
		AccessKeyID: "AKIAEXAMPLE", SecretAccessKey: "s3cr3t/Key+example"}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		edit func(*Config)
		want string // "" = valid
	}{
		{"good", func(*Config) {}, ""},
		{"http explicit", func(c *Config) { c.Endpoint = "http://127.0.0.1:7070" }, ""},
		{"trailing slash", func(c *Config) { c.Endpoint = "https://s3.example.com/" }, ""},
		{"ipv6", func(c *Config) { c.Endpoint = "http://[::1]:9000" }, ""},
		{"no scheme", func(c *Config) { c.Endpoint = "s3.example.com" }, "must be a URL"},
		{"ftp", func(c *Config) { c.Endpoint = "ftp://s3.example.com" }, "must be a URL"},
		{"empty endpoint", func(c *Config) { c.Endpoint = "" }, "endpoint is empty"},
		{"user info", func(c *Config) { c.Endpoint = "https://AKIA:hunter2pass@s3.example.com" }, "must not carry a user"},
		{"path", func(c *Config) { c.Endpoint = "https://s3.example.com/bucket" }, "no path"},
		{"query", func(c *Config) { c.Endpoint = "https://s3.example.com?x=1" }, "no path, query"},
		{"bucket short", func(c *Config) { c.Bucket = "ab" }, "3 to 63"},
		{"bucket long", func(c *Config) { c.Bucket = strings.Repeat("a", 64) }, "3 to 63"},
		{"bucket upper", func(c *Config) { c.Bucket = "MyBucket" }, "lowercase"},
		{"bucket underscore", func(c *Config) { c.Bucket = "my_bucket" }, "lowercase"},
		{"bucket dash end", func(c *Config) { c.Bucket = "bucket-" }, "start and end"},
		{"bucket dots", func(c *Config) { c.Bucket = "a..b" }, `".."`},
		{"bucket ip", func(c *Config) { c.Bucket = "192.168.1.1" }, "IP address"},
		{"bucket xn", func(c *Config) { c.Bucket = "xn--bucket" }, "reserved"},
		{"bucket alias", func(c *Config) { c.Bucket = "bucket-s3alias" }, "reserved"},
		{"prefix ok", func(c *Config) { c.Prefix = "team-a/xvault_1/" }, ""},
		{"prefix abs", func(c *Config) { c.Prefix = "/abs" }, "relative"},
		{"prefix dotdot", func(c *Config) { c.Prefix = "a/../b" }, `".."`},
		{"prefix double slash", func(c *Config) { c.Prefix = "a//b" }, "empty segment"},
		{"prefix space", func(c *Config) { c.Prefix = "a b" }, "may hold only"},
		{"prefix only slash", func(c *Config) { c.Prefix = "/" }, "relative"},
		{"region bad", func(c *Config) { c.Region = "eu west" }, "region"},
		{"no access key", func(c *Config) { c.AccessKeyID = "" }, "access key id"},
		{"no secret", func(c *Config) { c.SecretAccessKey = "" }, "secret access key"},
		{"secret with newline", func(c *Config) { c.SecretAccessKey = "abc\ndef" }, "secret access key"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := goodConfig()
			tc.edit(&c)
			err := c.Validate()
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, ErrInvalidConfig)
			require.ErrorIs(t, err, ErrPermanent)
			require.Contains(t, err.Error(), tc.want)
			if len(c.SecretAccessKey) > 3 {
				require.NotContains(t, err.Error(), c.SecretAccessKey)
			}
		})
	}
}

func TestNormalPrefix(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"": "", "a": "a/", "a/": "a/", "a/b.c/": "a/b.c/"} {
		got, err := normalPrefix(in)
		require.NoError(t, err)
		require.Equal(t, want, got)
	}
}

func TestKeys(t *testing.T) {
	t.Parallel()
	c := goodConfig()
	c.Prefix = "backups"
	s, err := New(c, Tuning{})
	require.NoError(t, err)
	ids := storage.SnapshotIDs{TenantID: "t1", SourceID: "s1", SnapshotID: "snap_1"}
	for _, name := range SnapshotFiles {
		key, err := s.SnapshotKey(ids, name)
		require.NoError(t, err)
		require.Equal(t, "backups/tenants/t1/sources/s1/snapshots/snap_1/"+name, key)
		require.NoError(t, s.checkKey(key))
	}
	_, err = s.SnapshotKey(ids, "../etc")
	require.ErrorIs(t, err, ErrInvalidKey)
	_, err = s.SnapshotKey(storage.SnapshotIDs{TenantID: "../x", SourceID: "s", SnapshotID: "n"}, "meta.json")
	require.ErrorIs(t, err, storage.ErrInvalidID)
	tp, err := s.TenantPrefix("t1")
	require.NoError(t, err)
	require.Equal(t, "backups/tenants/t1/", tp)

	for _, bad := range []string{"other/key", "backups/", "backups/a/../b", "backups/a//b", "backups/dir/", "backups/a b"} {
		require.ErrorIs(t, s.checkKey(bad), ErrInvalidKey, bad)
	}
	require.NoError(t, s.checkPrefix("backups/"))
	require.NoError(t, s.checkPrefix("backups/tenants/"))
}

// FuzzConfig: Validate never panics, never echoes the secret, and what it
// accepts builds a Store whose keys stay below the prefix.
func FuzzConfig(f *testing.F) {
	f.Add("https://s3.example.com", "bucket", "pre/fix", "AKIA", "secret-key")
	f.Add("http://user:secret-key@127.0.0.1:9000/", "a.b-c", "", "k", "secret-key")
	f.Add("https://[::1]:443", "xn--a", "../..", "k", "pw")
	f.Fuzz(func(t *testing.T, endpoint, bucket, prefix, access, secret string) {
		c := Config{Endpoint: endpoint, Bucket: bucket, Prefix: prefix, AccessKeyID: access, SecretAccessKey: secret}
		err := c.Validate()
		if err != nil {
			if !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("error does not match ErrInvalidConfig: %v", err)
			}
			if len(secret) >= 6 && strings.Contains(err.Error(), secret) {
				t.Fatalf("error shows the secret: %v", err)
			}
			return
		}
		s, err := New(c, Tuning{})
		if err != nil {
			if len(secret) >= 6 && strings.Contains(err.Error(), secret) {
				t.Fatalf("error shows the secret: %v", err)
			}
			return
		}
		p := s.Prefix()
		if p != "" {
			for _, seg := range strings.Split(strings.TrimSuffix(p, "/"), "/") {
				if seg == "" || seg == "." || seg == ".." || !strings.HasSuffix(p, "/") {
					t.Fatalf("bad normalised prefix %q", p)
				}
			}
		}
		if again, err := normalPrefix(p); err != nil || again != p {
			t.Fatalf("prefix %q does not normalise to itself: %q %v", p, again, err)
		}
	})
}

// FuzzCheckKey: an accepted key is below the prefix and has no empty, "."
// or ".." segment.
func FuzzCheckKey(f *testing.F) {
	f.Add("p/tenants/t/sources/s/snapshots/n/manifest.json")
	f.Add("p/../x")
	f.Add("p//x")
	f.Fuzz(func(t *testing.T, key string) {
		s := &Store{prefix: "p/"}
		if s.checkKey(key) != nil {
			return
		}
		if !strings.HasPrefix(key, "p/") || len(key) > maxKeyLen {
			t.Fatalf("accepted %q", key)
		}
		for _, seg := range strings.Split(strings.TrimPrefix(key, "p/"), "/") {
			if seg == "" || seg == "." || seg == ".." {
				t.Fatalf("accepted %q with segment %q", key, seg)
			}
		}
	})
}
