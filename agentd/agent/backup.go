package agent

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"filippo.io/age"

	"github.com/xvault/xvault/agentd/internal/connector"
	"github.com/xvault/xvault/agentd/internal/egress"
	"github.com/xvault/xvault/agentd/internal/storage"
	"github.com/xvault/xvault/sdk"
	"github.com/xvault/xvault/sdk/archive"
)

// backup pulls a source into a new snapshot: connector → tar → zstd → age →
// disk in one pass; a failure leaves nothing behind.
func (a *Agent) backup(ctx context.Context, l *lease) (*sdk.SnapshotReport, error) {
	j := l.job
	recipient, err := age.ParseX25519Recipient(j.TenantRecipient)
	if err != nil {
		return nil, fmt.Errorf("tenant recipient from hub: %w", err)
	}
	secret, err := a.fetchSecret(ctx, l)
	if err != nil {
		return nil, err
	}
	env, cleanup, err := a.connectorEnv(ctx, l)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	conn, err := newConnector(j, secret, env)
	if err != nil {
		return nil, err
	}
	opts, err := archiveOptions(j)
	if err != nil {
		return nil, err
	}
	started := time.Now().UTC()
	p, err := a.beginSnapshot(ctx, l)
	if err != nil {
		return nil, err
	}
	w, err := archive.NewWriter(&countingWriter{w: p, n: &l.bytesWritten}, recipient, opts)
	if err != nil {
		p.Abort()
		return nil, fmt.Errorf("start artifact: %w", err)
	}
	sink := &archiveSink{w: w, l: l, sourceType: j.SourceType, snapshotID: j.SnapshotID}
	var incr *incrementalBackup
	if ip, ok := conn.(connector.IncrementalPuller); ok && incrementalEnabled(j) {
		incr, err = a.pullIncremental(ctx, l, ip, sink)
	} else {
		err = conn.Pull(ctx, sink)
	}
	if err != nil {
		w.Close()
		p.Abort()
		return nil, err
	}
	if err := sink.end(); err != nil {
		w.Close()
		p.Abort()
		return nil, err
	}
	res, err := w.Close()
	if err != nil {
		p.Abort()
		return nil, fmt.Errorf("finish artifact: %w", err)
	}
	finished := time.Now().UTC()
	manifest := archive.Manifest{
		TenantID: j.TenantID, SourceID: j.SourceID, SnapshotID: j.SnapshotID, JobID: j.ID, AgentID: a.st.AgentID,
		AgeRecipient: j.TenantRecipient, StartedAt: started, FinishedAt: finished,
		DurationMS: finished.Sub(started).Milliseconds(), Warnings: l.warningList(),
	}
	manifest.SetResult(res)
	manifest.Level = opts.LevelName()
	if tm := l.transferMode.Load(); tm != nil {
		manifest.TransferMode = *tm
	}
	if incr != nil {
		if err := a.storeIndex(l, incr, p, &manifest); err != nil {
			p.Abort()
			return nil, fmt.Errorf("store incremental index: %w", err)
		}
	}
	meta := archive.Meta{TenantID: j.TenantID, SourceID: j.SourceID, SnapshotID: j.SnapshotID, JobID: j.ID, AgentID: a.st.AgentID, CreatedAt: finished}
	dir, err := p.Commit(ctx, manifest, meta)
	if err != nil {
		p.Abort()
		return nil, fmt.Errorf("commit snapshot: %w", err)
	}
	mj, _ := json.Marshal(manifest)
	report := &sdk.SnapshotReport{
		SizeBytes: res.StoredBytes, PlainBytes: res.PlainBytes, FileCount: l.filesDone.Load(), SHA256: res.SHA256,
		LocalPath: dir, Manifest: mj, StartedAt: started, FinishedAt: finished,
	}
	if j.Storage != nil {
		report.StorageTargetID = j.Storage.TargetID
	}
	if incr != nil {
		a.cacheIndex(l, p)
		incr.report(report)
	}
	return report, nil
}

// incrementalEnabled reports whether the job's source makes incremental
// backups (ssh/sftp sources, unless their config turns it off).
func incrementalEnabled(j *sdk.ClaimedJob) bool {
	if j.SourceType != sdk.SourceSSH && j.SourceType != sdk.SourceSFTP {
		return false
	}
	cfg, err := decodeConfig[sdk.SSHConfig](j)
	if err != nil || !cfg.IncrementalEnabled() {
		return false
	}
	for _, p := range cfg.Paths {
		if path.Clean(p) == "/" {
			return false // "/" has no directory entry to carry its dumpdir: fulls only
		}
	}
	return true
}

// connectorEnv prepares what a connector gets for one job: the egress
// policy, the local roots, a private temp dir (removed by cleanup) and the
// host key recorder.
func (a *Agent) connectorEnv(ctx context.Context, l *lease) (connector.Env, func(), error) {
	j := l.job
	// A short random name (not the job id): tunnel sockets live below it,
	// and a unix socket path must stay under 108 bytes.
	base := filepath.Join(a.cfg.StateDir, tmpDirName)
	if err := os.MkdirAll(base, 0o700); err != nil {
		return connector.Env{}, nil, fmt.Errorf("job temp dir: %w", err)
	}
	dir, err := os.MkdirTemp(base, "j")
	if err != nil {
		return connector.Env{}, nil, fmt.Errorf("job temp dir: %w", err)
	}
	env := connector.Env{
		Logger:         l.log,
		TempDir:        dir,
		Egress:         egress.Policy{AllowLoopback: a.cfg.AllowLoopback, AllowPrivate: a.cfg.AllowPrivate},
		LocalRoots:     a.localRoots,
		ForbiddenRoots: a.ownDirs,
		OnHostKey: func(fp string) error {
			stored, err := a.hub.ReportHostKey(ctx, j.ID, sdk.HostKeyReport{LeaseEpoch: j.LeaseEpoch, Fingerprint: fp})
			if err != nil {
				return fmt.Errorf("record host key: %w", err)
			}
			if stored != fp {
				return fmt.Errorf("host key changed: the hub recorded %s but the server presented %s: %w", stored, fp, connector.ErrPermanent)
			}
			return nil
		},
	}
	return env, func() { _ = os.RemoveAll(dir) }, nil
}

func (a *Agent) deleteSnapshot(ctx context.Context, l *lease) error {
	if err := a.deleteStored(ctx, l, snapshotIDs(l.job)); err != nil {
		return fmt.Errorf("delete snapshot %s: %w", l.job.SnapshotID, err)
	}
	return nil
}

// removeSnapshot deletes a committed snapshot the hub did not accept.
func (a *Agent) removeSnapshot(ctx context.Context, l *lease) {
	if err := a.deleteStored(ctx, l, snapshotIDs(l.job)); err != nil {
		l.log.Error("remove unreported snapshot", "err", err)
	}
}

func snapshotIDs(j *sdk.ClaimedJob) storage.SnapshotIDs {
	return storage.SnapshotIDs{TenantID: j.TenantID, SourceID: j.SourceID, SnapshotID: j.SnapshotID}
}

// archiveSink feeds connector entries into the artifact in the snapshot
// layout (docs/format.md): xvault.json first, file-tree entries under
// files/, objects under their own names, xvault.end.json last.
type archiveSink struct {
	w          *archive.Writer
	l          *lease
	sourceType sdk.SourceType
	snapshotID string
	described  bool
	notes      map[string]any
}

func (s *archiveSink) Describe(d archive.Descriptor) error {
	if s.described {
		return errors.New("archive: descriptor already written")
	}
	s.described = true
	d.LayoutVersion = archive.LayoutVersion
	if d.Kind == string(sdk.SnapshotIncremental) {
		d.LayoutVersion = archive.LayoutIncremental
	}
	d.SnapshotID = s.snapshotID
	d.SourceType = string(s.sourceType)
	if d.Connector == "" {
		d.Connector = string(s.sourceType)
	}
	d.CreatedAt = time.Now().UTC()
	if tm := s.l.transferMode.Load(); tm != nil && d.TransferMode == "" {
		d.TransferMode = *tm
	}
	for _, w := range d.Warnings {
		s.l.warnText(w)
	}
	d.Warnings = s.l.warningList()
	if d.Warnings == nil {
		d.Warnings = []string{}
	}
	return s.putJSON(archive.DescriptorName, d)
}

func (s *archiveSink) describeOnce() error {
	if s.described {
		return nil
	}
	return s.Describe(archive.Descriptor{})
}

func (s *archiveSink) putJSON(name string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", name, err)
	}
	b = append(b, '\n')
	hdr := &tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(b)), ModTime: time.Now().UTC()}
	if err := s.w.Add(hdr, bytes.NewReader(b)); err != nil {
		return fmt.Errorf("archive %s: %w", name, err)
	}
	return nil
}

func (s *archiveSink) Put(e connector.Entry, body io.Reader) error {
	if err := s.describeOnce(); err != nil {
		return err
	}
	if body != nil {
		body = &countingReader{r: body, n: &s.l.bytesRead}
	}
	hdr := e.TarHeader()
	hdr.Name = archive.FilesPrefix + hdr.Name
	if err := s.w.Add(hdr, body); err != nil {
		return fmt.Errorf("archive %s: %w", e.Name, err)
	}
	if e.Type == connector.TypeFile {
		s.l.filesDone.Add(1)
	}
	return nil
}

func (s *archiveSink) PutObject(name string, size int64, modTime time.Time, body io.Reader) error {
	if err := s.describeOnce(); err != nil {
		return err
	}
	if err := archive.ValidName(name); err != nil || strings.HasPrefix(name, archive.FilesPrefix) {
		return fmt.Errorf("archive object %q: not a layout name", name)
	}
	hdr := &tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o600, Size: size, ModTime: modTime.UTC()}
	if err := s.w.Add(hdr, &countingReader{r: body, n: &s.l.bytesRead}); err != nil {
		return fmt.Errorf("archive %s: %w", name, err)
	}
	s.l.filesDone.Add(1)
	return nil
}

func (s *archiveSink) Note(key string, value any) {
	if s.notes == nil {
		s.notes = map[string]any{}
	}
	s.notes[key] = value
}

// end writes xvault.end.json (and the descriptor, for an empty source).
func (s *archiveSink) end() error {
	if err := s.describeOnce(); err != nil {
		return err
	}
	warnings := s.l.warningList()
	if warnings == nil {
		warnings = []string{}
	}
	return s.putJSON(archive.EndName, archive.End{
		FinishedAt: time.Now().UTC(), Files: s.l.filesDone.Load(), Warnings: warnings, Notes: s.notes,
	})
}

func (s *archiveSink) Warn(path string, err error) { s.l.warn(path, err) }
func (s *archiveSink) Progress(path string)        { s.l.currentPath.Store(&path) }
func (s *archiveSink) TransferMode(mode string)    { s.l.transferMode.Store(&mode) }
