package agent

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"

	"filippo.io/age"
	"filippo.io/age/armor"

	"github.com/xvault/xvault/agentd/internal/connector"
	"github.com/xvault/xvault/agentd/internal/download"
	"github.com/xvault/xvault/agentd/internal/restore"
	"github.com/xvault/xvault/agentd/internal/storage"
	"github.com/xvault/xvault/sdk"
	"github.com/xvault/xvault/sdk/archive"
)

// restore turns the job's snapshot into a download: it streams the artifact
// through the checking reader (sha256 against the hub's record) into
// restores/{id}/….partial and publishes only after a clean end. Any failure
// leaves no file and no link. The result is kept on the lease for finish.
// A download_via bucket restore goes to the bucket instead (restoreToBucket).
func (a *Agent) restore(ctx context.Context, l *lease) error {
	j := l.job
	p, err := restorePayload(j)
	if err != nil {
		return err
	}
	if p.Format == sdk.RestoreDatabase {
		return a.restoreDatabases(ctx, l, p)
	}
	bucket := p.DownloadVia == sdk.DownloadViaBucket
	if a.downloads == nil && !bucket {
		return fmt.Errorf("this agent serves no downloads (started without a download listener): %w", connector.ErrPermanent)
	}
	if len(p.Paths) == 0 && p.MaxBytes > 0 && p.PlainBytes > p.MaxBytes {
		return fmt.Errorf("%w: snapshot holds %d bytes, the limit is %d; hint: restore a subset with --path, "+
			"or raise max_download_size_mb: %w", restore.ErrTooLarge, p.PlainBytes, p.MaxBytes, connector.ErrPermanent)
	}
	identity, err := a.fetchTenantIdentity(ctx, j)
	if err != nil {
		return err
	}
	src, err := a.openSource(ctx, l, p.SnapshotSHA256, p.Chain, identity, p.Paths)
	if err != nil {
		return err
	}
	defer func() { _ = src.Close() }()
	if bucket {
		return a.restoreToBucket(ctx, l, p, src)
	}
	fileName := download.FileName(p.RestoreID, string(p.Format))
	pending, err := a.downloads.area.Begin(p.RestoreID, fileName)
	if err != nil {
		return fmt.Errorf("prepare restore dir: %w", err)
	}
	if err := a.writeRestore(ctx, l, p, src, pending); err != nil {
		pending.Abort()
		return err
	}
	expires := time.Now().UTC().Add(time.Duration(p.ExpiresInSeconds) * time.Second)
	meta, err := pending.Publish(download.Meta{TenantID: j.TenantID, TokenSHA256: p.TokenSHA256, ExpiresAt: expires})
	if err != nil {
		return err
	}
	l.restoreReport = &sdk.RestoreReport{SizeBytes: meta.SizeBytes, FileName: meta.FileName,
		URLBase: a.downloads.publicURL, ExpiresAt: expires}
	return nil
}

func restorePayload(j *sdk.ClaimedJob) (*sdk.RestorePayload, error) {
	var p sdk.RestorePayload
	if len(j.Payload) == 0 || json.Unmarshal(j.Payload, &p) != nil || p.RestoreID == "" {
		return nil, fmt.Errorf("restore job without its restore (was the snapshot deleted?): %w", connector.ErrPermanent)
	}
	switch {
	case p.Format == sdk.RestoreDatabase && p.SnapshotSHA256 != "":
		return &p, nil
	case p.Format != sdk.RestoreZip && p.Format != sdk.RestoreTarZst:
		return nil, fmt.Errorf("restore format %q is not supported by this agent: %w", p.Format, connector.ErrPermanent)
	}
	if p.SnapshotSHA256 == "" || p.TokenSHA256 == "" || p.ExpiresInSeconds <= 0 {
		return nil, fmt.Errorf("restore job payload lacks the snapshot sha256, token hash or expiry: %w", connector.ErrPermanent)
	}
	return &p, nil
}

// openArtifact opens the committed artifact of snapshot id of the job's source.
func (a *Agent) openArtifact(ids storage.SnapshotIDs) (*os.File, error) {
	id := ids.SnapshotID
	path, err := a.store.ArtifactPath(ids)
	if err != nil {
		return nil, fmt.Errorf("locate snapshot %s: %w: %w", id, err, connector.ErrPermanent)
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, missingError{fmt.Errorf("artifact of snapshot %s is missing on this agent (%s): %w", id, path, connector.ErrPermanent)}
	}
	if err != nil {
		return nil, fmt.Errorf("open artifact of snapshot %s: %w", id, err)
	}
	return f, nil
}

// missingError is an artifact missing from this agent's storage (it
// matches errArtifactMissing without saying so in its message).
type missingError struct{ error }

func (e missingError) Unwrap() error        { return e.error }
func (e missingError) Is(target error) bool { return target == errArtifactMissing }

// source is what a restore or verify reads: one artifact, or the chain of
// an incremental assembled into a whole tree.
type source interface {
	archive.Source
	Close() error
}

// openSource opens the job's snapshot for reading: its artifact (checked
// against sha), or, with a chain (tip first), a ChainReader over the
// chain's artifacts, each checked against its own sha256. Reads count into
// the lease's bytesRead and stop when ctx ends.
func (a *Agent) openSource(ctx context.Context, l *lease, sha string, chain []sdk.ChainLink, id age.Identity,
	paths []string) (source, error) {
	j := l.job
	open := func(snapshot string) (io.ReadCloser, error) {
		ids := snapshotIDs(j)
		ids.SnapshotID = snapshot
		f, err := a.openStoredArtifact(ctx, l, ids)
		if err != nil {
			return nil, err
		}
		in := &countingReader{r: &ctxReader{ctx: ctx, r: f}, n: &l.bytesRead}
		return readCloser{Reader: bufio.NewReaderSize(in, 1<<20), Closer: f}, nil
	}
	if len(chain) == 0 {
		rc, err := open(j.SnapshotID)
		if err != nil {
			return nil, err
		}
		rd, err := archive.NewReader(rc, id, archive.ReadOptions{ExpectedSHA256: sha})
		if err != nil {
			_ = rc.Close()
			return nil, fmt.Errorf("open artifact of snapshot %s (wrong tenant key or not an age file): %w: %w",
				j.SnapshotID, err, connector.ErrPermanent)
		}
		return singleSource{Reader: rd, rc: rc}, nil
	}
	if chain[0].SnapshotID != j.SnapshotID {
		return nil, fmt.Errorf("chain of snapshot %s starts at %s: %w", j.SnapshotID, chain[0].SnapshotID, connector.ErrPermanent)
	}
	links := make([]archive.ChainArtifact, len(chain))
	for i, c := range chain {
		links[i] = archive.ChainArtifact{SnapshotID: c.SnapshotID, SHA256: c.SHA256,
			Open: func() (io.ReadCloser, error) { return open(c.SnapshotID) }}
	}
	cr, err := archive.NewChainReader(links, id, archive.ChainOptions{Paths: paths})
	if err != nil {
		return nil, fmt.Errorf("chain of snapshot %s: %w: %w", j.SnapshotID, err, connector.ErrPermanent)
	}
	return cr, nil
}

// singleSource closes the artifact file with its reader.
type singleSource struct {
	*archive.Reader
	rc io.Closer
}

func (s singleSource) Close() error { _ = s.Reader.Close(); return s.rc.Close() }

type readCloser struct {
	io.Reader
	io.Closer
}

// writeRestore streams the checked snapshot into the pending download.
func (a *Agent) writeRestore(ctx context.Context, l *lease, p *sdk.RestorePayload, rd source, dst io.Writer) error {
	out := bufio.NewWriterSize(&countingWriter{w: dst, n: &l.bytesWritten}, 1<<20)
	st, err := restore.Write(rd, out, restore.Options{Format: p.Format, Paths: p.Paths, MaxBytes: p.MaxBytes,
		OnFile: func(name string, _ int64) { l.filesDone.Add(1); l.currentPath.Store(&name) }})
	if err == nil {
		err = out.Flush()
	}
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("restore interrupted: %w", context.Cause(ctx))
	case errors.Is(err, restore.ErrArtifact) || errors.Is(err, restore.ErrTooLarge):
		return fmt.Errorf("restore of snapshot %s refused: %w: %w", l.job.SnapshotID, err, connector.ErrPermanent)
	case err != nil:
		return fmt.Errorf("restore of snapshot %s: %w", l.job.SnapshotID, err)
	}
	for _, s := range st.Skipped {
		l.warn(s, errors.New("skipped"))
	}
	if len(p.Paths) > 0 && st.Entries == 0 {
		return fmt.Errorf("none of the paths %s is in snapshot %s: %w", strings.Join(p.Paths, ", "), l.job.SnapshotID,
			connector.ErrPermanent)
	}
	return nil
}

// fetchTenantIdentity gets the tenant's identity for this lease only,
// encrypted to this agent's key. It is kept in memory only.
func (a *Agent) fetchTenantIdentity(ctx context.Context, j *sdk.ClaimedJob) (age.Identity, error) {
	rel, err := a.hub.TenantIdentity(ctx, j.ID, sdk.LeaseRef{LeaseEpoch: j.LeaseEpoch})
	if err != nil {
		return nil, fmt.Errorf("fetch tenant key: %w", err)
	}
	r, err := age.Decrypt(armor.NewReader(strings.NewReader(rel.Ciphertext)), a.st.identity)
	if err != nil {
		return nil, fmt.Errorf("decrypt tenant key (was this agent re-enrolled?): %w", err)
	}
	b, err := io.ReadAll(io.LimitReader(r, 4096))
	if err != nil {
		return nil, fmt.Errorf("decrypt tenant key: %w", err)
	}
	defer clear(b)
	id, err := age.ParseX25519Identity(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, fmt.Errorf("parse tenant key: malformed identity: %w", connector.ErrPermanent)
	}
	return id, nil
}

// removeRestore deletes a published restore the hub did not accept.
func (a *Agent) removeRestore(l *lease) {
	r := l.restoreReport
	if r == nil || (r.URLBase == "" && r.DownloadURL == "") {
		return // nothing published (a database restore publishes no file)
	}
	var p sdk.RestorePayload
	if json.Unmarshal(l.job.Payload, &p) != nil || p.RestoreID == "" {
		return
	}
	if r.DownloadURL != "" {
		removeBucketRestore(l, p.RestoreID)
	} else if a.downloads != nil {
		if err := a.downloads.area.Remove(p.RestoreID); err != nil {
			l.log.Error("remove unreported restore", "err", err)
		}
	}
}

// ctxReader fails reads once ctx is done, so a canceled restore stops.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
