package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/uptrace/bun"

	"github.com/xvault/xvault/hubd/internal/store"
	"github.com/xvault/xvault/hubd/internal/validate"
	"github.com/xvault/xvault/sdk"
)

// POST /api/v1/sources
func (s *Server) createSource(ctx context.Context, c *call) (int, any, error) {
	var req sdk.CreateSourceRequest
	if err := decode(c, &req); err != nil {
		return 0, nil, err
	}
	in := validate.Source{Type: req.Type, Name: req.Name, Status: sdk.SourceActive,
		CredentialID: req.CredentialID, Config: req.Config, StorageID: req.StorageID}
	res, err := s.checkSource(ctx, s.db, c.tenantID, in)
	if err != nil {
		return 0, nil, err
	}
	if err := s.checkSupported(ctx, req.Type); err != nil {
		return 0, nil, err
	}
	now := s.now()
	src := &store.Source{ID: store.NewID(), TenantID: c.tenantID, Type: string(req.Type), Name: req.Name,
		Status: string(sdk.SourceActive), Config: res.Config, CredentialID: ptr(req.CredentialID),
		StorageID: ptr(req.StorageID), CreatedAt: now, UpdatedAt: now}
	err = s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := store.CreateSource(ctx, tx, src); err != nil {
			return conflictAs(err, "a source named %q already exists", req.Name)
		}
		return s.audit(ctx, tx, c, auditEntry{TenantID: c.tenantID, Action: "source.create", ObjectType: "source",
			ObjectID: src.ID, Details: map[string]any{"name": src.Name, "type": src.Type}})
	})
	if err != nil {
		return 0, nil, wrapf(err, "create source")
	}
	return http.StatusCreated, sourceOut(src), nil
}

// checkSupported refuses a source type that no enrolled agent can back up
// (agents report "backup:<type>" capabilities at enrollment and in every
// heartbeat). Agents that declare no backup capability at all say nothing
// either way, and with none that declares any (no agent enrolled yet) the
// source is accepted: operators often create sources before agents.
func (s *Server) checkSupported(ctx context.Context, typ sdk.SourceType) error {
	all, err := store.AgentCapabilities(ctx, s.db)
	if err != nil {
		return wrapf(err, "check agent capabilities")
	}
	want, declared := "backup:"+string(typ), false
	for _, raw := range all {
		var caps []string
		if json.Unmarshal(raw, &caps) != nil {
			continue
		}
		if slices.Contains(caps, want) {
			return nil
		}
		declared = declared || slices.ContainsFunc(caps, func(c string) bool { return strings.HasPrefix(c, "backup:") })
	}
	if !declared {
		return nil
	}
	return sdk.FieldErrors(validate.Fields{"type": fmt.Sprintf("no enrolled agent supports %s sources yet "+
		"(hint: upgrade the agents; xv agent list -o json shows their capabilities)", typ)})
}

// checkSource validates a source as it would be stored, including that its
// credential belongs to the tenant. Every problem is reported at once.
func (s *Server) checkSource(ctx context.Context, db bun.IDB, tenantID string, in validate.Source) (*validate.SourceResult, error) {
	res, f := validate.CheckSource(in)
	if f == nil {
		f = validate.Fields{}
	}
	for _, ref := range in.CredentialRefs() { // credential_id, config.ssh.credential_id, …
		cred, err := store.GetCredential(ctx, db, tenantID, ref.ID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			f.Add(ref.Field, "not found")
		case err != nil:
			return nil, wrapf(err, "check credential of source")
		case ref.Kind != "" && cred.Kind != string(ref.Kind):
			f.Add(ref.Field, "must be a "+string(ref.Kind)+" credential, not "+cred.Kind)
		case cred.Kind == string(sdk.CredentialS3AccessKey):
			f.Add(ref.Field, "is an s3_access_key credential, which only storage targets use")
		}
	}
	if err := s.checkSourceStorage(ctx, db, f, "storage_id", tenantID, in.StorageID); err != nil {
		return nil, err
	}
	if len(f) > 0 {
		return nil, sdk.FieldErrors(f)
	}
	return res, nil
}

// GET /api/v1/sources[?type=]
func (s *Server) listSources(ctx context.Context, c *call) (int, any, error) {
	lp, err := listParams(c)
	if err != nil {
		return 0, nil, err
	}
	rows, next, err := store.ListSources(ctx, s.db, c.tenantID, store.SourceListParams{
		ListParams: lp, Type: c.r.URL.Query().Get("type")})
	if err != nil {
		return 0, nil, wrapf(err, "list sources")
	}
	return http.StatusOK, page(rows, next, sourceOut), nil
}

// GET /api/v1/sources/{id}
func (s *Server) getSource(ctx context.Context, c *call) (int, any, error) {
	src, err := store.GetSource(ctx, s.db, c.tenantID, c.r.PathValue("id"))
	if err != nil {
		return 0, nil, wrapf(notFoundAs(err, "source"), "get source")
	}
	return http.StatusOK, sourceOut(src), nil
}

// PATCH /api/v1/sources/{id}: the merged source is validated like a new one.
func (s *Server) updateSource(ctx context.Context, c *call) (int, any, error) {
	var req sdk.UpdateSourceRequest
	if err := decode(c, &req); err != nil {
		return 0, nil, err
	}
	var src *store.Source
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var err error
		src, err = store.GetSource(ctx, tx, c.tenantID, c.r.PathValue("id"))
		if err != nil {
			return notFoundAs(err, "source")
		}
		changed, err := s.applySourceUpdate(ctx, tx, c.tenantID, src, &req)
		if err != nil {
			return err
		}
		src.UpdatedAt = s.now()
		if err := store.UpdateSource(ctx, tx, src); err != nil {
			return conflictAs(err, "a source named %q already exists", src.Name)
		}
		return s.audit(ctx, tx, c, auditEntry{TenantID: c.tenantID, Action: "source.update", ObjectType: "source",
			ObjectID: src.ID, Details: map[string]any{"changed": changed}})
	})
	if err != nil {
		return 0, nil, wrapf(err, "update source")
	}
	return http.StatusOK, sourceOut(src), nil
}

// applySourceUpdate merges req into src, validates the result and returns
// the names of the changed fields.
func (s *Server) applySourceUpdate(ctx context.Context, tx bun.IDB, tenantID string, src *store.Source,
	req *sdk.UpdateSourceRequest) ([]string, error) {
	in := validate.Source{Type: sdk.SourceType(src.Type), Name: src.Name, Status: sdk.SourceStatus(src.Status),
		CredentialID: deref(src.CredentialID), Config: src.Config, StorageID: deref(src.StorageID)}
	changed := []string{}
	if req.Name != nil {
		in.Name, changed = *req.Name, append(changed, "name")
	}
	if req.Status != nil {
		in.Status, changed = *req.Status, append(changed, "status")
	}
	if req.CredentialID != nil {
		in.CredentialID, changed = *req.CredentialID, append(changed, "credential_id")
	}
	if len(req.Config) > 0 {
		in.Config, changed = req.Config, append(changed, "config")
	}
	if req.StorageID != nil {
		in.StorageID, changed = *req.StorageID, append(changed, "storage_id")
	}
	res, err := s.checkSource(ctx, tx, tenantID, in)
	if err != nil {
		return nil, err
	}
	if res.SSH != nil && sshEndpointChanged(src.Config, res.SSH) {
		src.HostKeyFingerprint = nil // a new host: trust on first use again
	}
	src.Name, src.Status, src.CredentialID, src.Config = in.Name, string(in.Status), ptr(in.CredentialID), res.Config
	src.StorageID = ptr(in.StorageID)
	return changed, nil
}

// sshEndpointChanged reports whether host or port differ from the stored config.
func sshEndpointChanged(old []byte, now *sdk.SSHConfig) bool {
	prev, f := validate.SSHConfig(old)
	return len(f) > 0 || prev.Host != now.Host || prev.Port != now.Port
}

// DELETE /api/v1/sources/{id}: 409 while it has snapshots or active jobs.
func (s *Server) deleteSource(ctx context.Context, c *call) (int, any, error) {
	id := c.r.PathValue("id")
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := store.DeleteSource(ctx, tx, c.tenantID, id); err != nil {
			return conflictAs(notFoundAs(err, "source"),
				"source %s still has snapshots or active jobs; hint: disable it instead (status disabled)", id)
		}
		return s.audit(ctx, tx, c, auditEntry{TenantID: c.tenantID, Action: "source.delete", ObjectType: "source",
			ObjectID: id})
	})
	if err != nil {
		return 0, nil, wrapf(err, "delete source")
	}
	return http.StatusNoContent, nil, nil
}

func sourceOut(s *store.Source) sdk.Source {
	return sdk.Source{ID: s.ID, TenantID: s.TenantID, Type: sdk.SourceType(s.Type), Name: s.Name,
		Status: sdk.SourceStatus(s.Status), CredentialID: deref(s.CredentialID), Config: s.Config,
		HostKeyFingerprint: deref(s.HostKeyFingerprint), StorageID: deref(s.StorageID),
		CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt}
}
