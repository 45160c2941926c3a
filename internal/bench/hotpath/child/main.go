//go:build xvbenchchild

// Command xvbenchchild runs one backup through xVault's real hot path — the
// sftp connector, archive.Writer and agentd storage, with the agent's
// defaults, as agentd/agent/backup.go wires them — and prints a
// hotpath.Result. See package hotpath for how it is built.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"sync/atomic"
	"syscall"
	"time"

	"filippo.io/age"

	"github.com/xvault/xvault/agentd/internal/connector"
	"github.com/xvault/xvault/agentd/internal/connector/sftp"
	"github.com/xvault/xvault/agentd/internal/storage"
	"github.com/xvault/xvault/internal/bench/hotpath"
	"github.com/xvault/xvault/sdk/archive"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "xvbenchchild:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	var spec hotpath.Spec
	if err := json.NewDecoder(os.Stdin).Decode(&spec); err != nil {
		return fmt.Errorf("read spec: %w", err)
	}
	if spec.CPUProfile != "" {
		f, err := os.Create(spec.CPUProfile)
		if err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	backupFn := backup
	if spec.PullOnly {
		backupFn = pullOnly
	}
	if spec.Incremental != nil {
		backupFn = incrementalBackup
	}
	if spec.S3 != nil {
		backupFn = s3Backup
	}
	res, err := backupFn(ctx, spec)
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(res)
}

// backup is agentd/agent/backup.go without the hub: connector → tar → zstd →
// age → storage, then commit.
func backup(ctx context.Context, spec hotpath.Spec) (hotpath.Result, error) {
	var out hotpath.Result
	store, err := storage.Open(spec.StoreDir)
	if err != nil {
		return out, err
	}
	ids := storage.SnapshotIDs{TenantID: "bench", SourceID: "dataset", SnapshotID: "run"}
	p, err := store.Begin(ids)
	if err != nil {
		return out, err
	}
	defer p.Abort() //nolint:errcheck // no-op after Commit
	started := time.Now()
	res, err := pullArtifact(ctx, spec, p, &out)
	if err != nil {
		return out, err
	}
	pulled := time.Now()
	m := archive.Manifest{AgeRecipient: spec.Recipient, StartedAt: started, FinishedAt: pulled}
	m.SetResult(res)
	if _, err := p.Commit(m, archive.Meta{CreatedAt: pulled}); err != nil {
		return out, err
	}
	out.PullSeconds = pulled.Sub(started).Seconds()
	out.CommitSeconds = time.Since(pulled).Seconds()
	out.ArtifactPath, err = store.ArtifactPath(ids)
	return out, err
}

// pullArtifact runs the connector into an artifact written to dst (tar →
// zstd → age) and returns the writer's result; the counters of the run go
// into out.
func pullArtifact(ctx context.Context, spec hotpath.Spec, dst io.Writer, out *hotpath.Result) (archive.Result, error) {
	recipient, err := age.ParseX25519Recipient(spec.Recipient)
	if err != nil {
		return archive.Result{}, fmt.Errorf("recipient: %w", err)
	}
	counter := &connCounter{}
	conn, err := newConnector(spec, counter)
	if err != nil {
		return archive.Result{}, err
	}
	w, err := archive.NewWriter(dst, recipient, archive.Options{})
	if err != nil {
		return archive.Result{}, fmt.Errorf("start artifact: %w", err)
	}
	sink := &archiveSink{w: w}
	if err := conn.Pull(ctx, sink); err != nil {
		w.Close() //nolint:errcheck // the pull error is the one to report
		return archive.Result{}, err
	}
	res, err := w.Close()
	if err != nil {
		return archive.Result{}, fmt.Errorf("finish artifact: %w", err)
	}
	out.Artifact, out.Warnings = res, int(sink.warnings.Load())
	out.FilesRead = res.Files
	out.SSHBytesRead, out.SSHBytesWritten = counter.read.Load(), counter.written.Load()
	return res, nil
}

// newConnector is the sftp connector with the agent's defaults; counter
// counts the bytes of its connection.
func newConnector(spec hotpath.Spec, counter *connCounter) (*sftp.Connector, error) {
	return sftp.New(sftp.Config{
		Host: spec.Host, Port: spec.Port, Username: spec.User, Paths: spec.Paths, HostKey: spec.HostKey,
		Transfer: spec.Transfer,
	}, sftp.Credential{PrivateKey: spec.PrivateKey}, sftp.Options{DialContext: counter.dial})
}

// pullOnly runs the connector into a sink that reads and drops every body.
func pullOnly(ctx context.Context, spec hotpath.Spec) (hotpath.Result, error) {
	var out hotpath.Result
	counter := &connCounter{}
	conn, err := newConnector(spec, counter)
	if err != nil {
		return out, err
	}
	started := time.Now()
	sink := &discardSink{}
	if err := conn.Pull(ctx, sink); err != nil {
		return out, err
	}
	out.PullSeconds = time.Since(started).Seconds()
	out.Artifact = archive.Result{Files: sink.files, PlainBytes: sink.bytes}
	out.Warnings = int(sink.warnings)
	return out, nil
}

type discardSink struct{ files, bytes, warnings int64 }

func (s *discardSink) Put(e connector.Entry, body io.Reader) error {
	n, err := io.Copy(io.Discard, body)
	if e.Type == connector.TypeFile {
		s.files++
	}
	s.bytes += n
	return err
}

func (s *discardSink) Warn(string, error) { s.warnings++ }
func (s *discardSink) Progress(string)    {}

// archiveSink is agentd/agent's archiveSink: entries straight into the writer.
type archiveSink struct {
	w        *archive.Writer
	current  atomic.Pointer[string]
	warnings atomic.Int64
}

func (s *archiveSink) Put(e connector.Entry, body io.Reader) error {
	if err := s.w.Add(e.TarHeader(), body); err != nil {
		return fmt.Errorf("archive %s: %w", e.Name, err)
	}
	return nil
}

func (s *archiveSink) Warn(path string, err error) {
	s.warnings.Add(1)
	fmt.Fprintf(os.Stderr, "warning: %s: %v\n", path, err)
}

func (s *archiveSink) Progress(path string) { s.current.Store(&path) }

// The bench child measures the file pipeline only: it keeps no descriptor
// or notes, and its sources send no objects.
func (s *discardSink) Describe(archive.Descriptor) error { return nil }
func (s *archiveSink) Describe(archive.Descriptor) error { return nil }
func (s *discardSink) Note(string, any)                  {}
func (s *archiveSink) Note(string, any)                  {}
func (s *discardSink) PutObject(_ string, _ int64, _ time.Time, body io.Reader) error {
	_, err := io.Copy(io.Discard, body)
	return err
}
func (s *archiveSink) PutObject(name string, _ int64, _ time.Time, _ io.Reader) error {
	return fmt.Errorf("bench child: unexpected object %s", name)
}
