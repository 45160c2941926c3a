//go:build xvbenchchild

// Command xvbenchdbchild dumps one database through xVault's real mysql
// connector into a real artifact (tar → zstd → age, archive.Writer with the
// agent's defaults) and prints a hotpath.DBResult. The sink lays the
// snapshot out as agentd/agent's does (xvault.json first, objects under
// their layout names, xvault.end.json last). It is built like ../child.
package main

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"filippo.io/age"

	"github.com/xvault/xvault/agentd/internal/connector"
	"github.com/xvault/xvault/agentd/internal/connector/mysql"
	"github.com/xvault/xvault/agentd/internal/egress"
	"github.com/xvault/xvault/internal/bench/hotpath"
	"github.com/xvault/xvault/sdk"
	"github.com/xvault/xvault/sdk/archive"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "xvbenchdbchild:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	var spec hotpath.DBSpec
	if err := json.NewDecoder(os.Stdin).Decode(&spec); err != nil {
		return fmt.Errorf("read spec: %w", err)
	}
	recipient, err := age.ParseX25519Recipient(spec.Recipient)
	if err != nil {
		return fmt.Errorf("recipient: %w", err)
	}
	conn, err := mysql.New(sdk.MySQLConfig{Host: spec.Host, Port: spec.Port, Username: spec.User, Databases: []string{spec.Database}},
		"", &sdk.SecretPayload{Password: spec.Password},
		connector.Env{TempDir: spec.TempDir, Egress: egress.Policy{AllowLoopback: true, AllowPrivate: true}})
	if err != nil {
		return err
	}
	f, err := os.OpenFile(spec.Out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	started := time.Now()
	w, err := archive.NewWriter(f, recipient, archive.Options{})
	if err != nil {
		return fmt.Errorf("start artifact: %w", err)
	}
	sink := &objectSink{w: w}
	if err := conn.Pull(ctx, sink); err != nil {
		w.Close() //nolint:errcheck // the pull error is the one to report
		return err
	}
	if err := sink.putJSON(archive.EndName, archive.End{FinishedAt: time.Now().UTC(), Files: sink.objects, Warnings: []string{}}); err != nil {
		return err
	}
	res, err := w.Close()
	if err != nil {
		return fmt.Errorf("finish artifact: %w", err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	out := hotpath.DBResult{Artifact: res, PullSeconds: time.Since(started).Seconds(), Warnings: sink.warnings}
	return json.NewEncoder(os.Stdout).Encode(out)
}

// objectSink is the part of agentd/agent's archiveSink a database pull uses.
type objectSink struct {
	w         *archive.Writer
	described bool
	objects   int64
	warnings  int
}

func (s *objectSink) Describe(d archive.Descriptor) error {
	if s.described {
		return fmt.Errorf("archive: descriptor already written")
	}
	s.described = true
	d.LayoutVersion, d.SourceType, d.CreatedAt = archive.LayoutVersion, "mysql", time.Now().UTC()
	if d.Warnings == nil {
		d.Warnings = []string{}
	}
	return s.putJSON(archive.DescriptorName, d)
}

func (s *objectSink) putJSON(name string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", name, err)
	}
	b = append(b, '\n')
	hdr := &tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(b)), ModTime: time.Now().UTC()}
	return s.w.Add(hdr, bytes.NewReader(b))
}

func (s *objectSink) Put(e connector.Entry, _ io.Reader) error {
	return fmt.Errorf("bench sink: unexpected file-tree entry %q from a database pull", e.Name)
}

func (s *objectSink) PutObject(name string, size int64, modTime time.Time, body io.Reader) error {
	if !s.described {
		return fmt.Errorf("bench sink: %s before Describe", name)
	}
	hdr := &tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o600, Size: size, ModTime: modTime.UTC(), Format: tar.FormatPAX}
	if err := s.w.Add(hdr, body); err != nil {
		return fmt.Errorf("archive %s: %w", name, err)
	}
	s.objects++
	return nil
}

func (s *objectSink) Note(string, any) {}
func (s *objectSink) Warn(path string, err error) {
	s.warnings++
	fmt.Fprintf(os.Stderr, "warning: %s: %v\n", path, err)
}
func (s *objectSink) Progress(string) {}
