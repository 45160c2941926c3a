package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"filippo.io/age"

	"github.com/xvault/xvault/agentd/internal/connector"
	"github.com/xvault/xvault/agentd/internal/incremental"
	"github.com/xvault/xvault/agentd/internal/storage"
	"github.com/xvault/xvault/sdk"
	"github.com/xvault/xvault/sdk/archive"
)

// incrementalBackup is what an incremental-capable pull made: the new index
// and how the snapshot links into its chain.
type incrementalBackup struct {
	res        *connector.IncrementalResult
	req        connector.IncrementalRequest
	configHash string
	fullReason string
}

// pullIncremental runs ip for the job: it continues the chain the hub
// planned when the parent's index can be read and the source's paths did
// not change, else it makes a full and says why (docs/incremental.md,
// section 4).
func (a *Agent) pullIncremental(ctx context.Context, l *lease, ip connector.IncrementalPuller, sink connector.Sink) (*incrementalBackup, error) {
	j := l.job
	b := &incrementalBackup{configHash: ip.ConfigHash(), req: connector.IncrementalRequest{SnapshotID: j.SnapshotID, FullSnapshotID: j.SnapshotID}}
	b.fullReason = j.FullReason
	if plan := j.Incremental; plan != nil {
		idx, reason := a.parentIndex(ctx, l, plan, b.configHash)
		if reason == "" {
			b.req.Parent = idx
			b.req.FullSnapshotID = plan.FullSnapshotID
			b.req.ChainPosition = plan.ParentChainPosition + 1
		} else {
			b.fullReason = reason
		}
	}
	if b.fullReason != "" {
		l.warnText("incremental: made a full backup: " + b.fullReason)
	}
	res, err := ip.PullIncremental(ctx, sink, b.req)
	if err != nil {
		return nil, err
	}
	if !res.Incremental && b.req.Parent != nil {
		b.req = connector.IncrementalRequest{SnapshotID: j.SnapshotID, FullSnapshotID: j.SnapshotID}
		b.fullReason = res.FullReason
		l.warnText("incremental: made a full backup: " + res.FullReason)
	}
	b.res = res
	return b, nil
}

// parentIndex reads the index of the planned parent: from the agent's cache,
// else from the copy stored beside the parent's artifact. A reason is
// returned when the chain cannot continue.
func (a *Agent) parentIndex(ctx context.Context, l *lease, plan *sdk.IncrementalPlan, configHash string) (*incremental.Index, string) {
	j := l.job
	if plan.ParentConfigHash != configHash {
		return nil, fmt.Sprintf("the source's paths or excludes changed since snapshot %s", plan.ParentSnapshotID)
	}
	ids := incremental.IDs{TenantID: j.TenantID, SourceID: j.SourceID, SnapshotID: plan.ParentSnapshotID}
	idx, cacheErr := a.readIndex(func() (io.ReadCloser, error) { return a.indexCache.Open(ids) }, ids)
	if cacheErr == nil {
		return idx, ""
	}
	stored := storage.SnapshotIDs{TenantID: j.TenantID, SourceID: j.SourceID, SnapshotID: plan.ParentSnapshotID}
	idx, err := a.readIndex(func() (io.ReadCloser, error) { return a.openStoredIndex(ctx, l, stored) }, ids)
	if err == nil {
		return idx, ""
	}
	if errors.Is(err, os.ErrNotExist) && errors.Is(cacheErr, os.ErrNotExist) {
		return nil, fmt.Sprintf("index of parent snapshot %s is missing", plan.ParentSnapshotID)
	}
	if errors.Is(err, os.ErrNotExist) {
		err = cacheErr
	}
	return nil, fmt.Sprintf("index of parent snapshot %s is unreadable: %v", plan.ParentSnapshotID, err)
}

func (a *Agent) readIndex(open func() (io.ReadCloser, error), ids incremental.IDs) (*incremental.Index, error) {
	f, err := open()
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	return incremental.Decode(f, a.st.identity, ids)
}

// storeIndex fills the new index's header and writes it beside the artifact
// (before Commit) and into the cache.
func (a *Agent) storeIndex(l *lease, b *incrementalBackup, p pendingSnapshot, m *archive.Manifest) error {
	j := l.job
	idx := b.res.Index
	h := &idx.Header
	h.TenantID, h.SourceID, h.SnapshotID = j.TenantID, j.SourceID, j.SnapshotID
	h.FullSnapshotID, h.ChainPosition, h.ConfigHash = b.req.FullSnapshotID, b.req.ChainPosition, b.configHash
	h.ParentSnapshotID = ""
	if b.req.Parent != nil {
		h.ParentSnapshotID = b.req.Parent.Header.SnapshotID
	}
	h.CreatedAt = time.Now().UTC()
	own := a.st.identity.Recipient()
	recipients := []age.Recipient{own}
	for _, s := range j.IndexRecipients {
		r, err := age.ParseX25519Recipient(s)
		switch {
		case err != nil:
			l.warnText(fmt.Sprintf("incremental: index recipient %.20q… from the hub is not an age X25519 recipient; skipped", s))
		case r.String() != own.String():
			recipients = append(recipients, r)
		}
	}
	encode := func(w io.Writer) error { return incremental.Encode(w, idx, recipients...) }
	n, sum, err := p.WriteFile(archive.IndexName, encode)
	if err != nil {
		return err
	}
	m.IndexBytes, m.IndexSHA256 = n, sum
	m.Kind, m.ParentSnapshotID, m.FullReason = string(b.kind()), h.ParentSnapshotID, b.fullReason
	return nil
}

// cacheIndex copies the committed snapshot's index (p's) into the cache
// for the next backup and drops the source's older ones. A failure only
// costs a read of the stored copy next time.
func (a *Agent) cacheIndex(l *lease, p pendingSnapshot) {
	j := l.job
	ids := incremental.IDs{TenantID: j.TenantID, SourceID: j.SourceID, SnapshotID: j.SnapshotID}
	err := a.indexCache.Write(ids, func(w io.Writer) error {
		f, err := p.OpenIndex()
		if err != nil {
			return err
		}
		defer func() { _ = f.Close() }()
		_, err = io.Copy(w, f)
		return err
	})
	if err == nil {
		err = a.indexCache.Prune(j.TenantID, j.SourceID, j.SnapshotID)
	}
	if err != nil {
		l.log.Warn("cache the incremental index", "err", err)
	}
}

func (b *incrementalBackup) kind() sdk.SnapshotKind {
	if b.req.Parent != nil {
		return sdk.SnapshotIncremental
	}
	return sdk.SnapshotFull
}

// report adds the chain fields to the job's snapshot report.
func (b *incrementalBackup) report(r *sdk.SnapshotReport) {
	r.Kind, r.ConfigHash, r.FullReason = b.kind(), b.configHash, b.fullReason
	if b.req.Parent != nil {
		r.ParentSnapshotID = b.req.Parent.Header.SnapshotID
	}
}
