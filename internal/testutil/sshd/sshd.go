// Package sshd runs a private, real OpenSSH server for tests: its own host
// key, its own authorized_keys and config in the test's temporary directory,
// listening on a random loopback port, killed when the test ends.
//
// A test that needs it calls [Start]; when /usr/sbin/sshd is missing the test
// is skipped with a hint, unless XV_TEST_REQUIRE_SERVICES=1 (CI), which turns
// the skip into a failure. A program that is not a test (the benchmark)
// calls [Launch] and stops the server with [Server.Stop].
package sshd

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/xvault/xvault/internal/testutil/syncbuf"
)

// Binary is the sshd the harness runs. OpenSSH requires an absolute path.
const Binary = "/usr/sbin/sshd"

// EnvRequire, set to "1", makes a missing sshd fail the test instead of skipping it.
const EnvRequire = "XV_TEST_REQUIRE_SERVICES"

// Options tune the server.
type Options struct {
	// Password enables password authentication for a dedicated system user
	// (see [PasswordUser]); Server.User and Server.Password then name it.
	// It needs root, because it creates that user once per machine.
	Password bool
	// Config holds extra sshd_config lines, appended verbatim.
	Config []string
}

// Server is a running sshd.
type Server struct {
	Host string
	Port int
	// User is the login name: the current user, or [PasswordUser] with Options.Password.
	User string
	// Password is the password of User when Options.Password was set.
	Password string
	// ClientKey is an OpenSSH-format ed25519 private key authorized for User.
	ClientKey []byte
	// ClientSigner is ClientKey parsed.
	ClientSigner ssh.Signer
	// HostKeyFingerprint is the server's host key as ssh.FingerprintSHA256 prints it.
	HostKeyFingerprint string

	dir    string
	opts   Options
	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	log    *syncbuf.Buffer
}

// Addr returns "host:port".
func (s *Server) Addr() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) }

// Start starts a server in a temporary directory of t and registers its
// shutdown with t.Cleanup. A missing sshd skips the test (see [EnvRequire]);
// Options.Password without root skips it too.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	requireSSHD(t)
	if opts.Password {
		passwordUser(t) // skips unless root; creates the user once
	}
	s, err := Launch(t.TempDir(), opts)
	if err != nil {
		t.Fatalf("sshd harness: %v", err)
	}
	t.Cleanup(func() {
		s.Stop()
		if t.Failed() {
			t.Logf("sshd log:\n%s", s.log.String())
		}
	})
	return s
}

// RestartWithNewHostKey stops the server, generates a new host key and starts
// it again on the same port, so clients see "host key changed".
func (s *Server) RestartWithNewHostKey(t testing.TB) {
	t.Helper()
	s.Stop()
	if err := s.writeHostKey(); err != nil {
		t.Fatalf("sshd harness: %v", err)
	}
	if err := s.start(); err != nil {
		t.Fatalf("sshd harness: restart: %v\n%s", err, s.log.String())
	}
}

// Stop kills the server and waits for it. It is safe to call more than once.
func (s *Server) Stop() {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill()
	<-exited
}

// Log returns what sshd wrote so far (it runs with -e: logs go to stderr).
func (s *Server) Log() string { return s.log.String() }

func requireSSHD(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(Binary); err == nil {
		return
	}
	const hint = "install openssh-server (apt-get install openssh-server)"
	if os.Getenv(EnvRequire) == "1" {
		t.Fatalf("%s is missing and %s=1: %s", Binary, EnvRequire, hint)
	}
	t.Skip(hint)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (s *Server) config() string {
	lines := []string{
		"ListenAddress " + s.Addr(),
		"HostKey " + filepath.Join(s.dir, "host_ed25519_key"),
		"AuthorizedKeysFile " + filepath.Join(s.dir, "authorized_keys"),
		"PubkeyAuthentication yes",
		"PasswordAuthentication " + yesNo(s.opts.Password),
		"KbdInteractiveAuthentication no",
		"PermitRootLogin yes",
		"PermitEmptyPasswords no",
		"UsePAM no",
		"StrictModes no",
		"PidFile none",
		"Subsystem sftp internal-sftp",
		"AllowUsers " + s.User,
		"MaxStartups 100:30:200",
		"MaxSessions 50",
		"LogLevel VERBOSE",
	}
	lines = append(lines, s.opts.Config...)
	return strings.Join(lines, "\n") + "\n"
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// start writes the config, runs sshd and waits until it accepts connections.
func (s *Server) start() error {
	cfgPath := filepath.Join(s.dir, "sshd_config")
	if err := os.WriteFile(cfgPath, []byte(s.config()), 0o600); err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	s.log = &syncbuf.Buffer{}
	cmd := exec.Command(Binary, "-D", "-e", "-f", cfgPath)
	cmd.Stdout, cmd.Stderr = s.log, s.log
	// A test binary killed by a timeout never runs its cleanups: take sshd down with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("run %s: %w", Binary, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	s.mu.Lock()
	s.cmd, s.exited = cmd, exited
	s.mu.Unlock()
	if err := waitListening(s.Addr(), exited); err != nil {
		s.Stop()
		return err
	}
	return nil
}

func waitListening(addr string, exited <-chan struct{}) error {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return fmt.Errorf("sshd exited before listening on %s", addr)
		default:
		}
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = c.Close()
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("sshd not listening on %s after 10s", addr)
}
