// Package vsftpd runs a private, real vsftpd for tests: its own config,
// log, TLS certificate and FTP root in the test's temporary directory,
// listening on a random loopback port, killed when the test ends.
//
// The server logs in a system user ([User], created once per machine; root
// only) with a password,
// through a PAM service of its own that checks only the password
// (/etc/pam.d/xvault-vsftpd-test, written when missing), and chroots it into
// [Server.Root]: the session's "/" is that directory, which the test fills.
// vsftpd switches to that user, so what the test writes there must be
// readable by others (0644 files, 0755 directories) unless it is meant to
// be unreadable.
//
// A test that needs it calls [Start]; when /usr/sbin/vsftpd is missing (apt
// package vsftpd) the test is skipped with a hint, unless
// XV_TEST_REQUIRE_SERVICES=1 (CI), which turns the skip into a failure.
package vsftpd

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

	"github.com/xvault/xvault/internal/testutil/syncbuf"
)

// Binary is the vsftpd the harness runs.
const Binary = "/usr/sbin/vsftpd"

// EnvRequire, set to "1", makes a missing vsftpd fail the test instead of skipping it.
const EnvRequire = "XV_TEST_REQUIRE_SERVICES"

// TLS modes (Options.TLS).
const (
	TLSNone     = ""
	TLSExplicit = "explicit" // AUTH TLS on the control connection, required for login and data
	TLSImplicit = "implicit" // TLS from the first byte
)

// Options tune the server.
type Options struct {
	// TLS is TLSNone, TLSExplicit or TLSImplicit. With TLS the server
	// requires it for the login and every data connection, and requires
	// data connections to resume the control connection's TLS session
	// (vsftpd's default, require_ssl_reuse=YES).
	TLS string
	// PasvAddress is the address the server names in its PASV replies
	// (vsftpd pasv_address), as a server behind NAT does.
	PasvAddress string
	// Config holds extra vsftpd.conf lines, appended verbatim.
	Config []string
}

// Server is a running vsftpd.
type Server struct {
	Host string
	Port int
	// User and Password log in; User is chrooted into Root.
	User, Password string
	// Root is the directory the session sees as "/".
	Root string
	// CertPEM is the server's self-signed certificate (TLS only), for
	// clients that want to trust it.
	CertPEM []byte

	dir    string
	opts   Options
	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	stderr *syncbuf.Buffer
}

// TLS returns the server's TLS mode (Options.TLS).
func (s *Server) TLS() string { return s.opts.TLS }

// Addr returns "host:port".
func (s *Server) Addr() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) }

// Start starts a server in a temporary directory of t and registers its
// shutdown with t.Cleanup. A missing vsftpd skips the test (see
// [EnvRequire]); so does running without root, which the login user needs.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	requireVsftpd(t)
	if os.Geteuid() != 0 {
		t.Skip("vsftpd tests run only as root: they create the system user " + User)
	}
	s, err := launch(t.TempDir(), opts)
	if err != nil {
		t.Fatalf("vsftpd harness: %v", err)
	}
	t.Cleanup(func() {
		s.Stop()
		if t.Failed() {
			t.Logf("vsftpd log:\n%s", s.Log())
		}
	})
	return s
}

func requireVsftpd(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(Binary); err == nil {
		return
	}
	const hint = "install vsftpd (apt-get install vsftpd)"
	if os.Getenv(EnvRequire) == "1" {
		t.Fatalf("%s is missing and %s=1: %s", Binary, EnvRequire, hint)
	}
	t.Skip(hint)
}

// launch prepares dir (root, empty chroot dir, certificate, PAM service)
// and starts the server on a free port.
func launch(dir string, opts Options) (*Server, error) {
	switch opts.TLS {
	case TLSNone, TLSExplicit, TLSImplicit:
	default:
		return nil, fmt.Errorf("unknown TLS mode %q", opts.TLS)
	}
	s := &Server{dir: dir, opts: opts, Host: "127.0.0.1", Root: filepath.Join(dir, "root")}
	var err error
	s.User = User
	if s.Password, err = sharedPassword(); err != nil {
		return nil, fmt.Errorf("password user: %w", err)
	}
	if err := ensurePAMService(); err != nil {
		return nil, err
	}
	for _, d := range []string{s.Root, filepath.Join(dir, "empty")} {
		if err := os.Mkdir(d, 0o755); err != nil {
			return nil, fmt.Errorf("create %s: %w", d, err)
		}
	}
	// vsftpd enters the root as the user: let it through the parents.
	for d := dir; d != filepath.Dir(d) && d != os.TempDir(); d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			return nil, fmt.Errorf("open up %s: %w", d, err)
		}
	}
	if opts.TLS != TLSNone {
		if s.CertPEM, err = writeCert(dir); err != nil {
			return nil, err
		}
	}
	if err := s.startOnFreePort(); err != nil {
		return nil, err
	}
	return s, nil
}

// pamService checks the password against /etc/shadow and nothing else
// (Debian's vsftpd service also requires a login shell, which the test user
// lacks on purpose).
const (
	pamService     = "xvault-vsftpd-test"
	pamServiceFile = "/etc/pam.d/" + pamService
	pamConfig      = "# Written by the xVault test harness (internal/testutil/vsftpd).\n" +
		"auth required pam_unix.so nodelay\naccount required pam_unix.so\nsession required pam_permit.so\n"
)

// pamMu serialises ensurePAMService within a test binary (parallel tests).
var pamMu sync.Mutex

func ensurePAMService() error {
	pamMu.Lock()
	defer pamMu.Unlock()
	if b, err := os.ReadFile(pamServiceFile); err == nil && string(b) == pamConfig {
		return nil
	}
	// Written to a temporary file of its own (other test binaries run at the
	// same time) and renamed, so a parallel test never reads half a file.
	f, err := os.CreateTemp(filepath.Dir(pamServiceFile), pamService+".*.tmp")
	if err != nil {
		return fmt.Errorf("write PAM service: %w", err)
	}
	tmp := f.Name()
	_, err = f.WriteString(pamConfig)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o644)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write PAM service: %w", err)
	}
	if err := os.Rename(tmp, pamServiceFile); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("install PAM service: %w", err)
	}
	return nil
}

// Stop kills the server and its session processes and waits for it. It is
// safe to call more than once.
func (s *Server) Stop() {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // the group vsftpd leads
	<-exited
}

// Log returns vsftpd's log (the FTP protocol, commands and replies, with
// the password masked by vsftpd) and what it wrote to stderr.
func (s *Server) Log() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "vsftpd.log"))
	return string(b) + s.stderr.String()
}

func (s *Server) config() string {
	lines := []string{
		"listen=YES",
		"listen_ipv6=NO",
		"listen_address=" + s.Host,
		"listen_port=" + strconv.Itoa(s.Port),
		"background=NO",
		"anonymous_enable=NO",
		"local_enable=YES",
		"write_enable=NO",
		"chroot_local_user=YES",
		"allow_writeable_chroot=YES",
		"local_root=" + s.Root,
		"secure_chroot_dir=" + filepath.Join(s.dir, "empty"),
		"pam_service_name=" + pamService,
		"userlist_enable=NO",
		"tcp_wrappers=NO",
		"connect_from_port_20=NO",
		"pasv_enable=YES",
		"pasv_promiscuous=NO",
		"seccomp_sandbox=NO", // containers refuse the filter or the syscalls it allows
		"isolate=NO",         // no new PID/IPC namespaces
		"isolate_network=NO", // no new network namespace
		"delay_failed_login=0",
		"hide_ids=NO",
		"use_localtime=NO",
		"syslog_enable=NO",
		"xferlog_enable=YES",
		"xferlog_std_format=NO",
		"log_ftp_protocol=YES",
		"vsftpd_log_file=" + filepath.Join(s.dir, "vsftpd.log"),
	}
	if s.opts.PasvAddress != "" {
		lines = append(lines, "pasv_address="+s.opts.PasvAddress, "pasv_addr_resolve=NO")
	}
	if s.opts.TLS != TLSNone {
		lines = append(lines,
			"ssl_enable=YES",
			"rsa_cert_file="+filepath.Join(s.dir, "cert.pem"),
			"rsa_private_key_file="+filepath.Join(s.dir, "key.pem"),
			"force_local_logins_ssl=YES",
			"force_local_data_ssl=YES",
			"require_ssl_reuse=YES",
			"ssl_ciphers=HIGH",
			"ssl_tlsv1=YES", "ssl_sslv2=NO", "ssl_sslv3=NO",
			"implicit_ssl="+yesNo(s.opts.TLS == TLSImplicit),
		)
	}
	lines = append(lines, s.opts.Config...)
	return strings.Join(lines, "\n") + "\n"
}

func yesNo(b bool) string {
	if b {
		return "YES"
	}
	return "NO"
}

// startOnFreePort picks a free port and starts vsftpd on it, retrying when
// another process grabbed the port between the probe and vsftpd's bind.
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
	return fmt.Errorf("start: %w\n%s", err, s.Log())
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// start writes the config, runs vsftpd and waits until it accepts connections.
func (s *Server) start() error {
	cfgPath := filepath.Join(s.dir, "vsftpd.conf")
	if err := os.WriteFile(cfgPath, []byte(s.config()), 0o600); err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	s.stderr = &syncbuf.Buffer{}
	cmd := exec.Command(Binary, cfgPath)
	cmd.Stdout, cmd.Stderr = s.stderr, s.stderr
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C"}
	// A test binary killed by a timeout never runs its cleanups: take vsftpd
	// down with it. Its own process group lets Stop end the per-session
	// processes it forked too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
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
			return fmt.Errorf("vsftpd exited before listening on %s", addr)
		default:
		}
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = c.Close()
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("vsftpd not listening on %s after 10s", addr)
}
