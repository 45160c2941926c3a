package ftp

import (
	"bytes"
	"io"
	"io/fs"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/agentd/internal/connector"
	"github.com/xvault/xvault/sdk"
	"github.com/xvault/xvault/sdk/archive"
)

var now = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

func list(lines ...string) []byte { return []byte(strings.Join(lines, "\r\n") + "\r\n") }

func TestParseListVsftpd(t *testing.T) {
	t.Parallel()
	l, err := parseListing(list(
		"drwxr-xr-x    3 0        0            4096 Mar 01 19:14 .",
		"drwxr-xr-x    3 0        0            4096 Mar 01 19:14 ..",
		"-rw-r--r--    1 33       33             17 Mar 01 19:14 .htaccess",
		"-rw-r--r--    1 0        0               2 Dec 31 23:59 two  spaces",
		"-rw-r--r--    1 0        0               2 Jan 02  2019  leading space",
		"lrwxrwxrwx    1 0        0              15 Mar 01 19:14 link -> arrow -> target -> arrow",
		"lrwxrwxrwx    1 0        0               3 Mar 01 19:14 nl -> a",
		"b",
		"-rwsr-sr-t    1 0        0               1 Mar 01 19:14 modes",
		"drwxrwxrwT    2 0        0            4096 Mar 01 19:14 sticky dir",
		"prw-r--r--    1 0        0               0 Mar 01 19:14 fifo",
		"-rw-r--r--    1 0        0               2 Mar 01 19:14 new",
		"line",
	), false, now)
	require.NoError(t, err)
	require.True(t, l.dots)
	want := []listEntry{
		{name: " leading space", kind: kindFile, mode: 0o644, size: 2, mtime: time.Date(2019, 1, 2, 0, 0, 0, 0, time.UTC)},
		{name: ".htaccess", kind: kindFile, mode: 0o644, size: 17, mtime: time.Date(2026, 3, 1, 19, 14, 0, 0, time.UTC), uid: 33, gid: 33},
		{name: "fifo", kind: kindOther, other: "named pipe", mode: 0o644, mtime: time.Date(2026, 3, 1, 19, 14, 0, 0, time.UTC)},
		{name: "link -> arrow", kind: kindSymlink, mode: 0o777, target: "target -> arrow", mtime: time.Date(2026, 3, 1, 19, 14, 0, 0, time.UTC)},
		{name: "modes", kind: kindFile, mode: 0o755 | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky, size: 1, mtime: time.Date(2026, 3, 1, 19, 14, 0, 0, time.UTC)},
		{name: "new\nline", kind: kindFile, mode: 0o644, size: 2, mtime: time.Date(2026, 3, 1, 19, 14, 0, 0, time.UTC)},
		{name: "nl", kind: kindSymlink, mode: 0o777, target: "a\nb", mtime: time.Date(2026, 3, 1, 19, 14, 0, 0, time.UTC)},
		{name: "sticky dir", kind: kindDir, mode: 0o776 | fs.ModeSticky, mtime: time.Date(2026, 3, 1, 19, 14, 0, 0, time.UTC)},
		// "Dec 31 23:59" is in the future this year, so it is last year's.
		{name: "two  spaces", kind: kindFile, mode: 0o644, size: 2, mtime: time.Date(2025, 12, 31, 23, 59, 0, 0, time.UTC)},
	}
	require.Equal(t, want, l.entries)
}

func TestParseListOtherServers(t *testing.T) {
	t.Parallel()
	l, err := parseListing(list(
		"total 12",
		"-rw-r--r--+ 1 www-data www-data 5 Mar  1  2024 acl.txt",  // ProFTPD with an ACL marker, names for ids
		"-rw-r--r--   1 owner      1234 Mar  1 10:00 nogroup.txt", // no group column
		"03-01-24  10:05AM       <DIR>          Some Folder",      // IIS
		"03-01-24  01:30PM                 1234 report 2024.xlsx", // IIS
	), false, now)
	require.NoError(t, err)
	require.Equal(t, []listEntry{
		{name: "Some Folder", kind: kindDir, mode: 0o755, mtime: time.Date(2024, 3, 1, 10, 5, 0, 0, time.UTC)},
		{name: "acl.txt", kind: kindFile, mode: 0o644, size: 5, mtime: time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)},
		{name: "nogroup.txt", kind: kindFile, mode: 0o644, size: 1234, mtime: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)},
		{name: "report 2024.xlsx", kind: kindFile, mode: 0o644, size: 1234, mtime: time.Date(2024, 3, 1, 13, 30, 0, 0, time.UTC)},
	}, l.entries)
	require.False(t, l.dots)
}

func TestParseMLSD(t *testing.T) {
	t.Parallel()
	l, err := parseListing(list(
		"type=cdir;modify=20260301191400;UNIX.mode=0755; /www",
		"type=pdir;modify=20260301191400; ..",
		"type=file;size=17;modify=20260301191401.123;UNIX.mode=0640;UNIX.uid=33;UNIX.gid=34; .htaccess",
		"type=dir;modify=20200913122640;UNIX.mode=01777; tmp dir",
		"type=OS.unix=slink:/target with spaces;modify=20260301191400; link",
		"Type=OS.unix=chr-13/29;Modify=20260301191400; tty",
		"type=file;size=0;modify=20260301191400; a;b c",
	), true, now)
	require.NoError(t, err)
	require.True(t, l.dots)
	require.Equal(t, []listEntry{
		{name: ".htaccess", kind: kindFile, mode: 0o640, size: 17, precise: true, uid: 33, gid: 34,
			mtime: time.Date(2026, 3, 1, 19, 14, 1, 123e6, time.UTC)},
		{name: "a;b c", kind: kindFile, mode: 0o644, precise: true, mtime: time.Date(2026, 3, 1, 19, 14, 0, 0, time.UTC)},
		{name: "link", kind: kindSymlink, mode: 0o644, precise: true, target: "/target with spaces", mtime: time.Date(2026, 3, 1, 19, 14, 0, 0, time.UTC)},
		{name: "tmp dir", kind: kindDir, mode: 0o777 | fs.ModeSticky, precise: true, mtime: time.Date(2020, 9, 13, 12, 26, 40, 0, time.UTC)},
		{name: "tty", kind: kindOther, other: "type OS.unix=chr-13/29", mode: 0o644, precise: true, mtime: time.Date(2026, 3, 1, 19, 14, 0, 0, time.UTC)},
	}, l.entries)
}

// TestParseHostileListings: names that would leave their directory, lines
// no parser knows, and duplicates fail the listing with a clear error.
func TestParseHostileListings(t *testing.T) {
	t.Parallel()
	const pre = "-rw-r--r--    1 0        0               2 Mar 01 19:14 "
	for _, tc := range []struct {
		name, data string
		mlsd       bool
		err        string
	}{
		{"slash", pre + "../../etc/passwd", false, `server listed a bad name: ` + archive.ErrInvalidName.Error() + ` "../../etc/passwd": not a single path element`},
		{"slash alone", pre + "/", false, `"/": not a single path element`},
		{"absolute", pre + "/etc/shadow", false, `"/etc/shadow": not a single path element`},
		{"NUL", pre + "a\x00b", false, `"a\x00b": contains a NUL byte`},
		{"empty name", pre, false, `"": empty`},
		{"duplicate", pre + "same\r\n" + pre + "same", false, `server listed the name "same" twice`},
		{"dot dot with slash", pre + "../x", false, `"../x": not a single path element`},
		{"garbage first line", "hello world", false, `cannot parse the line "hello world": neither a Unix nor a DOS listing line`},
		{"bad perms", "-rw-r--r-Z    1 0 0 2 Mar 01 19:14 x", false, `neither a Unix nor a DOS`},
		{"ambiguous link", "lrwxrwxrwx    1 0 0 99 Mar 01 19:14 a -> b -> c", false, `ambiguous symlink`},
		{"link without target", "lrwxrwxrwx    1 0 0 1 Mar 01 19:14 a", false, `symlink without a target`},
		{"bad day", "-rw-r--r--    1 0 0 2 Mar 41 19:14 x", false, `bad day "41"`},
		{"bad clock", "-rw-r--r--    1 0 0 2 Mar 01 25:14 x", false, `bad time "25:14"`},
		{"huge size", "-rw-r--r--    1 0 0 99999999999999999999 Mar 01 19:14 x", false, `bad size`},
		{"mlsd slash", "type=file;size=1; a/b", true, `"a/b": not a single path element`},
		{"mlsd dotdot", "type=dir; ..", true, ""}, // a "dir" named ".." is dropped, like pdir
		{"mlsd no type", "size=1; x", true, `no type fact`},
		{"mlsd no facts", " x", true, `malformed facts`},
		{"mlsd bad mode", "type=file;UNIX.mode=99; x", true, `bad UNIX.mode "99"`},
		{"mlsd bad time", "type=file;modify=2026; x", true, `bad modify time "2026"`},
		{"mlsd link without target", "type=OS.unix=slink; x", true, `symlink without a target`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := parseListing([]byte(tc.data+"\r\n"), tc.mlsd, now)
			if tc.err == "" {
				require.NoError(t, err)
				require.Empty(t, l.entries)
				return
			}
			require.ErrorContains(t, err, tc.err)
		})
	}
}

func TestPermBits(t *testing.T) {
	t.Parallel()
	for perm, want := range map[string]fs.FileMode{
		"-rw-r--r--": 0o644, "drwx------": 0o700, "-rwsr-xr-x": 0o755 | fs.ModeSetuid, "-rwSr--r--": 0o644 | fs.ModeSetuid,
		"drwxr-sr-x": 0o755 | fs.ModeSetgid, "-rw-r-lr--": 0o644 | fs.ModeSetgid, "drwxrwxrwt": 0o777 | fs.ModeSticky,
		"----------": 0, "-rwxrwxrwx": 0o777,
	} {
		require.True(t, validPerm(perm), perm)
		require.Equal(t, want, permBits(perm), perm)
	}
	for _, bad := range []string{"", "-rw-r--r-", "xrw-r--r--", "-rw-r--r--x", "-rwxrwxrwz", "-sw-r--r--"} {
		require.False(t, validPerm(bad), bad)
	}
}

func TestParseGreeting(t *testing.T) {
	t.Parallel()
	for g, want := range map[string]archive.Software{
		"220 (vsFTPd 3.0.3)\r\n":                            {Name: "vsFTPd", Version: "3.0.3"},
		"220 ProFTPD 1.3.8 Server (Debian) [::1]\r\n":       {Name: "ProFTPD", Version: "1.3.8"},
		"220-Welcome\r\n220-to\r\n220 Pure-FTPd 1.0.50\r\n": {Name: "Welcome to Pure-FTPd 1.0.50"},
		"220 FileZilla/1.7.0\r\n":                           {Name: "FileZilla", Version: "1.7.0"},
		"220 \x1b[31mevil\x07\r\n":                          {Name: "[31mevil"},
		"":                                                  {Name: "unknown FTP server"},
	} {
		require.Equal(t, want, parseGreeting(g), "%q", g)
	}
	require.Len(t, parseGreeting("220 "+strings.Repeat("x", 500)).Name, 120)
}

func TestReplyComplete(t *testing.T) {
	t.Parallel()
	require.True(t, replyComplete([]byte("220 ok\r\n")))
	require.False(t, replyComplete([]byte("220 ok")))
	require.False(t, replyComplete([]byte("220-first\r\n")))
	require.True(t, replyComplete([]byte("220-first\r\nmore\r\n220 last\r\n")))
}

func TestExactReader(t *testing.T) {
	t.Parallel()
	read := func(src []byte, size int64) ([]byte, *exactReader) {
		x := &exactReader{r: iotest.OneByteReader(bytes.NewReader(src)), size: size}
		b, err := io.ReadAll(x)
		require.NoError(t, err)
		require.Len(t, b, int(size))
		return b, x
	}
	b, x := read([]byte("hello"), 5)
	require.Equal(t, "hello", string(b))
	require.NoError(t, x.warning())

	b, x = read([]byte("hello world"), 5)
	require.Equal(t, "hello", string(b))
	require.EqualError(t, x.warning(), "file grew while read: archived its first 5 bytes")

	b, x = read([]byte("hi"), 5)
	require.Equal(t, "hi\x00\x00\x00", string(b))
	require.EqualError(t, x.warning(), "file shrank while read: padded the last 3 of 5 bytes with zeros")

	x = &exactReader{r: iotest.TimeoutReader(bytes.NewReader([]byte("abcdef"))), size: 6}
	_, err := io.ReadAll(x)
	require.ErrorIs(t, err, iotest.ErrTimeout, "a read error is passed on")
}

func TestValidate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		cfg      func(*sdk.FTPConfig)
		password string
		err      string
	}{
		{func(c *sdk.FTPConfig) { c.Host = "" }, "pw", "host"},
		{func(c *sdk.FTPConfig) { c.Host = "a b" }, "pw", "host"},
		{func(c *sdk.FTPConfig) { c.TLS = "starttls" }, "pw", `tls "starttls" must be none, explicit or implicit`},
		{func(c *sdk.FTPConfig) { c.Port = 70000 }, "pw", "port 70000 must be 1-65535"},
		{func(c *sdk.FTPConfig) { c.Username = "a\r\nDELE x" }, "pw", "username"},
		{func(c *sdk.FTPConfig) {}, "pw\r\nDELE /x", "the password credential holds a line break"},
		{func(c *sdk.FTPConfig) { c.Paths = nil }, "pw", "at least one path"},
		{func(c *sdk.FTPConfig) { c.Paths = []string{"www"} }, "pw", `path "www" must be absolute`},
		{func(c *sdk.FTPConfig) { c.Paths = []string{"/a\nb"} }, "pw", "must be absolute, without line breaks"},
		{func(c *sdk.FTPConfig) { c.Exclude = []string{"["} }, "pw", `exclude "["`},
	} {
		cfg := sdk.FTPConfig{Host: "ftp.example.com", Username: "u", Paths: []string{"/"}}
		tc.cfg(&cfg)
		_, err := New(cfg, tc.password, connector.Env{})
		require.ErrorContains(t, err, tc.err)
		require.ErrorIs(t, err, connector.ErrPermanent)
		require.NotContains(t, err.Error(), "DELE /x", "the password is never in an error")
	}
	c, err := New(sdk.FTPConfig{Host: "ftp.example.com", Username: "u", Paths: []string{"/www/"}, TLS: "implicit"}, "", connector.Env{})
	require.NoError(t, err)
	require.Equal(t, "ftp.example.com:990", c.addr)
	require.Equal(t, []string{"/www"}, c.cfg.Paths)
	c, err = New(sdk.FTPConfig{Host: "::1", Username: "u", Paths: []string{"/"}}, "", connector.Env{})
	require.NoError(t, err)
	require.Equal(t, "[::1]:21", c.addr)
	require.Equal(t, "none", c.cfg.TLS)
}

// FuzzParseListing: whatever a server sends, parsing never panics and
// every name it accepts is one valid path element, listed once.
func FuzzParseListing(f *testing.F) {
	f.Add([]byte("-rw-r--r--    1 0 0 2 Mar 01 19:14 a\r\nlrwxrwxrwx 1 0 0 1 Mar 01 19:14 l -> b\r\n"), false)
	f.Add([]byte("03-01-24  10:05AM       <DIR>          Some Folder\r\n"), false)
	f.Add([]byte("type=file;size=1;modify=20260301191400; a\r\ntype=cdir; .\r\n"), true)
	f.Fuzz(func(t *testing.T, data []byte, mlsd bool) {
		l, err := parseListing(data, mlsd, now)
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, e := range l.entries {
			if err := checkElement(e.name); err != nil || seen[e.name] || e.size < 0 {
				t.Fatalf("accepted %+v: %v", e, err)
			}
			seen[e.name] = true
		}
	})
}
