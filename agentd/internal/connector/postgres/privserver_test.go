package postgres

import (
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// privateServer is a PostgreSQL server of one test, made with initdb in a
// temporary directory: password (SCRAM) authentication, which the shared
// trust-authenticated server cannot check, and a server the test may stop.
type privateServer struct {
	*server
	cmd      *exec.Cmd
	exited   chan struct{}
	Password string // of the superuser postgres
	log      *headBuffer
}

const privateHint = "a private PostgreSQL server needs root, the postgres user and the server binaries (apt-get install postgresql)"

// startPrivateServer needs root (the server runs as the postgres user) and
// the server binaries; it skips otherwise.
func startPrivateServer(t *testing.T) *privateServer {
	t.Helper()
	p := tryPrivateServer(t)
	if p == nil {
		t.Skip(privateHint)
	}
	return p
}

// tryPrivateServer starts a private server, or returns nil when this
// machine cannot run one.
func tryPrivateServer(t *testing.T) *privateServer {
	t.Helper()
	bin := serverBinDir()
	pgUser, err := user.Lookup("postgres")
	if os.Geteuid() != 0 || err != nil || bin == "" {
		return nil
	}
	uid, _ := strconv.Atoi(pgUser.Uid)
	gid, _ := strconv.Atoi(pgUser.Gid)
	cred := &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, Pdeathsig: syscall.SIGKILL}

	dir, err := os.MkdirTemp("", "xvpgsrv")
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	require.NoError(t, os.Chown(dir, uid, gid))
	p := &privateServer{Password: unique("super-")}
	pwfile := filepath.Join(dir, "pw")
	require.NoError(t, os.WriteFile(pwfile, []byte(p.Password+"\n"), 0o600))
	require.NoError(t, os.Chown(pwfile, uid, gid))

	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", filepath.Join(dir, "data"), "-U", "postgres",
		"--auth=scram-sha-256", "--pwfile="+pwfile, "--no-sync", "--encoding=UTF8", "--locale=C.UTF-8")
	initdb.SysProcAttr = cred
	initdb.Env = []string{"PATH=/usr/bin:/bin", "LC_ALL=C"}
	out, err := initdb.CombinedOutput()
	require.NoError(t, err, "initdb: %s", out)

	port := freePort(t)
	p.server = &server{host: "127.0.0.1", port: port, env: []string{"PGPASSWORD=" + p.Password}}
	p.cmd = exec.Command(filepath.Join(bin, "postgres"), "-D", filepath.Join(dir, "data"), "-p", strconv.Itoa(port),
		"-k", dir, "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "max_connections=20")
	p.cmd.SysProcAttr = cred
	p.cmd.Env = initdb.Env
	p.log = &headBuffer{}
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	require.NoError(t, p.cmd.Start())
	p.exited = make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(p.Stop)
	p.waitReady(t)
	return p
}

func (p *privateServer) waitReady(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		_, err := p.run("postgres", "SELECT 1")
		if err == nil {
			return
		}
		select {
		case <-p.exited:
			t.Fatalf("private postgres exited: %v\n%s", err, p.log)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("private postgres not ready: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Stop shuts the server down at once (SIGQUIT: immediate shutdown, every
// connection cut) and waits for it.
func (p *privateServer) Stop() {
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGQUIT)
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// serverBinDir is the newest /usr/lib/postgresql/*/bin holding initdb.
func serverBinDir() string {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool {
		return majorNumber(filepath.Base(filepath.Dir(dirs[i]))) > majorNumber(filepath.Base(filepath.Dir(dirs[j])))
	})
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d
		}
	}
	return ""
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
