package sftp

import (
	"bytes"
	"context"
	"io"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/agentd/internal/connector"
)

func TestCheckElement(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"a", "a b", "fïlé", "日本語", ".hidden", "...", "a\\b", "\n"} {
		require.NoError(t, checkElement(ok), "%q", ok)
	}
	for _, bad := range []string{"", ".", "..", "a/b", "/", "/a", "a/", "a\x00b", "\x00"} {
		err := checkElement(bad)
		require.Error(t, err, "%q", bad)
	}
	require.ErrorContains(t, checkElement("a\x00b"), `"a\x00b"`)
}

func FuzzCheckElement(f *testing.F) {
	for _, s := range []string{"a", "", ".", "..", "a/b", "a\x00", "日本", "..."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if checkElement(name) != nil {
			return
		}
		// Accepted: joining it under a directory stays directly inside it.
		require.NotContains(t, name, "/")
		require.NotContains(t, name, "\x00")
		joined := "var/www/" + name
		require.Equal(t, "var/www", joined[:strings.LastIndexByte(joined, '/')])
		require.NotEqual(t, "..", name)
		require.NotEqual(t, ".", name)
	})
}

func validCfg() (Config, Credential, Options) {
	return Config{Host: "h", Username: "u", Paths: []string{"/srv/"}, HostKey: "SHA256:abc"},
		Credential{Password: "pw"}, Options{}
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	cfg, cred, opts := validCfg()
	c, err := New(cfg, cred, opts)
	require.NoError(t, err)
	require.Equal(t, 22, c.cfg.Port)
	require.Equal(t, []string{"/srv"}, c.cfg.Paths)
	require.Equal(t, defaultFilesInFlight, c.opts.FilesInFlight)

	opts.BufferBudget = 1 // too small for one buffer: raised, or the walk would wait forever
	c, err = New(cfg, cred, opts)
	require.NoError(t, err)
	require.GreaterOrEqual(t, c.opts.BufferBudget, int64(classSize(int(c.opts.SmallFileMax)+1)))

	for name, mutate := range map[string]func(*Config, *Credential, *Options){
		"host":       func(c *Config, _ *Credential, _ *Options) { c.Host = "" },
		"port":       func(c *Config, _ *Credential, _ *Options) { c.Port = 70000 },
		"user":       func(c *Config, _ *Credential, _ *Options) { c.Username = "" },
		"no paths":   func(c *Config, _ *Credential, _ *Options) { c.Paths = nil },
		"relative":   func(c *Config, _ *Credential, _ *Options) { c.Paths = []string{"srv"} },
		"bad glob":   func(c *Config, _ *Credential, _ *Options) { c.Exclude = []string{"["} },
		"no cred":    func(_ *Config, c *Credential, _ *Options) { c.Password = "" },
		"bad key":    func(_ *Config, c *Credential, _ *Options) { c.PrivateKey = []byte("nope") },
		"host key":   func(c *Config, _ *Credential, _ *Options) { c.HostKey = "MD5:aa" },
		"no tofu cb": func(c *Config, _ *Credential, _ *Options) { c.HostKey = "" },
	} {
		cfg, cred, opts := validCfg()
		mutate(&cfg, &cred, &opts)
		_, err := New(cfg, cred, opts)
		require.ErrorIs(t, err, connector.ErrPermanent, name)
	}
}

func TestNormaliseRoots(t *testing.T) {
	t.Parallel()
	require.Equal(t, []string{"/var/www", "/var/www-old"},
		normaliseRoots([]string{"/var/www/html", "/var/www-old", "/var/www", "/var/www"}))
	require.Equal(t, []string{"/"}, normaliseRoots([]string{"/etc", "/"}))
}

func TestExcluded(t *testing.T) {
	t.Parallel()
	w := &walker{exclude: []string{"*.log", "/var/www/cache", "/srv/*/tmp"}}
	for p, want := range map[string]bool{
		"/var/log/syslog.log": true, "/var/www/cache": true, "/var/www/cache2": false,
		"/srv/a/tmp": true, "/srv/a/b/tmp": false, "/x/log": false,
	} {
		require.Equal(t, want, w.excluded(p), p)
	}
}

func TestCopyExact(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		src, want, warn string
	}{
		{"0123456789", "0123456789", ""},
		{"0123", "0123\x00\x00\x00\x00\x00\x00", "shrank"},
		{"0123456789ABCDEF", "0123456789", "grew"},
	} {
		pr, pw := io.Pipe()
		res := make(chan error, 1)
		var warn error
		go func() {
			var err error
			warn, err = copyExact(pw, bytes.NewReader([]byte(tc.src)), 10)
			res <- err
		}()
		got, err := io.ReadAll(pr)
		require.NoError(t, err)
		require.NoError(t, <-res)
		require.Equal(t, tc.want, string(got))
		if tc.warn == "" {
			require.NoError(t, warn)
		} else {
			require.ErrorContains(t, warn, tc.warn)
		}
	}
}

func TestBudget(t *testing.T) {
	t.Parallel()
	b := newBudget(10)
	require.NoError(t, b.acquire(t.Context(), 8))
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, b.acquire(ctx, 8), context.DeadlineExceeded)
	go b.release(8)
	require.NoError(t, b.acquire(t.Context(), 10))
}

func TestBufPool(t *testing.T) {
	t.Parallel()
	var p bufPool
	for _, n := range []int{1, 4096, 4097, 1<<20 + 1} {
		b := p.get(n)
		require.Len(t, b, n)
		require.Equal(t, classSize(n), cap(b))
		require.GreaterOrEqual(t, cap(b), n)
		p.put(b)
	}
}

func TestPermMode(t *testing.T) {
	t.Parallel()
	require.Equal(t, fs.FileMode(0o755)|fs.ModeSetuid, permMode(0o104755))
	require.Equal(t, fs.FileMode(0o777)|fs.ModeSticky, permMode(0o041777))
	require.Equal(t, fs.FileMode(0o2750)&fs.ModePerm|fs.ModeSetgid, permMode(0o2750))
}
