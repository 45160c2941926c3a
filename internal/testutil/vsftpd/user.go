package vsftpd

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
)

// User is the system user the servers log in. vsftpd changes into the
// user's home directory before it changes into local_root (and fails the
// login when it cannot), so unlike the sshd harness's user, whose home is
// /nonexistent, this one has "/" as its home; it has no login shell.
const User = "xvftp"

var userOnce struct {
	sync.Once
	password string
	err      error
}

// sharedPassword creates User (once per machine, root only) and returns its
// password. Processes running at the same time share the user: creation is
// serialised with a file lock and the password is kept in a root-only file
// next to the lock, so every process logs in with the same one. It is a
// throwaway password of a throwaway CI account.
func sharedPassword() (string, error) {
	if os.Geteuid() != 0 {
		return "", errors.New("vsftpd tests need root: they create the system user " + User)
	}
	userOnce.Do(func() { userOnce.password, userOnce.err = ensureUser() })
	return userOnce.password, userOnce.err
}

func ensureUser() (string, error) {
	dir := filepath.Join(os.TempDir(), "xvault-vsftpd-harness")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("state dir: %w", err)
	}
	lock, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return "", fmt.Errorf("lock file: %w", err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", fmt.Errorf("lock %s: %w", lock.Name(), err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN) //nolint:errcheck // closing releases it too

	pwFile := filepath.Join(dir, User+".password")
	_, lookupErr := user.Lookup(User)
	if data, err := os.ReadFile(pwFile); err == nil && lookupErr == nil {
		return strings.TrimSpace(string(data)), nil
	}
	if lookupErr != nil {
		var unknown user.UnknownUserError
		if !errors.As(lookupErr, &unknown) {
			return "", fmt.Errorf("look up %s: %w", User, lookupErr)
		}
		out, err := exec.Command("useradd", "--no-create-home", "--home-dir", "/",
			"--shell", "/usr/sbin/nologin", "--comment", "xVault vsftpd test user", User).CombinedOutput()
		if err != nil {
			return "", fmt.Errorf("useradd %s: %w: %s", User, err, out)
		}
	}
	b := make([]byte, 18)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on Linux
	password := base64.RawURLEncoding.EncodeToString(b)
	cmd := exec.Command("chpasswd") // reads user:password from stdin, never argv
	cmd.Stdin = strings.NewReader(User + ":" + password + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("chpasswd %s: %w: %s", User, err, out)
	}
	if err := os.WriteFile(pwFile, []byte(password+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("save password: %w", err)
	}
	return password, nil
}
