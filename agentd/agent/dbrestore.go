package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"filippo.io/age"

	"github.com/xvault/xvault/agentd/internal/connector"
	"github.com/xvault/xvault/agentd/internal/storage"
	"github.com/xvault/xvault/sdk"
	"github.com/xvault/xvault/sdk/archive"
)

// restoreDatabases loads a snapshot's dumps into the server of the job's
// source (a restore --into). Each database is loaded by the engine's
// loader (connector.Loader: create, replace through a temporary database,
// DEFINER/owner/GTID transforms). The results, one per database, go to
// the hub even when one fails.
func (a *Agent) restoreDatabases(ctx context.Context, l *lease, p *sdk.RestorePayload) error {
	j := l.job
	opts := p.Database
	if opts == nil || p.SnapshotSourceID == "" {
		return fmt.Errorf("database restore job without its options: %w", connector.ErrPermanent)
	}
	identity, err := a.fetchTenantIdentity(ctx, j)
	if err != nil {
		return err
	}
	ids := storage.SnapshotIDs{TenantID: j.TenantID, SourceID: p.SnapshotSourceID, SnapshotID: j.SnapshotID}
	w, err := a.openSnapshotWalk(ctx, l, ids, p.SnapshotSHA256, identity)
	if err != nil {
		return permanentIfDamaged(err)
	}
	defer w.close()
	plan, err := planDatabaseRestore(w.desc, j, opts)
	if err != nil {
		return err
	}
	secret, err := a.fetchSecret(ctx, l)
	if err != nil {
		return err
	}
	env, cleanup, err := a.connectorEnv(ctx, l)
	if err != nil {
		return err
	}
	defer cleanup()
	ld, engine, err := targetLoader(ctx, j, secret, env)
	if err != nil {
		return err
	}
	defer func() { _ = ld.Close() }()
	if want := sdk.SourceType(w.desc.SourceType).Engine(); want != engine {
		return fmt.Errorf("snapshot %s holds %s dumps; the target source is %s: %w", j.SnapshotID, want, engine,
			connector.ErrPermanent)
	}
	rep := &sdk.RestoreReport{}
	l.restoreReport = rep
	for _, item := range plan {
		if err := w.skipTo(item.db.File); err != nil {
			if errors.Is(err, io.EOF) {
				err = fmt.Errorf("snapshot %s lists database %s but holds no %s entry: %w", j.SnapshotID, item.db.Name,
					item.db.File, connector.ErrPermanent)
			}
			return permanentIfDamaged(err)
		}
		res, err := a.loadOne(ctx, l, w, reopen{ids: ids, sha: p.SnapshotSHA256, identity: identity}, p.Database, ld, item)
		rep.Databases = append(rep.Databases, res)
		if err != nil {
			return err
		}
	}
	return nil
}

// restoreItem is one database to load and the name it gets.
type restoreItem struct {
	db     archive.Database
	target string
	prefix *connector.PrefixRename
}

// planDatabaseRestore picks the snapshot's databases named by opts, in
// the order the snapshot holds them, with their target names.
func planDatabaseRestore(desc *archive.Descriptor, j *sdk.ClaimedJob, opts *sdk.DatabaseRestoreOptions) ([]restoreItem, error) {
	if desc == nil || len(desc.Databases) == 0 {
		return nil, fmt.Errorf("snapshot %s holds no database dump: %w", j.SnapshotID, connector.ErrPermanent)
	}
	var names []string
	for _, d := range desc.Databases {
		names = append(names, d.Name)
	}
	for _, want := range opts.Databases {
		if !slices.Contains(names, want) {
			return nil, fmt.Errorf("snapshot %s holds no database %q (it holds: %s): %w", j.SnapshotID, want,
				strings.Join(names, ", "), connector.ErrPermanent)
		}
	}
	var plan []restoreItem
	for _, d := range desc.Databases {
		if len(opts.Databases) == 0 || slices.Contains(opts.Databases, d.Name) {
			plan = append(plan, restoreItem{db: d, target: d.Name})
		}
	}
	if opts.As != "" {
		if len(plan) != 1 {
			return nil, fmt.Errorf("--as renames one database, and snapshot %s holds %d (%s); name one with --database: %w",
				j.SnapshotID, len(plan), strings.Join(names, ", "), connector.ErrPermanent)
		}
		plan[0].target = opts.As
	}
	if opts.TablePrefix != "" {
		if desc.WordPress == nil || desc.WordPress.TablePrefix == "" {
			return nil, fmt.Errorf("snapshot %s records no WordPress table prefix to rename: %w", j.SnapshotID, connector.ErrPermanent)
		}
		for i := range plan {
			plan[i].prefix = &connector.PrefixRename{From: desc.WordPress.TablePrefix, To: opts.TablePrefix}
		}
	}
	return plan, nil
}

// reopen is what a second pass over the artifact needs.
type reopen struct {
	ids      storage.SnapshotIDs
	sha      string
	identity age.Identity
}

// loadOne loads the current entry of w as item. A loader asking for the
// dump a second time (a MySQL --replace) gets it from a second pass over
// the artifact.
func (a *Agent) loadOne(ctx context.Context, l *lease, w *snapshotWalk, again reopen, opts *sdk.DatabaseRestoreOptions,
	ld connector.Loader, item restoreItem) (sdk.DatabaseRestoreResult, error) {
	start := time.Now()
	res := sdk.DatabaseRestoreResult{Database: item.db.Name, Target: item.target}
	l.currentPath.Store(&item.db.File)
	first := true
	open := func() (io.ReadCloser, error) {
		if first {
			first = false
			return io.NopCloser(w), nil
		}
		w2, err := a.openSnapshotWalk(ctx, l, again.ids, again.sha, again.identity)
		if err != nil {
			return nil, err
		}
		if err := w2.skipTo(item.db.File); err != nil {
			w2.close()
			return nil, err
		}
		return walkCloser{w2}, nil
	}
	out, err := ld.Load(ctx, connector.LoadOptions{Database: item.target, Format: item.db.Format,
		Create: opts.CreateDatabase, Replace: opts.Replace, KeepOwners: opts.KeepOwners,
		TablePrefix: item.prefix, Open: open})
	res.Seconds = roundSeconds(time.Since(start))
	switch {
	case w.err != nil:
		err = fmt.Errorf("restore of database %s: %w: %w", item.db.Name, w.err, connector.ErrPermanent)
	case ctx.Err() != nil:
		err = fmt.Errorf("restore of database %s interrupted: %w", item.db.Name, context.Cause(ctx))
	}
	if err != nil {
		res.Error = err.Error()
		return res, err
	}
	res.Warnings = out.Warnings
	res.Tables = len(out.Tables)
	for _, t := range out.Tables {
		res.Rows += t.Rows
	}
	l.filesDone.Add(1)
	for _, wmsg := range out.Warnings {
		l.warnText(item.db.Name + ": " + wmsg)
	}
	return res, nil
}

type walkCloser struct{ w *snapshotWalk }

func (c walkCloser) Read(p []byte) (int, error) { return c.w.Read(p) }
func (c walkCloser) Close() error               { c.w.close(); return nil }

// permanentIfDamaged makes a damaged artifact a permanent failure: no
// retry reads it any better.
func permanentIfDamaged(err error) error {
	if errors.Is(err, errDamaged) && !errors.Is(err, connector.ErrPermanent) {
		return fmt.Errorf("%w: %w", err, connector.ErrPermanent)
	}
	return err
}
