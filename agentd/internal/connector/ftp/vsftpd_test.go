package ftp

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/agentd/internal/connector"
	"github.com/xvault/xvault/agentd/internal/connector/connectortest"
	"github.com/xvault/xvault/agentd/internal/egress"
	"github.com/xvault/xvault/internal/testutil/vsftpd"
	"github.com/xvault/xvault/sdk"
	"github.com/xvault/xvault/sdk/archive"
)

const insecureText = "insecure_skip_verify is set"

// TestPullSite pulls a site byte for byte over plain FTP, explicit TLS
// (certificate trusted, and with insecure_skip_verify) and implicit TLS.
func TestPullSite(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		tls        string
		skipVerify bool
	}{
		{"plain", vsftpd.TLSNone, false},
		{"explicit", vsftpd.TLSExplicit, false},
		{"explicit-skip-verify", vsftpd.TLSExplicit, true},
		{"implicit", vsftpd.TLSImplicit, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := vsftpd.Start(t, vsftpd.Options{TLS: tc.tls})
			buildSite(t, filepath.Join(s.Root, "www"), 5<<20+123)
			var logs bytes.Buffer
			c := newConnector(t, s, tc.skipVerify, "/www")
			c.log = slog.New(slog.NewTextHandler(&logs, nil))
			rec := pull(t, c)

			require.Equal(t, expectTree(t, s.Root, "www", nil), recorded(rec))
			require.Contains(t, rec.Bodies, "www/.htaccess")
			require.Equal(t, &archive.Software{Name: "vsFTPd", Version: "3.0.3"}, rec.Descriptor.Server)
			require.Equal(t, "ftp", rec.Descriptor.Connector)
			require.Contains(t, rec.Descriptor.Options, "listing=LIST -a + MDTM")
			if tc.skipVerify {
				require.Len(t, rec.Warnings, 1)
				require.Contains(t, rec.Warnings[0], insecureText)
				require.Contains(t, logs.String(), insecureText)
			} else {
				require.Empty(t, rec.Warnings)
			}
			// The control and every data connection went through the egress dialer.
			require.Len(t, c.lastDialed, 1, c.lastDialed)
			require.Greater(t, c.lastDialed["127.0.0.1"], 10)
		})
	}
}

func TestHostileNamesAndUnreadable(t *testing.T) {
	t.Parallel()
	s := vsftpd.Start(t, vsftpd.Options{})
	w := filepath.Join(s.Root, "www")
	writeFile(t, w, "ok.txt", []byte("ok"), 0o644)
	writeFile(t, w, "new\nline.txt", []byte("nl"), 0o644)
	writeFile(t, w, "secret.txt", []byte("root only"), 0o600)
	writeFile(t, w, "noread/inside.txt", []byte("x"), 0o644)
	require.NoError(t, os.Chmod(filepath.Join(w, "noread"), 0o711))
	require.NoError(t, syscall.Mkfifo(filepath.Join(w, "fifo"), 0o644))
	require.NoError(t, os.Symlink("x\ny", filepath.Join(w, "link\nwith newline")))

	rec := pull(t, newConnector(t, s, false, "/www"))
	require.Equal(t, []string{"www", "www/link\nwith newline", "www/noread", "www/ok.txt"}, names(rec), rec.Warnings)
	require.Equal(t, "x\ny", rec.Entries[1].LinkTarget)
	require.Len(t, rec.Warnings, 4, rec.Warnings)
	require.True(t, contains(rec.Warnings, "/www/fifo: skipped: named pipe"), rec.Warnings)
	require.True(t, contains(rec.Warnings, "/www/new\nline.txt: skipped: the name holds a line break"), rec.Warnings)
	require.True(t, contains(rec.Warnings, `/www/secret.txt: retrieve: 550 "Failed to open file."`), rec.Warnings)
	require.True(t, contains(rec.Warnings, "/www/noread: list directory: the server listed it as empty"), rec.Warnings)
}

func TestRootsParentsAndExcludes(t *testing.T) {
	t.Parallel()
	s := vsftpd.Start(t, vsftpd.Options{})
	buildSite(t, filepath.Join(s.Root, "srv/www"), 0)
	writeFile(t, s.Root, "srv/other/file.txt", []byte("other"), 0o644)

	c := newConnector(t, s, false, "/srv/www/nested/l1/l2/deep.txt", "/srv/www/link-rel", "/srv/other", "/srv/other/file.txt")
	rec := pull(t, c)
	require.Equal(t, []string{"srv", "srv/other", "srv/other/file.txt", "srv/www", "srv/www/link-rel",
		"srv/www/nested", "srv/www/nested/l1", "srv/www/nested/l1/l2", "srv/www/nested/l1/l2/deep.txt"}, names(rec))
	require.Equal(t, "nested/l1", rec.Entries[4].LinkTarget, "a symlink root is kept as a link")
	require.Equal(t, []byte("deep"), rec.Bodies["srv/www/nested/l1/l2/deep.txt"])

	c = newConnector(t, s, false, "/srv/www")
	c.cfg.Exclude = []string{"*.log", "/srv/www/cache", "l2", "small"}
	rec = pull(t, c)
	want := expectTree(t, s.Root, "srv/www", func(p string) bool {
		return strings.HasSuffix(p, ".log") || p == "/srv/www/cache" || filepath.Base(p) == "l2" || filepath.Base(p) == "small"
	})
	srv := recorded(rec)[0]
	require.Equal(t, "srv", srv.Name, "the parent of the root first")
	require.Equal(t, want, recorded(rec)[1:])

	c = newConnector(t, s, false, "/")
	c.cfg.Exclude = []string{"/srv/www"}
	require.Equal(t, []string{"srv", "srv/other", "srv/other/file.txt"}, names(pull(t, c)))
}

func TestMissingPath(t *testing.T) {
	t.Parallel()
	s := vsftpd.Start(t, vsftpd.Options{})
	writeFile(t, s.Root, "www/a.txt", []byte("a"), 0o644)
	c := newConnector(t, s, false, "/www", "/nope/deeper")
	rec := &connectortest.Recorder{}
	err := c.Pull(t.Context(), rec)
	require.ErrorContains(t, err, "/nope (parent of configured path /nope/deeper): does not exist or cannot be read (not listed in /")
	require.NotErrorIs(t, err, connector.ErrPermanent)

	rep, err := c.Test(t.Context())
	require.NoError(t, err)
	require.False(t, rep.OK)
	require.Equal(t, sdk.TestCheck{Name: "path /www", OK: true, Detail: "exists: dir"}, rep.Checks[2])
	require.Equal(t, "path /nope/deeper", rep.Checks[4].Name)
	require.False(t, rep.Checks[4].OK)
	require.Contains(t, rep.Checks[4].Detail, "does not exist")
}

func TestWrongPassword(t *testing.T) {
	t.Parallel()
	s := vsftpd.Start(t, vsftpd.Options{})
	cfg := sdk.FTPConfig{Host: s.Host, Port: s.Port, Username: s.User, Paths: []string{"/"}}
	c, err := New(cfg, "not-"+s.Password, connector.Env{Egress: loopback})
	require.NoError(t, err)
	rec := &connectortest.Recorder{}
	err = c.Pull(t.Context(), rec)
	require.ErrorIs(t, err, connector.ErrPermanent)
	require.ErrorContains(t, err, `log in to `+s.Addr()+` as "xvftp": 530 Login incorrect. (hint: check the username and the password credential)`)
	require.NotContains(t, err.Error(), s.Password)
	require.Empty(t, rec.Entries)
	require.Nil(t, rec.Descriptor)

	rep, err := c.Test(t.Context())
	require.NoError(t, err)
	require.False(t, rep.OK)
	require.Equal(t, "vsFTPd 3.0.3", rep.Server)
	require.Equal(t, "authenticate", rep.Checks[1].Name)
	require.False(t, rep.Checks[1].OK)
	require.Contains(t, rep.Checks[1].Detail, "530 Login incorrect.")
}

func TestServerRequiresTLS(t *testing.T) {
	t.Parallel()
	s := vsftpd.Start(t, vsftpd.Options{TLS: vsftpd.TLSExplicit})
	cfg := sdk.FTPConfig{Host: s.Host, Port: s.Port, Username: s.User, Paths: []string{"/"}, TLS: sdk.FTPTLSNone}
	c, err := New(cfg, s.Password, connector.Env{Egress: loopback})
	require.NoError(t, err)
	err = c.Pull(t.Context(), &connectortest.Recorder{})
	require.ErrorIs(t, err, connector.ErrPermanent)
	require.ErrorContains(t, err, "Non-anonymous sessions must use encryption. (hint: the server requires TLS; set tls to explicit")
}

// TestCertificateVerified: with verification on, the self-signed certificate
// is refused (the system roots do not hold it), permanently and clearly.
func TestCertificateVerified(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{vsftpd.TLSExplicit, vsftpd.TLSImplicit} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			s := vsftpd.Start(t, vsftpd.Options{TLS: mode})
			cfg := sdk.FTPConfig{Host: s.Host, Port: s.Port, Username: s.User, Paths: []string{"/"}, TLS: mode}
			c, err := New(cfg, s.Password, connector.Env{Egress: loopback})
			require.NoError(t, err)
			rec := &connectortest.Recorder{}
			err = c.Pull(t.Context(), rec)
			require.ErrorIs(t, err, connector.ErrPermanent)
			require.ErrorContains(t, err, "TLS certificate of "+s.Addr()+" is not trusted")
			require.ErrorContains(t, err, "certificate signed by unknown authority")
			require.ErrorContains(t, err, "insecure_skip_verify")
			require.Empty(t, rec.Entries)

			rep, err := c.Test(t.Context())
			require.NoError(t, err)
			require.False(t, rep.OK)
			last := rep.Checks[len(rep.Checks)-1]
			require.False(t, last.OK)
			require.Contains(t, last.Detail, "is not trusted")
		})
	}
}

func TestEgressRefusesLoopback(t *testing.T) {
	t.Parallel()
	s := vsftpd.Start(t, vsftpd.Options{})
	cfg := sdk.FTPConfig{Host: s.Host, Port: s.Port, Username: s.User, Paths: []string{"/"}}
	c, err := New(cfg, s.Password, connector.Env{Egress: egress.Policy{AllowPrivate: true}})
	require.NoError(t, err)
	err = c.Pull(t.Context(), &connectortest.Recorder{})
	require.ErrorIs(t, err, egress.ErrRefused)
	require.ErrorContains(t, err, "--allow-loopback")

	rep, err := c.Test(t.Context())
	require.NoError(t, err)
	require.False(t, rep.OK)
	require.Equal(t, "connect", rep.Checks[0].Name)
	require.Contains(t, rep.Checks[0].Detail, "egress policy refused")
}

// TestPASVNamesPrivateAddress: a server behind NAT names a private address
// in its PASV replies; data connections go to the control connection's
// address instead (and 10.0.0.0/8 is never dialed: the policy refuses it).
func TestPASVNamesPrivateAddress(t *testing.T) {
	t.Parallel()
	s := vsftpd.Start(t, vsftpd.Options{PasvAddress: "10.255.255.1"})
	writeFile(t, s.Root, "www/a.txt", []byte("through PASV"), 0o644)
	c := newConnector(t, s, false, "/www")
	c.disableEPSV = true
	rec := pull(t, c)
	require.Equal(t, []byte("through PASV"), rec.Bodies["www/a.txt"])
	require.Contains(t, s.Log(), "227 Entering Passive Mode (10,255,255,1,")
	require.Equal(t, map[string]int{"127.0.0.1": 4}, c.lastDialed, "control, LIST of / and /www, RETR")
}

// changingSink changes files on the server while the pull runs: when it
// archives trigger, grow is appended to and shrink truncated.
type changingSink struct {
	connectortest.Recorder
	trigger, grow, shrink string
}

func (c *changingSink) Put(e connector.Entry, body io.Reader) error {
	err := c.Recorder.Put(e, body)
	if e.Name == c.trigger {
		f, ferr := os.OpenFile(c.grow, os.O_APPEND|os.O_WRONLY, 0)
		if ferr == nil {
			_, _ = f.Write(bytes.Repeat([]byte("+"), 100))
			ferr = f.Close()
		}
		err = errors.Join(err, ferr, os.Truncate(c.shrink, 10))
	}
	return err
}

func TestFilesChangingWhileRead(t *testing.T) {
	t.Parallel()
	s := vsftpd.Start(t, vsftpd.Options{})
	w := filepath.Join(s.Root, "www")
	grow, shrink := randomBytes(1<<20), randomBytes(300)
	writeFile(t, w, "a.txt", []byte("first"), 0o644)
	writeFile(t, w, "b-grows.bin", grow, 0o644)
	writeFile(t, w, "c-shrinks.bin", shrink, 0o644)
	sink := &changingSink{trigger: "www/a.txt", grow: filepath.Join(w, "b-grows.bin"), shrink: filepath.Join(w, "c-shrinks.bin")}
	require.NoError(t, newConnector(t, s, false, "/www").Pull(t.Context(), sink))
	require.NoError(t, sink.Err)
	require.Equal(t, grow, sink.Bodies["www/b-grows.bin"], "cut at the listed size")
	require.Equal(t, append(shrink[:10:10], make([]byte, 290)...), sink.Bodies["www/c-shrinks.bin"], "padded with zeros")
	require.Equal(t, []string{
		"/www/b-grows.bin: file grew while read: archived its first 1048576 bytes",
		"/www/c-shrinks.bin: file shrank while read: padded the last 290 of 300 bytes with zeros",
	}, sink.Warnings)
}

func TestTestReport(t *testing.T) {
	t.Parallel()
	s := vsftpd.Start(t, vsftpd.Options{TLS: vsftpd.TLSExplicit})
	writeFile(t, s.Root, "www/index.php", []byte("<?php"), 0o644)
	writeFile(t, s.Root, "www/.htaccess", []byte("x"), 0o644)
	require.NoError(t, os.Symlink("index.php", filepath.Join(s.Root, "www/link")))
	writeFile(t, s.Root, "conf.ini", []byte("a=b\n"), 0o644)
	c := newConnector(t, s, true, "/www", "/conf.ini")
	rep, err := c.Test(t.Context())
	require.NoError(t, err)
	require.True(t, rep.OK, rep.Checks)
	require.Equal(t, "vsFTPd 3.0.3", rep.Server)
	require.Equal(t, []string{insecureText + ": the server's TLS certificate is not verified, so a man in the middle could read the files and the password"}, rep.Warnings)
	require.Equal(t, []sdk.TestItem{
		{Name: "/www", Kind: "dir"}, {Name: "/www/.htaccess", Kind: "file", SizeBytes: 1},
		{Name: "/www/index.php", Kind: "file", SizeBytes: 5}, {Name: "/www/link", Kind: "symlink"},
		{Name: "/conf.ini", Kind: "file", SizeBytes: 4},
	}, rep.Items)
	require.Equal(t, []sdk.TestCheck{
		{Name: "connect", OK: true, Detail: "vsFTPd 3.0.3, TLS explicit, certificate NOT verified (insecure_skip_verify)"},
		{Name: "authenticate", OK: true, Detail: `logged in as "xvftp"; directories listed with LIST -a + MDTM`},
		{Name: "path /www", OK: true, Detail: "exists: dir"},
		{Name: "list /www", OK: true, Detail: "3 entries"},
		{Name: "path /conf.ini", OK: true, Detail: "exists: file"},
	}, rep.Checks)
}

// cancelSink cancels the pull once it has read after bytes of a body.
type cancelSink struct {
	connectortest.Recorder
	after  int
	cancel context.CancelFunc
}

func (c *cancelSink) Put(e connector.Entry, body io.Reader) error {
	if e.Type != connector.TypeFile {
		return nil
	}
	if _, err := io.CopyN(io.Discard, body, int64(c.after)); err != nil {
		return err
	}
	c.cancel()
	_, err := io.Copy(io.Discard, body)
	return err
}

func TestCancelMidFile(t *testing.T) {
	t.Parallel()
	s := vsftpd.Start(t, vsftpd.Options{TLS: vsftpd.TLSExplicit})
	writeFile(t, s.Root, "big.bin", randomBytes(32<<20), 0o644)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	err := newConnector(t, s, false, "/big.bin").Pull(ctx, &cancelSink{after: 1 << 20, cancel: cancel})
	require.ErrorIs(t, err, context.Canceled)
}

// TestTLSModeMismatch: implicit TLS against a plain server fails at once
// and permanently; plain FTP against an implicit-TLS server gets no
// greeting and says what to try.
func TestTLSModeMismatch(t *testing.T) {
	t.Parallel()
	plain := vsftpd.Start(t, vsftpd.Options{})
	cfg := sdk.FTPConfig{Host: plain.Host, Port: plain.Port, Username: plain.User, Paths: []string{"/"}, TLS: sdk.FTPTLSImplicit}
	c, err := New(cfg, plain.Password, connector.Env{Egress: loopback})
	require.NoError(t, err)
	err = c.Pull(t.Context(), &connectortest.Recorder{})
	require.ErrorIs(t, err, connector.ErrPermanent)
	require.ErrorContains(t, err, "the server does not speak TLS on this port")

	implicit := vsftpd.Start(t, vsftpd.Options{TLS: vsftpd.TLSImplicit})
	cfg = sdk.FTPConfig{Host: implicit.Host, Port: implicit.Port, Username: implicit.User, Paths: []string{"/"}, TLS: sdk.FTPTLSExplicit}
	c, err = New(cfg, implicit.Password, connector.Env{Egress: loopback})
	require.NoError(t, err)
	c.idleTimeout = time.Second
	err = c.Pull(t.Context(), &connectortest.Recorder{})
	require.ErrorContains(t, err, "if it speaks implicit TLS on this port, set tls to implicit")
	require.NotErrorIs(t, err, connector.ErrPermanent)
}

func TestNetworkErrorsRetryable(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	c, err := New(sdk.FTPConfig{Host: "127.0.0.1", Port: port, Username: "u", Paths: []string{"/"}}, "pw", connector.Env{Egress: loopback})
	require.NoError(t, err)
	err = c.Pull(t.Context(), &connectortest.Recorder{})
	require.ErrorContains(t, err, "connect "+l.Addr().String())
	require.ErrorIs(t, err, syscall.ECONNREFUSED)
	require.NotErrorIs(t, err, connector.ErrPermanent)

	// The cloud metadata address is refused before anything is sent.
	c, err = New(sdk.FTPConfig{Host: "169.254.169.254", Username: "u", Paths: []string{"/"}}, "pw", connector.Env{Egress: loopback})
	require.NoError(t, err)
	err = c.Pull(t.Context(), &connectortest.Recorder{})
	require.ErrorIs(t, err, egress.ErrRefused)
	require.ErrorContains(t, err, "link-local")
}
