package sftp

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"github.com/xvault/xvault/agentd/internal/connector/connectortest"
	"io"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/agentd/internal/connector"
	"github.com/xvault/xvault/agentd/internal/connector/sshexec"
)

// got is one entry as the fake sink received it.
type got struct {
	connector.Entry
	SHA256 string // of the body, files only
}

// fakeSink records what a connector hands it and checks the Sink contract:
// Put is never called concurrently and a file body yields exactly Size bytes.
type fakeSink struct {
	connectortest.Extras
	mu       sync.Mutex
	inPut    bool
	entries  []got
	warns    map[string]error
	shell    []string // warnings quoting the remote shell's stderr
	progress int
	// onPut, when set, runs after each entry was recorded; an error is returned by Put.
	onPut func(e connector.Entry) error
	// bodyErr records a broken contract, checked by check.
	bodyErr error
}

func newFakeSink() *fakeSink { return &fakeSink{warns: map[string]error{}} }

func (s *fakeSink) Put(e connector.Entry, body io.Reader) error {
	s.mu.Lock()
	if s.inPut {
		s.bodyErr = fmt.Errorf("concurrent Put for %s", e.Name)
	}
	s.inPut = true
	s.mu.Unlock()
	defer func() { s.mu.Lock(); s.inPut = false; s.mu.Unlock() }()

	h := sha256.New()
	n, err := io.Copy(h, body)
	if err != nil {
		return err
	}
	g := got{Entry: e}
	if e.Type == connector.TypeFile {
		g.SHA256 = hex.EncodeToString(h.Sum(nil))
	}
	s.mu.Lock()
	if n != e.Size && s.bodyErr == nil {
		s.bodyErr = fmt.Errorf("%s: body has %d bytes, header says %d", e.Name, n, e.Size)
	}
	s.entries = append(s.entries, g)
	s.mu.Unlock()
	if s.onPut != nil {
		return s.onPut(e)
	}
	return nil
}

// Warn records a warning by path. The remote shell's own stderr (root's
// rc files on a test box print pyenv noise under load) is not about the
// tree and is kept apart.
func (s *fakeSink) Warn(path string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if path == sshexec.ShellOutput {
		s.shell = append(s.shell, err.Error())
		return
	}
	s.warns[path] = err
}

func (s *fakeSink) Progress(string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.progress++
}

func (s *fakeSink) check(t testing.TB) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	require.NoError(t, s.bodyErr)
}

func (s *fakeSink) names() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, e := range s.entries {
		out = append(out, e.Name)
	}
	return out
}

func (s *fakeSink) byName() map[string]got {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := map[string]got{}
	for _, e := range s.entries {
		m[e.Name] = e
	}
	return m
}

func sha(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// discardSink reads bodies and forgets them (benchmarks).
type discardSink struct {
	connectortest.Extras
	files, bytes int64
}

func (d *discardSink) Put(e connector.Entry, body io.Reader) error {
	n, err := io.Copy(io.Discard, body)
	d.bytes += n
	if e.Type == connector.TypeFile {
		d.files++
	}
	return err
}
func (d *discardSink) Warn(string, error) {}
func (d *discardSink) Progress(string)    {}
