package vsftpd

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/jlaffaye/ftp"
	"github.com/stretchr/testify/require"
)

// login connects to s with the given client TLS config (nil: plain) and logs in.
func login(t *testing.T, s *Server, tc *tls.Config, password string) (*ftp.ServerConn, error) {
	t.Helper()
	var opts []ftp.DialOption
	switch s.TLS() {
	case TLSExplicit:
		opts = append(opts, ftp.DialWithExplicitTLS(tc))
	case TLSImplicit:
		opts = append(opts, ftp.DialWithTLS(tc))
	}
	c, err := ftp.Dial(s.Addr(), opts...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Quit() })
	return c, c.Login(s.User, password)
}

func TestServeModes(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{TLSNone, TLSExplicit, TLSImplicit} {
		t.Run("tls="+mode, func(t *testing.T) {
			t.Parallel()
			s := Start(t, Options{TLS: mode})
			require.NoError(t, os.WriteFile(filepath.Join(s.Root, "hello.txt"), []byte("hello"), 0o644))
			var tc *tls.Config
			if mode != TLSNone {
				pool := x509.NewCertPool()
				require.True(t, pool.AppendCertsFromPEM(s.CertPEM))
				// The same ServerName for every connection lets data
				// connections resume the control connection's session.
				tc = &tls.Config{RootCAs: pool, ServerName: s.Host, ClientSessionCache: tls.NewLRUClientSessionCache(4)}
			} else {
				require.Nil(t, s.CertPEM)
			}
			c, err := login(t, s, tc, s.Password)
			require.NoError(t, err)
			r, err := c.Retr("/hello.txt") // chrooted: Root is "/"
			require.NoError(t, err)
			b, err := io.ReadAll(r)
			require.NoError(t, err)
			require.NoError(t, r.Close())
			require.Equal(t, "hello", string(b))
		})
	}
}

func TestWrongPasswordRefused(t *testing.T) {
	t.Parallel()
	s := Start(t, Options{})
	_, err := login(t, s, nil, "wrong-"+s.Password)
	require.ErrorContains(t, err, `530 "Login incorrect."`)
}

func TestSessionReuseRequired(t *testing.T) {
	t.Parallel()
	s := Start(t, Options{TLS: TLSExplicit})
	// Without a session cache a data connection cannot resume the control
	// connection's TLS session, which the server requires.
	c, err := login(t, s, &tls.Config{InsecureSkipVerify: true}, s.Password) //nolint:gosec // a test of the server
	require.NoError(t, err)
	_, err = c.List("/")
	require.ErrorContains(t, err, "session reuse required")
}

func TestPasvAddressAndExtraConfig(t *testing.T) {
	t.Parallel()
	s := Start(t, Options{PasvAddress: "10.255.255.1", Config: []string{"ftpd_banner=xVault test"}})
	c, err := ftp.Dial(s.Addr(), ftp.DialWithDisabledEPSV(true)) // the library dials the control address, never 10.x
	require.NoError(t, err)
	defer c.Quit()
	require.NoError(t, c.Login(s.User, s.Password))
	_, err = c.List("/")
	require.NoError(t, err)
	require.Contains(t, s.Log(), `"227 Entering Passive Mode (10,255,255,1,`)
	require.Contains(t, s.Log(), `"220 xVault test"`)
}
