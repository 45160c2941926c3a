package sftp

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	pkgsftp "github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"

	"github.com/xvault/xvault/agentd/internal/connector"
)

// hostKeyAlgorithms is a fixed preference order, so the key a server presents
// (and so its fingerprint) does not change when the ssh library changes its
// defaults. Ed25519 first: it is what `ssh-keygen -lf` users usually pin.
var hostKeyAlgorithms = []string{
	ssh.KeyAlgoED25519,
	ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521,
	ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256,
}

// ciphers puts AES-GCM first (hardware-accelerated almost everywhere), then
// the library's defaults.
func ciphers() []string {
	first := []string{ssh.CipherAES128GCM}
	rest := slices.DeleteFunc(ssh.SupportedAlgorithms().Ciphers, func(c string) bool { return slices.Contains(first, c) })
	return append(first, rest...)
}

// session is one SSH connection with its SFTP client.
type session struct {
	ssh  *ssh.Client
	sftp *pkgsftp.Client
	once sync.Once
}

func (s *session) close() {
	s.once.Do(func() {
		_ = s.sftp.Close()
		_ = s.ssh.Close()
	})
}

func (c *Connector) addr() string {
	return net.JoinHostPort(c.cfg.Host, strconv.Itoa(c.cfg.Port))
}

// hostKeyChangedError is returned by the host key callback on a mismatch.
type hostKeyChangedError struct{ addr, want, got string }

func (e *hostKeyChangedError) Error() string {
	return fmt.Sprintf("host key of %s changed: expected %s, got %s "+
		"(hint: if the server was reinstalled, verify the new key and update the source's pinned host key)",
		e.addr, e.want, e.got)
}

// recordError wraps an error of Options.OnHostKey.
type recordError struct{ err error }

func (e *recordError) Error() string { return "record host key: " + e.err.Error() }
func (e *recordError) Unwrap() error { return e.err }

// hostKeyCallback checks the server's key against the pinned fingerprint, or
// trusts it on first use and reports it through Options.OnHostKey. The
// callback runs again on every re-key of the connection: a key trusted at
// the first exchange is pinned for the rest of it.
func (c *Connector) hostKeyCallback() ssh.HostKeyCallback {
	var mu sync.Mutex
	pinned := c.cfg.HostKey
	return func(_ string, _ net.Addr, key ssh.PublicKey) error {
		mu.Lock()
		defer mu.Unlock()
		got := ssh.FingerprintSHA256(key)
		if pinned == "" {
			c.log.Info("trusting host key on first use", "fingerprint", got, "key_type", key.Type())
			if err := c.opts.OnHostKey(got); err != nil {
				return &recordError{err}
			}
			pinned = got
			return nil
		}
		if got != pinned {
			return &hostKeyChangedError{addr: c.addr(), want: pinned, got: got}
		}
		return nil
	}
}

func (c *Connector) authMethods() []ssh.AuthMethod {
	var methods []ssh.AuthMethod
	if c.signer != nil {
		methods = append(methods, ssh.PublicKeys(c.signer))
	}
	if pw := c.cred.Password; pw != "" {
		methods = append(methods, ssh.Password(pw),
			ssh.KeyboardInteractive(func(_, _ string, questions []string, echos []bool) ([]string, error) {
				// Servers using PAM often ask for the password this way.
				if len(questions) == 1 && !echos[0] {
					return []string{pw}, nil
				}
				return make([]string, len(questions)), nil
			}))
	}
	return methods
}

func parseKey(cred Credential) (ssh.Signer, error) {
	var (
		signer ssh.Signer
		err    error
	)
	if cred.Passphrase != "" {
		signer, err = ssh.ParsePrivateKeyWithPassphrase(cred.PrivateKey, []byte(cred.Passphrase))
	} else {
		signer, err = ssh.ParsePrivateKey(cred.PrivateKey)
	}
	var missing *ssh.PassphraseMissingError
	switch {
	case err == nil:
		return signer, nil
	case errors.As(err, &missing):
		return nil, errors.New("private key is encrypted and no passphrase was given")
	case errors.Is(err, x509.IncorrectPasswordError):
		return nil, errors.New("wrong passphrase for the private key")
	default:
		return nil, fmt.Errorf("parse private key: %w", err)
	}
}

// dial connects, verifies the host key, authenticates and starts SFTP.
func (c *Connector) dial(ctx context.Context) (*session, error) {
	addr := c.addr()
	d := net.Dialer{Timeout: c.opts.DialTimeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("connect %s: %w", addr, err)
	}
	_ = conn.SetDeadline(time.Now().Add(c.opts.DialTimeout)) // bounds the handshake
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	sshConn, chans, reqs, err := ssh.NewClientConn(conn, addr, &ssh.ClientConfig{
		Config:            ssh.Config{Ciphers: ciphers()},
		User:              c.cfg.Username,
		Auth:              c.authMethods(),
		HostKeyCallback:   c.hostKeyCallback(),
		HostKeyAlgorithms: hostKeyAlgorithms,
	})
	if !stop() {
		err = errors.Join(ctx.Err(), err)
	}
	if err != nil {
		_ = conn.Close()
		return nil, c.handshakeError(ctx, err)
	}
	_ = conn.SetDeadline(time.Time{})
	client := ssh.NewClient(sshConn, chans, reqs)
	sc, err := pkgsftp.NewClient(client, pkgsftp.UseConcurrentReads(true), pkgsftp.UseFstat(true))
	if err != nil {
		_ = client.Close()
		return nil, fmt.Errorf("start sftp on %s: %w (hint: is the sftp subsystem enabled in sshd_config?)", addr, err)
	}
	return &session{ssh: client, sftp: sc}, nil
}

// handshakeError classifies a failed handshake: a changed host key and a
// refused login are permanent, anything else (network, timeout) may pass.
func (c *Connector) handshakeError(ctx context.Context, err error) error {
	addr := c.addr()
	var changed *hostKeyChangedError
	var record *recordError
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("connect %s: %w", addr, ctx.Err())
	case errors.As(err, &changed):
		return fmt.Errorf("connect %s: %w: %w", addr, changed, connector.ErrPermanent)
	case errors.As(err, &record):
		return fmt.Errorf("connect %s: %w", addr, record)
	case strings.Contains(err.Error(), "unable to authenticate"):
		return fmt.Errorf("authentication failed for %s@%s: %w: %w", c.cfg.Username, addr, err, connector.ErrPermanent)
	default:
		return fmt.Errorf("ssh handshake with %s: %w", addr, err)
	}
}
