package sshd

import (
	"net"
	"testing"
	"time"

	"github.com/pkg/sftp"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"
)

// dial connects with auth and returns the host key fingerprint the server showed.
func dial(t *testing.T, s *Server, auth ssh.AuthMethod) (*ssh.Client, string, error) {
	t.Helper()
	var seen string
	c, err := ssh.Dial("tcp", s.Addr(), &ssh.ClientConfig{
		User: s.User,
		Auth: []ssh.AuthMethod{auth},
		HostKeyCallback: func(_ string, _ net.Addr, key ssh.PublicKey) error {
			seen = ssh.FingerprintSHA256(key)
			return nil
		},
		Timeout: 10 * time.Second,
	})
	return c, seen, err
}

func TestKeyAuthAndSFTP(t *testing.T) {
	t.Parallel()
	s := Start(t, Options{})
	c, fp, err := dial(t, s, ssh.PublicKeys(s.ClientSigner))
	require.NoError(t, err)
	defer c.Close()
	require.Equal(t, s.HostKeyFingerprint, fp)

	signer, err := ssh.ParsePrivateKey(s.ClientKey)
	require.NoError(t, err)
	require.Equal(t, s.ClientSigner.PublicKey().Marshal(), signer.PublicKey().Marshal())

	sc, err := sftp.NewClient(c)
	require.NoError(t, err)
	defer sc.Close()
	_, err = sc.Stat(s.dir)
	require.NoError(t, err)
}

func TestRestartWithNewHostKey(t *testing.T) {
	t.Parallel()
	s := Start(t, Options{})
	old := s.HostKeyFingerprint
	s.RestartWithNewHostKey(t)
	require.NotEqual(t, old, s.HostKeyFingerprint)
	c, fp, err := dial(t, s, ssh.PublicKeys(s.ClientSigner))
	require.NoError(t, err)
	c.Close()
	require.Equal(t, s.HostKeyFingerprint, fp)
}

func TestPasswordAuth(t *testing.T) {
	t.Parallel()
	s := Start(t, Options{Password: true})
	require.Equal(t, PasswordUser, s.User)
	c, _, err := dial(t, s, ssh.Password(s.Password))
	require.NoError(t, err)
	c.Close()
	_, _, err = dial(t, s, ssh.Password("wrong-"+s.Password))
	require.ErrorContains(t, err, "unable to authenticate")
}

func TestExtraConfig(t *testing.T) {
	t.Parallel()
	s := Start(t, Options{Config: []string{"Ciphers aes256-ctr"}})
	c, _, err := dial(t, s, ssh.PublicKeys(s.ClientSigner))
	require.NoError(t, err)
	c.Close()
}
