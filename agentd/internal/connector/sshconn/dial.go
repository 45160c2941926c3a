// Package sshconn opens the SSH connection of ssh/sftp sources — host key
// pinning (or trust on first use), password, keyboard-interactive and key
// authentication — and holds the remote-path rules (roots, excludes, modes)
// that the SFTP and the exec transfers share, so both archive the same tree.
package sshconn

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

	"log/slog"

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

// Config says where to connect. It holds no secret.
type Config struct {
	Host     string
	Port     int // 0 means 22
	Username string
	// HostKey is the pinned host key fingerprint ("SHA256:…", as
	// ssh.FingerprintSHA256 prints it), or "" to trust on first use.
	HostKey string
}

// Credential authenticates the SSH session. It is never written to disk or logged.
type Credential struct {
	Password   string
	PrivateKey []byte // PEM or OpenSSH format
	Passphrase string // for an encrypted PrivateKey
}

// Options tune the dialer.
type Options struct {
	// OnHostKey is called with the server's fingerprint on first use (when
	// Config.HostKey is ""), so the agent can record it; an error aborts the
	// connection. Required when Config.HostKey is "".
	OnHostKey func(fingerprint string) error
	Logger    *slog.Logger
	// DialTimeout bounds the TCP connect and the SSH handshake (default 30s).
	DialTimeout time.Duration
	// DialContext opens the TCP connection (the agent's egress-checked
	// dialer); nil means a plain net.Dialer.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
}

const (
	defaultPort        = 22
	defaultDialTimeout = 30 * time.Second
)

// Dialer opens SSH connections to one server.
type Dialer struct {
	cfg    Config
	cred   Credential
	signer ssh.Signer // parsed cred.PrivateKey, or nil
	opts   Options
	log    *slog.Logger
}

// NewDialer checks cfg and cred (port defaulted to 22) and parses the key.
// Invalid input is reported with an error wrapping connector.ErrPermanent.
func NewDialer(cfg Config, cred Credential, opts Options) (*Dialer, error) {
	switch {
	case cfg.Host == "":
		return nil, fmt.Errorf("host is required: %w", connector.ErrPermanent)
	case cfg.Port < 0 || cfg.Port > 65535:
		return nil, fmt.Errorf("port %d out of range 1-65535: %w", cfg.Port, connector.ErrPermanent)
	case cfg.Username == "":
		return nil, fmt.Errorf("username is required: %w", connector.ErrPermanent)
	case cred.Password == "" && len(cred.PrivateKey) == 0:
		return nil, fmt.Errorf("a password or a private key is required: %w", connector.ErrPermanent)
	case cfg.HostKey != "" && !strings.HasPrefix(cfg.HostKey, "SHA256:"):
		return nil, fmt.Errorf("host key %q is not a SHA256 fingerprint (hint: ssh-keygen -lf key.pub prints one): %w",
			cfg.HostKey, connector.ErrPermanent)
	case cfg.HostKey == "" && opts.OnHostKey == nil:
		return nil, fmt.Errorf("no pinned host key and no way to record one (set Options.OnHostKey): %w", connector.ErrPermanent)
	}
	if cfg.Port == 0 {
		cfg.Port = defaultPort
	}
	if opts.DialTimeout <= 0 {
		opts.DialTimeout = defaultDialTimeout
	}
	d := &Dialer{cfg: cfg, cred: cred, opts: opts, log: opts.Logger}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	if len(cred.PrivateKey) > 0 {
		signer, err := parseKey(cred)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", err, connector.ErrPermanent)
		}
		d.signer = signer
	}
	return d, nil
}

// Port is the port connected to (22 when the config said 0).
func (c *Dialer) Port() int { return c.cfg.Port }

// Addr is "host:port".
func (c *Dialer) Addr() string {
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
func (c *Dialer) hostKeyCallback() ssh.HostKeyCallback {
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
			return &hostKeyChangedError{addr: c.Addr(), want: pinned, got: got}
		}
		return nil
	}
}

func (c *Dialer) authMethods() []ssh.AuthMethod {
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

// Dial connects, verifies the host key and authenticates. Cancelling ctx
// during the handshake aborts it; afterwards the caller owns the client.
func (c *Dialer) Dial(ctx context.Context) (*ssh.Client, error) {
	addr := c.Addr()
	dial := c.opts.DialContext
	if dial == nil {
		dial = (&net.Dialer{Timeout: c.opts.DialTimeout}).DialContext
	}
	dctx, cancel := context.WithTimeout(ctx, c.opts.DialTimeout)
	conn, err := dial(dctx, "tcp", addr)
	cancel()
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
	c.log.Debug("connected", "user", c.cfg.Username)
	return ssh.NewClient(sshConn, chans, reqs), nil
}

// handshakeError classifies a failed handshake: a changed host key and a
// refused login are permanent, anything else (network, timeout) may pass.
func (c *Dialer) handshakeError(ctx context.Context, err error) error {
	addr := c.Addr()
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
