package sshd

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"

	"golang.org/x/crypto/ssh"
)

// Launch starts a server whose files (keys, authorized_keys, config) live in
// dir, for callers that are not tests (the benchmark). The caller must call
// [Server.Stop]. Unlike [Start] it never skips: a missing sshd is an error.
func Launch(dir string, opts Options) (*Server, error) {
	if _, err := os.Stat(Binary); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s is missing (hint: apt-get install openssh-server)", Binary)
	}
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil { // privilege separation dir
		return nil, fmt.Errorf("create /run/sshd: %w", err)
	}
	s := &Server{dir: dir, opts: opts, Host: "127.0.0.1"}
	u, err := user.Current()
	if err != nil {
		return nil, fmt.Errorf("current user: %w", err)
	}
	s.User = u.Username
	if opts.Password {
		if s.Password, err = sharedPassword(); err != nil {
			return nil, fmt.Errorf("password user: %w", err)
		}
		s.User = PasswordUser
	}
	if err := s.writeClientKey(); err != nil {
		return nil, err
	}
	if err := s.writeHostKey(); err != nil {
		return nil, err
	}
	if err := s.startOnFreePort(); err != nil {
		return nil, err
	}
	return s, nil
}

// PID returns the process id of the listening sshd, or 0 when it is stopped.
// Every connection runs in processes it forks and waits for, so the CPU time
// of its reaped children (cutime and cstime in /proc/PID/stat) is what the
// server side of the finished connections cost.
func (s *Server) PID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

func (s *Server) writeClientKey() error {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return fmt.Errorf("client key: %w", err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "xvault-test-client")
	if err != nil {
		return fmt.Errorf("marshal client key: %w", err)
	}
	s.ClientKey = pem.EncodeToMemory(block)
	if s.ClientSigner, err = ssh.NewSignerFromKey(priv); err != nil {
		return fmt.Errorf("client signer: %w", err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		return fmt.Errorf("client public key: %w", err)
	}
	return writeFile(filepath.Join(s.dir, "authorized_keys"), ssh.MarshalAuthorizedKey(sshPub))
}

func (s *Server) writeHostKey() error {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return fmt.Errorf("host key: %w", err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "xvault-test-host")
	if err != nil {
		return fmt.Errorf("marshal host key: %w", err)
	}
	if err := writeFile(filepath.Join(s.dir, "host_ed25519_key"), pem.EncodeToMemory(block)); err != nil {
		return err
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		return fmt.Errorf("host public key: %w", err)
	}
	s.HostKeyFingerprint = ssh.FingerprintSHA256(sshPub)
	return nil
}

func writeFile(name string, data []byte) error {
	if err := os.WriteFile(name, data, 0o600); err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(name), err)
	}
	return nil
}

// startOnFreePort picks a free port and starts sshd on it, retrying when
// another process grabbed the port between the probe and sshd's bind.
func (s *Server) startOnFreePort() error {
	var err error
	for range 5 {
		if s.Port, err = freePort(); err != nil {
			return err
		}
		if err = s.start(); err == nil {
			return nil
		}
	}
	return fmt.Errorf("start: %w\n%s", err, s.log.String())
}
