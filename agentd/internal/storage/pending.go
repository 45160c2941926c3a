package storage

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/xvault/xvault/sdk/archive"
)

// Pending is an artifact being written. It is an io.Writer (unbuffered:
// archive.Writer already writes in 1 MiB pieces) that flushes what it wrote
// to disk while it writes (write-behind, see writebehind.go). Finish it with
// Commit or Abort; `defer p.Abort()` right after Begin is safe, Abort after
// a successful Commit does nothing. A Pending is not safe for concurrent use.
type Pending struct {
	s     *Store
	ids   SnapshotIDs
	dir   string
	f     *os.File
	wb    *writeBehind
	fsync func(*os.File) error // (*os.File).Sync; tests replace it
	state pendingState
}

type pendingState int

const (
	stateOpen pendingState = iota
	stateFailed
	stateCommitted
	stateAborted
)

// Begin creates the snapshot directory (and its parents, 0700) and opens
// backup.tar.zst.age.partial (0600) in it. It fails with ErrExists when the
// snapshot already has a committed artifact, and with ErrBusy when a partial
// file is already there.
func (s *Store) Begin(ids SnapshotIDs) (*Pending, error) {
	dir, err := s.Dir(ids)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return nil, fmt.Errorf("begin snapshot %s: %w", ids.SnapshotID, err)
	}
	final := filepath.Join(dir, archive.ArtifactName)
	if _, err := os.Lstat(final); err == nil {
		return nil, fmt.Errorf("begin snapshot %s: %w", ids.SnapshotID, ErrExists)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("begin snapshot %s: %w", ids.SnapshotID, err)
	}
	f, err := os.OpenFile(final+partialSuffix, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fileMode)
	if errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("begin snapshot %s: %w", ids.SnapshotID, ErrBusy)
	}
	if err != nil {
		s.pruneEmpty(dir)
		return nil, fmt.Errorf("begin snapshot %s: %w", ids.SnapshotID, err)
	}
	return &Pending{s: s, ids: ids, dir: dir, f: f, wb: newWriteBehind(f), fsync: (*os.File).Sync}, nil
}

// Dir returns the snapshot directory.
func (p *Pending) Dir() string { return p.dir }

// Write appends to the partial artifact. It fails once writing back an
// earlier range failed.
func (p *Pending) Write(b []byte) (int, error) {
	if p.state != stateOpen {
		return 0, fmt.Errorf("write snapshot %s: pending artifact is finished", p.ids.SnapshotID)
	}
	if err := p.wb.failed(); err != nil {
		return 0, fmt.Errorf("write snapshot %s: write-behind: %w", p.ids.SnapshotID, err)
	}
	n, err := p.f.Write(b)
	if err != nil {
		return n, fmt.Errorf("write snapshot %s: %w", p.ids.SnapshotID, err)
	}
	if err := p.wb.wrote(int64(n)); err != nil {
		return n, fmt.Errorf("write snapshot %s: write-behind: %w", p.ids.SnapshotID, err)
	}
	return n, nil
}

// Commit makes the snapshot durable: wait for write-behind (failing if it
// failed), fsync the partial file, write
// meta.json and manifest.json (temp file, fsync, rename), rename the partial
// to backup.tar.zst.age, and fsync the directories up to the root. Empty ids
// in m and meta are filled from the Pending; different ids are an error.
// After an error the caller should Abort. It returns the snapshot directory.
func (p *Pending) Commit(m archive.Manifest, meta archive.Meta) (string, error) {
	if p.state != stateOpen {
		return "", fmt.Errorf("commit snapshot %s: pending artifact is finished", p.ids.SnapshotID)
	}
	p.state = stateFailed // until proven otherwise
	if err := p.commit(m, meta); err != nil {
		return "", fmt.Errorf("commit snapshot %s: %w", p.ids.SnapshotID, err)
	}
	p.state = stateCommitted
	return p.dir, nil
}

func (p *Pending) commit(m archive.Manifest, meta archive.Meta) error {
	if err := fillIDs(p.ids, &m.TenantID, &m.SourceID, &m.SnapshotID); err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	if err := fillIDs(p.ids, &meta.TenantID, &meta.SourceID, &meta.SnapshotID); err != nil {
		return fmt.Errorf("meta: %w", err)
	}
	if m.FormatVersion == 0 {
		m.FormatVersion = archive.FormatVersion
	}
	if m.Warnings == nil {
		m.Warnings = []string{}
	}
	if err := p.wb.stop(); err != nil {
		return fmt.Errorf("write-behind: %w", err)
	}
	if err := p.fsync(p.f); err != nil {
		return fmt.Errorf("fsync artifact: %w", err)
	}
	if p.wb.dropCache != nil {
		p.wb.dropCache(0, 0) // the tail, now clean
	}
	if err := p.f.Close(); err != nil {
		return fmt.Errorf("close artifact: %w", err)
	}
	if err := writeJSON(p.dir, archive.MetaName, meta); err != nil {
		return err
	}
	if err := writeJSON(p.dir, archive.ManifestName, m); err != nil {
		return err
	}
	final := filepath.Join(p.dir, archive.ArtifactName)
	if err := os.Rename(final+partialSuffix, final); err != nil {
		return fmt.Errorf("rename artifact: %w", err)
	}
	return p.s.syncDirs(p.dir)
}

// fillIDs sets empty ids and refuses ids that differ from want.
func fillIDs(want SnapshotIDs, tenant, source, snapshot *string) error {
	for _, f := range []struct {
		what string
		got  *string
		want string
	}{{"tenant_id", tenant, want.TenantID}, {"source_id", source, want.SourceID}, {"snapshot_id", snapshot, want.SnapshotID}} {
		if *f.got == "" {
			*f.got = f.want
		} else if *f.got != f.want {
			return fmt.Errorf("%s %q does not match the snapshot's %q", f.what, *f.got, f.want)
		}
	}
	return nil
}

// writeJSON writes v as name in dir through a fsynced temp file and a rename.
func writeJSON(dir, name string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", name, err)
	}
	tmp := filepath.Join(dir, name+tmpSuffix)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, fileMode)
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	_, err = f.Write(append(b, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		return fmt.Errorf("rename %s: %w", name, err)
	}
	return nil
}

// Abort throws the snapshot away unless it was committed: it closes and
// removes the partial artifact and everything else in the snapshot
// directory (Begin guaranteed nothing committed was there), then the parent
// directories left empty. Calling it again, or after a successful Commit,
// does nothing.
func (p *Pending) Abort() error {
	if p.state == stateCommitted || p.state == stateAborted {
		return nil
	}
	_ = p.wb.stop()
	_ = p.f.Close() // may already be closed by a failed Commit
	p.state = stateAborted
	p.s.mu.Lock()
	defer p.s.mu.Unlock()
	if err := os.RemoveAll(p.dir); err != nil {
		return fmt.Errorf("abort snapshot %s: %w", p.ids.SnapshotID, err)
	}
	p.s.pruneEmpty(filepath.Dir(p.dir))
	return nil
}

// WriteFile writes a companion file of the artifact (archive.IndexName)
// into the snapshot directory before Commit: through a temp file that is
// fsynced and renamed, so Commit's directory sync makes it durable with the
// artifact, and Abort removes it with the rest. It returns the bytes written
// and their hex sha256.
func (p *Pending) WriteFile(name string, write func(w io.Writer) error) (int64, string, error) {
	if p.state != stateOpen {
		return 0, "", fmt.Errorf("write %s of snapshot %s: pending artifact is finished", name, p.ids.SnapshotID)
	}
	if name != archive.IndexName {
		return 0, "", fmt.Errorf("write %s of snapshot %s: not a companion file", name, p.ids.SnapshotID)
	}
	tmp := filepath.Join(p.dir, name+tmpSuffix)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, fileMode)
	if err != nil {
		return 0, "", fmt.Errorf("write %s: %w", name, err)
	}
	sum := sha256.New()
	cw := &countingWriter{w: io.MultiWriter(f, sum)}
	err = write(cw)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(p.dir, name))
	}
	if err != nil {
		_ = os.Remove(tmp)
		return 0, "", fmt.Errorf("write %s of snapshot %s: %w", name, p.ids.SnapshotID, err)
	}
	return cw.n, hex.EncodeToString(sum.Sum(nil)), nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}
