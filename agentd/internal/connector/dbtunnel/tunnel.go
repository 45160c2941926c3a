// Package dbtunnel forwards a database port over an SSH connection to a
// unix socket in a private directory of the agent, so the agent's own dump
// tool (mysqldump, pg_dump) reaches a database that listens only on the
// customer server's loopback, and nothing is installed or run there. A unix
// socket in a 0700 directory (not a TCP port on 127.0.0.1) means no other
// user of the agent's host can use the tunnel while it is open.
package dbtunnel

import (
	"context"
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

// Tunnel is an open forward. Close it when the tool has exited.
type Tunnel struct {
	socket string
	ln     net.Listener
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	firstE error // the first failure to reach the remote address
}

// Open listens on socketPath (its directory must exist and be private) and
// forwards every connection to remoteAddr ("127.0.0.1:3306"), dialed by
// the SSH server over client.
func Open(client *ssh.Client, socketPath, remoteAddr string, log *slog.Logger) (*Tunnel, error) {
	return OpenNetwork(client, socketPath, "tcp", remoteAddr, log)
}

// OpenNetwork is Open for a remote address of network "tcp" or "unix" (a
// socket path on the SSH server, e.g. /run/mysqld/mysqld.sock).
func OpenNetwork(client *ssh.Client, socketPath, network, remoteAddr string, log *slog.Logger) (*Tunnel, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if fi, err := os.Stat(filepath.Dir(socketPath)); err != nil || fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("tunnel: directory of %s must exist and be private (0700)", socketPath)
	}
	ln, err := net.Listen("unix", socketPath)
	if err != nil {
		return nil, fmt.Errorf("tunnel: listen %s: %w", socketPath, err)
	}
	t := &Tunnel{socket: socketPath, ln: ln, conns: map[net.Conn]struct{}{}}
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		for {
			local, err := ln.Accept()
			if err != nil {
				return
			}
			t.wg.Add(1)
			go func() {
				defer t.wg.Done()
				t.forward(client, local, network, remoteAddr, log)
			}()
		}
	}()
	return t, nil
}

func (t *Tunnel) forward(client *ssh.Client, local net.Conn, network, remoteAddr string, log *slog.Logger) {
	defer local.Close()
	remote, err := client.Dial(network, remoteAddr)
	if err != nil {
		t.mu.Lock()
		if t.firstE == nil {
			t.firstE = fmt.Errorf("the SSH server could not reach %s: %w", remoteAddr, err)
		}
		t.mu.Unlock()
		log.Warn("tunnel: remote dial failed", "remote", remoteAddr, "err", err)
		return
	}
	defer remote.Close()
	if !t.track(local, remote) {
		return
	}
	defer t.untrack(local, remote)
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(remote, local); _ = closeWrite(remote); done <- struct{}{} }()
	go func() { _, _ = io.Copy(local, remote); _ = closeWrite(local); done <- struct{}{} }()
	<-done
	<-done
}

func closeWrite(c net.Conn) error {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

func (t *Tunnel) track(cs ...net.Conn) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return false
	}
	for _, c := range cs {
		t.conns[c] = struct{}{}
	}
	return true
}

func (t *Tunnel) untrack(cs ...net.Conn) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, c := range cs {
		delete(t.conns, c)
	}
}

// Socket is the path tools connect to.
func (t *Tunnel) Socket() string { return t.socket }

// Err is the first failure of the SSH server to reach the database, if
// any: a tool's "can't connect" means more with it.
func (t *Tunnel) Err() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.firstE
}

// Close stops listening, cuts open forwards and removes the socket.
func (t *Tunnel) Close() error {
	t.mu.Lock()
	t.closed = true
	for c := range t.conns {
		_ = c.Close()
	}
	t.mu.Unlock()
	err := t.ln.Close()
	t.wg.Wait()
	if rerr := os.Remove(t.socket); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
		err = errors.Join(err, rerr)
	}
	return err
}

// ContextClose closes t when ctx ends; the returned stop func undoes that.
func (t *Tunnel) ContextClose(ctx context.Context) (stop func() bool) {
	return context.AfterFunc(ctx, func() { _ = t.Close() })
}
