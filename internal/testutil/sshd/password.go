package sshd

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
	"testing"
)

// PasswordUser is the system user created for password-authentication tests.
// With UsePAM no, sshd checks passwords against the shadow file, so a real
// account is needed; it has no home and no login shell.
const PasswordUser = "xvtest"

var pwOnce struct {
	sync.Once
	password string
	err      error
}

// passwordUser returns PasswordUser and its password, creating the user (once
// per machine) when running as root, and skips the test otherwise.
func passwordUser(t testing.TB) (string, string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("password authentication tests run only as root: they create the system user " + PasswordUser)
	}
	password, err := sharedPassword()
	if err != nil {
		t.Fatalf("sshd harness: password user: %v", err)
	}
	return PasswordUser, password
}

// sharedPassword creates PasswordUser (once per machine, root only) and
// returns its password. Processes running at the same time share the user:
// creation is serialised with a file lock and the password is kept in a
// root-only file next to the lock, so every process logs in with the same
// one. It is a throwaway password of a throwaway CI account.
func sharedPassword() (string, error) {
	if os.Geteuid() != 0 {
		return "", errors.New("password authentication needs root: it creates the system user " + PasswordUser)
	}
	pwOnce.Do(func() { pwOnce.password, pwOnce.err = ensurePasswordUser() })
	return pwOnce.password, pwOnce.err
}

func ensurePasswordUser() (string, error) {
	dir := filepath.Join(os.TempDir(), "xvault-sshd-harness")
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

	pwFile := filepath.Join(dir, PasswordUser+".password")
	_, lookupErr := user.Lookup(PasswordUser)
	if data, err := os.ReadFile(pwFile); err == nil && lookupErr == nil {
		return strings.TrimSpace(string(data)), nil
	}
	if lookupErr != nil {
		var unknown user.UnknownUserError
		if !errors.As(lookupErr, &unknown) {
			return "", fmt.Errorf("look up %s: %w", PasswordUser, lookupErr)
		}
		out, err := exec.Command("useradd", "--no-create-home", "--home-dir", "/nonexistent",
			"--shell", "/usr/sbin/nologin", "--comment", "xVault test user", PasswordUser).CombinedOutput()
		if err != nil {
			return "", fmt.Errorf("useradd %s: %w: %s", PasswordUser, err, out)
		}
	}
	password := randomPassword()
	cmd := exec.Command("chpasswd") // reads user:password from stdin, never argv
	cmd.Stdin = strings.NewReader(PasswordUser + ":" + password + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("chpasswd %s: %w: %s", PasswordUser, err, out)
	}
	if err := os.WriteFile(pwFile, []byte(password+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("save password: %w", err)
	}
	return password, nil
}

func randomPassword() string {
	b := make([]byte, 18)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on Linux
	return base64.RawURLEncoding.EncodeToString(b)
}
