package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"filippo.io/age"
	"filippo.io/age/armor"

	"github.com/xvault/xvault/agentd/internal/connector"
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
	secret, err := a.fetchSecret(ctx, j)
	if err != nil {
		return nil, err
	}
	conn, err := newConnector(j, secret, connectorOptions{
		log: l.log,
		onHostKey: func(fp string) error {
			stored, err := a.hub.ReportHostKey(ctx, j.ID, sdk.HostKeyReport{LeaseEpoch: j.LeaseEpoch, Fingerprint: fp})
			if err != nil {
				return fmt.Errorf("record host key: %w", err)
			}
			if stored != fp {
				return fmt.Errorf("host key changed: the hub recorded %s but the server presented %s: %w", stored, fp, connector.ErrPermanent)
			}
			return nil
		},
	})
	if err != nil {
		return nil, err
	}
	opts, err := archiveOptions(j)
	if err != nil {
		return nil, err
	}
	started := time.Now().UTC()
	p, err := a.store.Begin(snapshotIDs(j))
	if err != nil {
		return nil, fmt.Errorf("prepare snapshot dir: %w", err)
	}
	w, err := archive.NewWriter(&countingWriter{w: p, n: &l.bytesWritten}, recipient, opts)
	if err != nil {
		p.Abort()
		return nil, fmt.Errorf("start artifact: %w", err)
	}
	if err := conn.Pull(ctx, &archiveSink{w: w, l: l}); err != nil {
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
	meta := archive.Meta{TenantID: j.TenantID, SourceID: j.SourceID, SnapshotID: j.SnapshotID, JobID: j.ID, AgentID: a.st.AgentID, CreatedAt: finished}
	dir, err := p.Commit(manifest, meta)
	if err != nil {
		p.Abort()
		return nil, fmt.Errorf("commit snapshot: %w", err)
	}
	mj, _ := json.Marshal(manifest)
	return &sdk.SnapshotReport{
		SizeBytes: res.StoredBytes, PlainBytes: res.PlainBytes, FileCount: res.Files, SHA256: res.SHA256,
		LocalPath: dir, Manifest: mj, StartedAt: started, FinishedAt: finished,
	}, nil
}

// fetchSecret gets the job's credential, released for this lease only and
// encrypted to this agent's key. It is kept in memory only.
func (a *Agent) fetchSecret(ctx context.Context, j *sdk.ClaimedJob) (*sdk.SecretPayload, error) {
	if !j.HasCredential {
		return nil, nil
	}
	rel, err := a.hub.Credentials(ctx, j.ID, sdk.LeaseRef{LeaseEpoch: j.LeaseEpoch})
	if err != nil {
		return nil, fmt.Errorf("fetch source credential: %w", err)
	}
	r, err := age.Decrypt(armor.NewReader(strings.NewReader(rel.Ciphertext)), a.st.identity)
	if err != nil {
		return nil, fmt.Errorf("decrypt source credential (was this agent re-enrolled?): %w", err)
	}
	var s sdk.SecretPayload
	if err := json.NewDecoder(r).Decode(&s); err != nil {
		return nil, fmt.Errorf("decode source credential: %w", err)
	}
	return &s, nil
}

func (a *Agent) deleteSnapshot(l *lease) error {
	if err := a.store.Delete(snapshotIDs(l.job)); err != nil {
		return fmt.Errorf("delete snapshot %s: %w", l.job.SnapshotID, err)
	}
	return nil
}

// removeSnapshot deletes a committed snapshot the hub did not accept.
func (a *Agent) removeSnapshot(l *lease) {
	if err := a.store.Delete(snapshotIDs(l.job)); err != nil {
		l.log.Error("remove unreported snapshot", "err", err)
	}
}

func snapshotIDs(j *sdk.ClaimedJob) storage.SnapshotIDs {
	return storage.SnapshotIDs{TenantID: j.TenantID, SourceID: j.SourceID, SnapshotID: j.SnapshotID}
}

// archiveSink feeds connector entries into the artifact and counts progress.
type archiveSink struct {
	w *archive.Writer
	l *lease
}

func (s *archiveSink) Put(e connector.Entry, body io.Reader) error {
	if body != nil {
		body = &countingReader{r: body, n: &s.l.bytesRead}
	}
	if err := s.w.Add(e.TarHeader(), body); err != nil {
		return fmt.Errorf("archive %s: %w", e.Name, err)
	}
	if e.Type == connector.TypeFile {
		s.l.filesDone.Add(1)
	}
	return nil
}

func (s *archiveSink) Warn(path string, err error) { s.l.warn(path, err) }
func (s *archiveSink) Progress(path string)        { s.l.currentPath.Store(&path) }
func (s *archiveSink) TransferMode(mode string)    { s.l.transferMode.Store(&mode) }
