package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/uptrace/bun"

	"github.com/xvault/xvault/hubd/internal/store"
	"github.com/xvault/xvault/hubd/internal/validate"
	"github.com/xvault/xvault/sdk"
)

// createDatabaseRestore is POST /api/v1/snapshots/{id}/restore with
// into_source_id: a restore job that loads the snapshot's dumps into the
// server of a mysql or postgres source of the tenant (docs/restore.md).
// The job's source is the target, so the agent gets the target's
// connection, SSH block and credentials; it runs on the agent holding the
// snapshot.
func (s *Server) createDatabaseRestore(ctx context.Context, c *call, req *sdk.CreateRestoreRequest) (int, any, error) {
	f := validate.Fields{}
	if req.IntoSourceID == "" {
		f.Add("into_source_id", "is required for a database restore")
	}
	if req.Format != "" && req.Format != sdk.RestoreDatabase {
		f.Add("format", "a restore into a database has format database (or none)")
	}
	if len(req.Paths) > 0 {
		f.Add("paths", "select files of a download; a database restore selects databases")
	}
	if req.ExpiresIn != "" {
		f.Add("expires_in", "applies to downloads; a database restore has no link")
	}
	if len(f) > 0 {
		return 0, nil, sdk.FieldErrors(f)
	}
	opts := req.DatabaseRestoreOptions
	var r *store.Restore
	var job *store.Job
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		snap, err := store.LockSnapshot(ctx, tx, c.tenantID, c.r.PathValue("id"))
		if err != nil {
			return notFoundAs(err, "snapshot")
		}
		if err := restorable(snap, req.Force); err != nil {
			return err
		}
		target, err := s.restoreTarget(ctx, tx, c.tenantID, snap, req.IntoSourceID, &opts)
		if err != nil {
			return err
		}
		r = &store.Restore{ID: store.NewID(), TenantID: snap.TenantID, SnapshotID: snap.ID,
			Format: string(sdk.RestoreDatabase), Status: store.RestorePending, IntoSourceID: &target.ID,
			CreatedAt: s.now()}
		if r.Options, err = json.Marshal(opts); err != nil {
			return wrapf(err, "encode restore options")
		}
		job, err = enqueueRestoreJob(ctx, tx, snap, target.ID, &restoreJobPayload{RestoreID: r.ID,
			Format: sdk.RestoreDatabase, Database: &opts}, r.CreatedAt)
		if err != nil {
			return err
		}
		r.JobID = &job.ID
		if err := store.InsertRestore(ctx, tx, r); err != nil {
			return err
		}
		return s.audit(ctx, tx, c, auditEntry{TenantID: c.tenantID, Action: "restore.create", ObjectType: "restore",
			ObjectID: r.ID, Details: map[string]any{"snapshot_id": snap.ID, "job_id": job.ID, "format": r.Format,
				"into_source_id": target.ID, "databases": opts.Databases, "as": opts.As,
				"create_database": opts.CreateDatabase, "replace": opts.Replace, "force": req.Force}})
	})
	if err != nil {
		return 0, nil, wrapf(err, "create restore")
	}
	s.cfg.Waker.Notify(ctx)
	return http.StatusCreated, s.restoreOut(r, job, ""), nil
}

// restoreTarget loads the target source of a database restore and checks
// that the snapshot's dumps can load into it.
func (s *Server) restoreTarget(ctx context.Context, tx bun.IDB, tenantID string, snap *store.Snapshot, intoID string,
	opts *sdk.DatabaseRestoreOptions) (*store.Source, error) {
	target, err := store.GetSource(ctx, tx, tenantID, intoID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fieldError("into_source_id", "names no source of this tenant")
	} else if err != nil {
		return nil, wrapf(err, "load target source")
	}
	from, err := store.GetSource(ctx, tx, tenantID, snap.SourceID)
	if err != nil {
		return nil, wrapf(err, "load source of snapshot %s", snap.ID)
	}
	engine := sdk.SourceType(from.Type).Engine()
	switch {
	case engine == "":
		return nil, fieldError("into_source_id", "snapshot "+snap.ID+" is of a "+from.Type+" source and holds no database")
	case target.Type != string(sdk.SourceMySQL) && target.Type != string(sdk.SourcePostgres):
		return nil, fieldError("into_source_id", "must be a mysql or postgres source (its server is restored into); "+
			target.Name+" is "+target.Type)
	case sdk.SourceType(target.Type).Engine() != engine:
		return nil, fieldError("into_source_id", "snapshot "+snap.ID+" holds "+engine+" dumps; "+target.Name+
			" is a "+target.Type+" source")
	}
	if f := validate.DatabaseRestore(engine, sdk.SourceType(from.Type), opts); len(f) > 0 {
		return nil, sdk.FieldErrors(f)
	}
	return target, nil
}
