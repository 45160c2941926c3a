package sshconn

import (
	"crypto/ed25519"
	"crypto/rand"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"
)

func TestHostKeyPinnedAfterFirstUse(t *testing.T) {
	t.Parallel()
	newKey := func() ssh.PublicKey {
		pub, _, err := ed25519.GenerateKey(rand.Reader)
		require.NoError(t, err)
		k, err := ssh.NewPublicKey(pub)
		require.NoError(t, err)
		return k
	}
	first, other := newKey(), newKey()
	var calls []string
	c, err := NewDialer(Config{Host: "h", Username: "u"}, Credential{Password: "pw"},
		Options{OnHostKey: func(fp string) error { calls = append(calls, fp); return nil }})
	require.NoError(t, err)
	cb := c.hostKeyCallback()
	require.NoError(t, cb("h:22", nil, first))
	require.NoError(t, cb("h:22", nil, first)) // re-key
	var changed *hostKeyChangedError
	require.ErrorAs(t, cb("h:22", nil, other), &changed)
	require.Equal(t, []string{ssh.FingerprintSHA256(first)}, calls)
}
