// Package s3server runs a private, real S3-compatible server for tests:
// versitygw with its POSIX backend in the test's temporary directory,
// listening on a random loopback port, with a fresh root key pair and one
// bucket, killed when the test ends.
//
// A test that needs it calls [Start]; when the versitygw binary is missing
// the test is skipped with a hint, unless XV_TEST_REQUIRE_SERVICES=1 (CI),
// which turns the skip into a failure. A program that is not a test (the
// benchmark) calls [Launch] and stops the server with [Server.Stop].
//
// The binary is looked up in this order: $XV_VERSITYGW, versitygw on $PATH,
// then the cache directory .ci/run installs it into,
// ${XDG_CACHE_HOME:-$HOME/.cache}/xvault/bin/versitygw. Build it with
//
//	GOBIN=$HOME/.cache/xvault/bin go install github.com/versity/versitygw/cmd/versitygw@v1.8.0
package s3server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/xvault/xvault/internal/testutil/syncbuf"
)

const (
	// EnvBinary names the versitygw binary to run, overriding the lookup.
	EnvBinary = "XV_VERSITYGW"
	// EnvRequire, set to "1", makes a missing binary fail the test instead of skipping it.
	EnvRequire = "XV_TEST_REQUIRE_SERVICES"
	// Region is the region the server answers for.
	Region = "us-east-1"
	// DefaultBucket is the bucket Launch creates.
	DefaultBucket = "xvault-test"

	installHint = "build versitygw: GOBIN=$HOME/.cache/xvault/bin go install github.com/versity/versitygw/cmd/versitygw@v1.8.0 (or run .ci/run), or set " + EnvBinary
	healthPath  = "/xvault-health"
)

// Server is a running versitygw.
type Server struct {
	// Endpoint is the base URL, "http://127.0.0.1:PORT".
	Endpoint string
	Host     string
	Port     int
	// AccessKey and SecretKey are the root credential.
	AccessKey string
	SecretKey string
	Region    string
	// Bucket exists when Launch returns.
	Bucket string
	// Dir is the POSIX backend root: one directory per bucket.
	Dir string

	bin    string
	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	log    *syncbuf.Buffer
}

// Addr returns "host:port".
func (s *Server) Addr() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) }

// Start starts a server in a temporary directory of t and registers its
// shutdown with t.Cleanup. A missing binary skips the test (see [EnvRequire]).
func Start(t testing.TB) *Server {
	t.Helper()
	if _, err := Binary(); err != nil {
		if os.Getenv(EnvRequire) == "1" {
			t.Fatalf("%v and %s=1", err, EnvRequire)
		}
		t.Skip(err.Error())
	}
	s, err := Launch(t.TempDir())
	if err != nil {
		t.Fatalf("s3server harness: %v", err)
	}
	t.Cleanup(func() {
		s.Kill()
		if t.Failed() {
			t.Logf("versitygw log:\n%s", s.Log())
		}
	})
	return s
}

// Binary finds the versitygw binary (see the package doc).
func Binary() (string, error) {
	if p := os.Getenv(EnvBinary); p != "" {
		if isExecutable(p) {
			return p, nil
		}
		return "", fmt.Errorf("%s=%s is not an executable file (hint: %s)", EnvBinary, p, installHint)
	}
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p, nil
	}
	if cache, err := os.UserCacheDir(); err == nil {
		if p := filepath.Join(cache, "xvault", "bin", "versitygw"); isExecutable(p) {
			return p, nil
		}
	}
	return "", errors.New("versitygw not found (hint: " + installHint + ")")
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

// Launch starts a server whose data lives in dir/data, with a random root
// key pair, and creates [DefaultBucket]. The caller must call
// [Server.Stop] or [Server.Kill]. Unlike [Start] it never skips.
func Launch(dir string) (*Server, error) {
	bin, err := Binary()
	if err != nil {
		return nil, err
	}
	s := &Server{
		Host: "127.0.0.1", Region: Region, Bucket: DefaultBucket, bin: bin,
		Dir: filepath.Join(dir, "data"), AccessKey: "XV" + randomHex(9), SecretKey: randomHex(20),
	}
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("create %s: %w", s.Dir, err)
	}
	if err := s.startOnFreePort(); err != nil {
		return nil, err
	}
	if err := s.CreateBucket(context.Background(), s.Bucket); err != nil {
		s.Kill()
		return nil, fmt.Errorf("create bucket %s: %w\n%s", s.Bucket, err, s.Log())
	}
	return s, nil
}

// CreateBucket makes a bucket with the root credential.
func (s *Server) CreateBucket(ctx context.Context, name string) error {
	c, err := s.Client()
	if err != nil {
		return err
	}
	if err := c.MakeBucket(ctx, name, minio.MakeBucketOptions{Region: s.Region}); err != nil {
		return fmt.Errorf("make bucket %s: %w", name, err)
	}
	return nil
}

// Client returns a minio-go client for the root credential, for tests that
// want to look at the bucket behind the code under test.
func (s *Server) Client() (*minio.Client, error) {
	c, err := minio.New(s.Addr(), &minio.Options{
		Creds:  credentials.NewStaticV4(s.AccessKey, s.SecretKey, ""),
		Region: s.Region, BucketLookup: minio.BucketLookupPath,
	})
	if err != nil {
		return nil, fmt.Errorf("s3 client for %s: %w", s.Endpoint, err)
	}
	return c, nil
}

// Stop ends the server with SIGTERM (it shuts down cleanly) and waits for
// it. It is safe to call more than once.
func (s *Server) Stop() { s.signal(syscall.SIGTERM) }

// Kill ends the server with SIGKILL, as a crash would, and waits for it.
// It is safe to call more than once.
func (s *Server) Kill() { s.signal(syscall.SIGKILL) }

func (s *Server) signal(sig syscall.Signal) {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
	}
}

// Restart starts a stopped server again on the same port and directory,
// with the same credential: buckets, objects and unfinished multipart
// uploads are still there.
func (s *Server) Restart() error {
	s.Kill()
	if err := s.start(); err != nil {
		return fmt.Errorf("restart versitygw: %w\n%s", err, s.Log())
	}
	return nil
}

// Log returns what versitygw wrote so far.
func (s *Server) Log() string { return s.log.String() }

// PID returns the process id of the server, or 0 when it is stopped.
func (s *Server) PID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

// startOnFreePort picks a free port and starts the server on it, retrying
// when another process grabbed the port between the probe and the bind.
func (s *Server) startOnFreePort() error {
	var err error
	for range 5 {
		if s.Port, err = freePort(); err != nil {
			return err
		}
		s.Endpoint = "http://" + s.Addr()
		if err = s.start(); err == nil {
			return nil
		}
	}
	return fmt.Errorf("start versitygw: %w\n%s", err, s.Log())
}

// start runs versitygw and waits until its health endpoint answers. The
// root credential goes through the environment (ROOT_ACCESS_KEY_ID,
// ROOT_SECRET_ACCESS_KEY), not argv, so ps does not show it.
func (s *Server) start() error {
	s.log = &syncbuf.Buffer{}
	cmd := exec.Command(s.bin, "--port", s.Addr(), "--region", s.Region,
		"--health", healthPath, "--quiet", "posix", s.Dir)
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
		"ROOT_ACCESS_KEY_ID=" + s.AccessKey, "ROOT_SECRET_ACCESS_KEY=" + s.SecretKey,
	}
	cmd.Stdout, cmd.Stderr = s.log, s.log
	// A test binary killed by a timeout never runs its cleanups: take the server down with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("run %s: %w", s.bin, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	s.mu.Lock()
	s.cmd, s.exited = cmd, exited
	s.mu.Unlock()
	if err := waitHealthy(s.Endpoint+healthPath, exited); err != nil {
		s.Kill()
		return err
	}
	return nil
}

func waitHealthy(url string, exited <-chan struct{}) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return fmt.Errorf("versitygw exited before answering %s", url)
		default:
		}
		resp, err := client.Get(url)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("versitygw not answering %s after 15s", url)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}
