package sshexec

import (
	"archive/tar"
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"
)

// reply is what the fake server answers to one exec request.
type reply struct {
	stdout, stderr []byte
	status         uint32
}

// fakeServer is an in-process SSH server that answers exec requests with
// crafted output: answer maps the command line to the reply.
type fakeServer struct {
	answer   func(cmd string) reply
	mu       sync.Mutex
	commands []string
}

// startFake serves one SSH server on loopback and returns a client connected to it.
func startFake(t *testing.T, answer func(cmd string) reply) (*ssh.Client, *fakeServer) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	signer, err := ssh.NewSignerFromKey(priv)
	require.NoError(t, err)
	cfg := &ssh.ServerConfig{NoClientAuth: true}
	cfg.AddHostKey(signer)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close() })
	f := &fakeServer{answer: answer}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go f.serve(c, cfg)
		}
	}()
	client, err := ssh.Dial("tcp", l.Addr().String(), &ssh.ClientConfig{
		User: "u", HostKeyCallback: ssh.InsecureIgnoreHostKey(), //nolint:gosec // test server
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = client.Close() })
	return client, f
}

func (f *fakeServer) serve(c net.Conn, cfg *ssh.ServerConfig) {
	_, chans, reqs, err := ssh.NewServerConn(c, cfg)
	if err != nil {
		return
	}
	go ssh.DiscardRequests(reqs)
	for nc := range chans {
		if nc.ChannelType() != "session" {
			_ = nc.Reject(ssh.UnknownChannelType, "no")
			continue
		}
		ch, chReqs, err := nc.Accept()
		if err != nil {
			return
		}
		go f.session(ch, chReqs)
	}
}

func (f *fakeServer) session(ch ssh.Channel, reqs <-chan *ssh.Request) {
	defer ch.Close()
	for req := range reqs {
		if req.Type != "exec" {
			_ = req.Reply(false, nil)
			continue
		}
		var payload struct{ Command string }
		if ssh.Unmarshal(req.Payload, &payload) != nil {
			_ = req.Reply(false, nil)
			return
		}
		_ = req.Reply(true, nil)
		f.mu.Lock()
		f.commands = append(f.commands, payload.Command)
		f.mu.Unlock()
		r := f.answer(payload.Command)
		_, _ = ch.Stderr().Write(r.stderr)
		_, _ = ch.Write(r.stdout)
		status := make([]byte, 4)
		binary.BigEndian.PutUint32(status, r.status)
		_, _ = ch.SendRequest("exit-status", false, status)
		return
	}
}

// gnuProbe answers the probe as GNU tar 1.34 and every tar with stream.
func gnuProbe(stream []byte, stderr string, status uint32) func(string) reply {
	return func(cmd string) reply {
		if cmd == ProbeCommand {
			return reply{stdout: []byte("tar (GNU tar) 1.34\nCopyright...\n")}
		}
		out := stream
		if strings.Contains(cmd, "--no-recursion") { // parents first, then the root's archive
			out = append(tarOf(hdrDir("srv")), stream...)
		}
		return reply{stdout: out, stderr: []byte(stderr), status: status}
	}
}

// tarOf writes the headers (regular files get their name as content) in
// GNU format, except where a header asks for another format.
func tarOf(hdrs ...*tar.Header) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range hdrs {
		body := []byte(nil)
		if h.Typeflag == tar.TypeReg {
			body = []byte(h.Name)
			h.Size = int64(len(body))
		}
		if err := tw.WriteHeader(h); err != nil {
			panic(err)
		}
		_, _ = tw.Write(body)
	}
	_ = tw.Close()
	return buf.Bytes()
}

func hdrDir(name string) *tar.Header {
	return &tar.Header{Name: name + "/", Typeflag: tar.TypeDir, Mode: 0o755}
}

func hdrFile(name string) *tar.Header {
	return &tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644}
}
