package mysql

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"

	"golang.org/x/crypto/ssh"
)

// unixForward forwards a local unix socket to a unix socket on the SSH
// server (OpenSSH's direct-streamlocal), for a database that listens only
// on a socket there (skip-networking, or WordPress's "localhost:/path").
// dbtunnel forwards TCP addresses only; this is its socket twin.
type unixForward struct {
	ln     net.Listener
	path   string
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	first  error
}

func openUnixForward(client *ssh.Client, socketPath, remote string, log *slog.Logger) (*unixForward, error) {
	if fi, err := os.Stat(filepath.Dir(socketPath)); err != nil || fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("forward: directory of %s must exist and be private (0700)", socketPath)
	}
	ln, err := net.Listen("unix", socketPath)
	if err != nil {
		return nil, fmt.Errorf("forward: listen %s: %w", socketPath, err)
	}
	f := &unixForward{ln: ln, path: socketPath, conns: map[net.Conn]struct{}{}}
	f.wg.Go(func() {
		for {
			local, err := ln.Accept()
			if err != nil {
				return
			}
			f.wg.Go(func() { f.forward(client, local, remote, log) })
		}
	})
	return f, nil
}

func (f *unixForward) forward(client *ssh.Client, local net.Conn, remote string, log *slog.Logger) {
	defer local.Close()
	rc, err := client.Dial("unix", remote)
	if err != nil {
		f.mu.Lock()
		if f.first == nil {
			f.first = fmt.Errorf("the SSH server could not open the socket %s: %w", remote, err)
		}
		f.mu.Unlock()
		log.Warn("forward: remote socket failed", "remote", remote, "err", err)
		return
	}
	defer rc.Close()
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return
	}
	f.conns[local], f.conns[rc] = struct{}{}, struct{}{}
	f.mu.Unlock()
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(rc, local); closeWrite(rc); done <- struct{}{} }()
	go func() { _, _ = io.Copy(local, rc); closeWrite(local); done <- struct{}{} }()
	<-done
	<-done
	f.mu.Lock()
	delete(f.conns, local)
	delete(f.conns, rc)
	f.mu.Unlock()
}

// Err is the first failure to reach the remote socket.
func (f *unixForward) Err() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.first
}

// Close stops listening, cuts open forwards and removes the socket.
func (f *unixForward) Close() error {
	f.mu.Lock()
	f.closed = true
	for c := range f.conns {
		_ = c.Close()
	}
	f.mu.Unlock()
	err := f.ln.Close()
	f.wg.Wait()
	if rerr := os.Remove(f.path); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
		err = errors.Join(err, rerr)
	}
	return err
}

func closeWrite(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
}
