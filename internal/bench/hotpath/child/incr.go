//go:build xvbenchchild

package main

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync/atomic"
	"time"

	"filippo.io/age"

	"github.com/xvault/xvault/agentd/internal/connector"
	"github.com/xvault/xvault/agentd/internal/incremental"
	"github.com/xvault/xvault/agentd/internal/storage"
	"github.com/xvault/xvault/internal/bench/hotpath"
	"github.com/xvault/xvault/sdk/archive"
)

// incrementalBackup is agentd/agent's backup of an incremental-capable
// source without the hub: decode the parent's index, PullIncremental into
// the snapshot layout, store the new index beside the artifact, commit.
func incrementalBackup(ctx context.Context, spec hotpath.Spec) (hotpath.Result, error) {
	var out hotpath.Result
	is := spec.Incremental
	recipient, err := age.ParseX25519Recipient(spec.Recipient)
	if err != nil {
		return out, fmt.Errorf("recipient: %w", err)
	}
	indexID, err := age.ParseX25519Identity(is.IndexIdentity)
	if err != nil {
		return out, fmt.Errorf("index identity: %w", err)
	}
	counter := &connCounter{}
	conn, err := newConnector(spec, counter)
	if err != nil {
		return out, err
	}
	store, err := storage.Open(spec.StoreDir)
	if err != nil {
		return out, err
	}
	ids := storage.SnapshotIDs{TenantID: "bench", SourceID: "dataset", SnapshotID: is.SnapshotID}
	p, err := store.Begin(ids)
	if err != nil {
		return out, err
	}
	defer p.Abort() //nolint:errcheck // no-op after Commit
	started := time.Now()
	ir := &hotpath.IncrementalResult{}
	req, err := chainRequest(is, indexID, ir)
	if err != nil {
		return out, err
	}
	w, err := archive.NewWriter(p, recipient, archive.Options{})
	if err != nil {
		return out, fmt.Errorf("start artifact: %w", err)
	}
	sink := &layoutSink{w: w, snapshotID: is.SnapshotID}
	res, err := conn.PullIncremental(ctx, sink, req)
	if err == nil {
		err = sink.end()
	}
	if err != nil {
		w.Close() //nolint:errcheck // the pull error is the one to report
		return out, err
	}
	ares, err := w.Close()
	if err != nil {
		return out, fmt.Errorf("finish artifact: %w", err)
	}
	if !res.Incremental {
		req = connector.IncrementalRequest{SnapshotID: is.SnapshotID, FullSnapshotID: is.SnapshotID}
	}
	m := archive.Manifest{AgeRecipient: spec.Recipient, StartedAt: started}
	m.SetResult(ares)
	if err := storeIndex(p, res, req, conn.ConfigHash(), indexID, &m); err != nil {
		return out, err
	}
	pulled := time.Now()
	m.FinishedAt = pulled
	dir, err := p.Commit(m, archive.Meta{CreatedAt: pulled})
	if err != nil {
		return out, err
	}
	ir.Incremental, ir.FullReason = res.Incremental, res.FullReason
	ir.Stored, ir.Unchanged, ir.Deleted = res.Stored, res.Unchanged, res.Deleted
	ir.IndexPath, ir.IndexBytes = dir+"/"+archive.IndexName, m.IndexBytes
	out.Artifact, out.Warnings, out.Incremental = ares, int(sink.warnings.Load()), ir
	out.FilesRead = sink.filesRead.Load()
	out.SSHBytesRead, out.SSHBytesWritten = counter.read.Load(), counter.written.Load()
	out.PullSeconds = pulled.Sub(started).Seconds()
	out.CommitSeconds = time.Since(pulled).Seconds()
	out.ArtifactPath = dir + "/" + archive.ArtifactName
	return out, nil
}

// chainRequest reads the parent's index (timed into ir) and places the new
// snapshot in the chain; no parent: a full.
func chainRequest(is *hotpath.IncrementalSpec, id *age.X25519Identity, ir *hotpath.IncrementalResult) (connector.IncrementalRequest, error) {
	req := connector.IncrementalRequest{SnapshotID: is.SnapshotID, FullSnapshotID: is.SnapshotID}
	if is.ParentIndex == "" {
		return req, nil
	}
	t := time.Now()
	f, err := os.Open(is.ParentIndex)
	if err != nil {
		return req, fmt.Errorf("parent index: %w", err)
	}
	defer f.Close()
	parent, err := incremental.Decode(f, id, incremental.IDs{TenantID: "bench", SourceID: "dataset", SnapshotID: is.ParentSnapshotID})
	if err != nil {
		return req, err
	}
	ir.IndexSeconds = time.Since(t).Seconds()
	req.Parent, req.FullSnapshotID, req.ChainPosition = parent, is.FullSnapshotID, is.ChainPosition
	return req, nil
}

// storeIndex is agentd/agent's storeIndex: header filled, written beside the artifact.
func storeIndex(p *storage.Pending, res *connector.IncrementalResult, req connector.IncrementalRequest, hash string,
	id *age.X25519Identity, m *archive.Manifest) error {
	h := &res.Index.Header
	h.TenantID, h.SourceID, h.SnapshotID = "bench", "dataset", req.SnapshotID
	h.FullSnapshotID, h.ChainPosition, h.ConfigHash = req.FullSnapshotID, req.ChainPosition, hash
	h.ParentSnapshotID, m.Kind = "", "full"
	if req.Parent != nil {
		h.ParentSnapshotID, m.Kind = req.Parent.Header.SnapshotID, "incremental"
	}
	h.CreatedAt = time.Now().UTC()
	n, sum, err := p.WriteFile(archive.IndexName, func(w io.Writer) error { return incremental.Encode(w, res.Index, id.Recipient()) })
	if err != nil {
		return fmt.Errorf("store incremental index: %w", err)
	}
	m.IndexBytes, m.IndexSHA256, m.ParentSnapshotID, m.FullReason = n, sum, h.ParentSnapshotID, res.FullReason
	return nil
}

// layoutSink is agentd/agent's archiveSink: the snapshot layout
// (xvault.json, files/…, xvault.end.json), as incremental artifacts need.
type layoutSink struct {
	w          *archive.Writer
	snapshotID string
	described  bool
	mode       string
	files      int64
	filesRead  atomic.Int64
	warnings   atomic.Int64
}

func (s *layoutSink) Describe(d archive.Descriptor) error {
	if s.described {
		return errors.New("archive: descriptor already written")
	}
	s.described = true
	d.LayoutVersion = archive.LayoutVersion
	if d.Kind == "incremental" {
		d.LayoutVersion = archive.LayoutIncremental
	}
	d.SnapshotID, d.SourceType, d.Connector, d.CreatedAt = s.snapshotID, "ssh", "ssh", time.Now().UTC()
	if d.TransferMode == "" {
		d.TransferMode = s.mode
	}
	if d.Warnings == nil {
		d.Warnings = []string{}
	}
	return s.putJSON(archive.DescriptorName, d)
}

func (s *layoutSink) putJSON(name string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", name, err)
	}
	hdr := &tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(b)), ModTime: time.Now().UTC()}
	return s.w.Add(hdr, bytes.NewReader(b))
}

func (s *layoutSink) Put(e connector.Entry, body io.Reader) error {
	if !s.described {
		if err := s.Describe(archive.Descriptor{}); err != nil {
			return err
		}
	}
	var r io.Reader // nil body: no content (a directory, a skipped file)
	var cr *countReader
	if body != nil {
		cr = &countReader{r: body}
		r = cr
	}
	hdr := e.TarHeader()
	hdr.Name = archive.FilesPrefix + hdr.Name
	if err := s.w.Add(hdr, r); err != nil {
		return fmt.Errorf("archive %s: %w", e.Name, err)
	}
	if e.Type == connector.TypeFile {
		s.files++
		if cr != nil && cr.n > 0 {
			s.filesRead.Add(1)
		}
	}
	return nil
}

func (s *layoutSink) end() error {
	if !s.described {
		if err := s.Describe(archive.Descriptor{}); err != nil {
			return err
		}
	}
	return s.putJSON(archive.EndName, archive.End{FinishedAt: time.Now().UTC(), Files: s.files, Warnings: []string{}})
}

func (s *layoutSink) Warn(path string, err error) {
	s.warnings.Add(1)
	fmt.Fprintf(os.Stderr, "warning: %s: %v\n", path, err)
}
func (s *layoutSink) Progress(string)          {}
func (s *layoutSink) TransferMode(mode string) { s.mode = mode }
func (s *layoutSink) Note(string, any)         {}
func (s *layoutSink) PutObject(name string, _ int64, _ time.Time, _ io.Reader) error {
	return fmt.Errorf("bench child: unexpected object %s", name)
}

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// connCounter counts the bytes of the agent's TCP connections.
type connCounter struct{ read, written atomic.Int64 }

func (c *connCounter) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: conn, c: c}, nil
}

type countingConn struct {
	net.Conn
	c *connCounter
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.c.read.Add(int64(n))
	return n, err
}

func (c *countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.c.written.Add(int64(n))
	return n, err
}
