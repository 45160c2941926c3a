package api

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/hubd/internal/keys"
	"github.com/xvault/xvault/hubd/internal/store"
	"github.com/xvault/xvault/sdk"
)

const (
	testAccessKey = "AKIAXVAULTTEST"
	testSecretKey = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYsecretKEY"
)

func s3Credential(name string) sdk.CreateCredentialRequest {
	return sdk.CreateCredentialRequest{Name: name, Kind: sdk.CredentialS3AccessKey,
		AccessKeyID: testAccessKey, SecretAccessKey: testSecretKey}
}

func s3Target(name, credID string) sdk.CreateStorageTargetRequest {
	return sdk.CreateStorageTargetRequest{Name: name, Type: sdk.StorageS3, Endpoint: "http://127.0.0.1:7070",
		Bucket: "xvault-test", Prefix: "backups", PathStyle: true, CredentialID: credID}
}

// newS3Target makes an s3_access_key credential and a target with it as
// token (query: "" or "?tenant_id=…"); it returns their ids.
func (e *testEnv) newS3Target(token, query, name string) (credID, targetID string) {
	e.t.Helper()
	var cred sdk.Credential
	e.call("POST", "/api/v1/credentials"+query, token, s3Credential("s3-"+name), 201, &cred)
	var tg sdk.StorageTarget
	e.call("POST", "/api/v1/storage-targets"+query, token, s3Target(name, cred.ID), 201, &tg)
	return cred.ID, tg.ID
}

// platformTarget makes a platform credential and a platform target.
func (e *testEnv) platformTarget(name string) (credID, targetID string) {
	e.t.Helper()
	var cred sdk.Credential
	e.call("POST", "/api/v1/admin/credentials", e.admin, s3Credential("s3-"+name), 201, &cred)
	require.True(e.t, cred.Platform)
	require.Empty(e.t, cred.TenantID)
	req := s3Target(name, cred.ID)
	req.Platform = true
	var tg sdk.StorageTarget
	e.call("POST", "/api/v1/storage-targets", e.admin, req, 201, &tg)
	require.True(e.t, tg.Platform)
	return cred.ID, tg.ID
}

func TestStorageTargetCRUD(t *testing.T) {
	forEachDialect(t, func(t *testing.T, e *testEnv) {
		a := e.newTenant("acme")
		var cred sdk.Credential
		e.call("POST", "/api/v1/credentials", a.Admin, s3Credential("minio"), 201, &cred)
		require.Equal(t, sdk.CredentialS3AccessKey, cred.Kind)
		require.False(t, cred.Platform)

		var tg sdk.StorageTarget
		e.call("POST", "/api/v1/storage-targets", a.Admin, s3Target("primary", cred.ID), 201, &tg)
		require.Equal(t, sdk.StorageTarget{ID: tg.ID, TenantID: a.ID, Name: "primary", Type: sdk.StorageS3,
			Endpoint: "http://127.0.0.1:7070", Bucket: "xvault-test", Prefix: "backups/", PathStyle: true,
			CredentialID: cred.ID, CreatedAt: tg.CreatedAt, UpdatedAt: tg.UpdatedAt}, tg)

		var got sdk.StorageTarget
		e.call("GET", "/api/v1/storage-targets/"+tg.ID, a.Member, nil, 200, &got)
		require.Equal(t, tg, got)
		var list sdk.Page[sdk.StorageTarget]
		e.call("GET", "/api/v1/storage-targets", a.Member, nil, 200, &list)
		require.Len(t, list.Items, 1)
		// a platform admin sees it by id without naming the tenant, and in the all-targets list
		e.call("GET", "/api/v1/storage-targets/"+tg.ID, e.admin, nil, 200, &got)
		e.call("GET", "/api/v1/storage-targets", e.admin, nil, 200, &list)
		require.Len(t, list.Items, 1)

		e.apiErr("POST", "/api/v1/storage-targets", a.Admin, s3Target("primary", cred.ID), 409)
		e.apiErr("POST", "/api/v1/storage-targets", a.Member, s3Target("other", cred.ID), 403)
		e.apiErr("DELETE", "/api/v1/storage-targets/"+tg.ID, a.Member, nil, 403)
		e.call("DELETE", "/api/v1/storage-targets/"+tg.ID, a.Owner, nil, 204, nil)
		e.apiErr("GET", "/api/v1/storage-targets/"+tg.ID, a.Owner, nil, 404)

		var audit sdk.Page[sdk.AuditEvent]
		e.call("GET", "/api/v1/audit?action=storage_target.create", a.Member, nil, 200, &audit)
		require.Len(t, audit.Items, 1)
		e.requireNoS3Secret()
	})
}

// requireNoS3Secret: the secret access key is in no column of any table
// that might hold it (credentials hold it sealed) and in no response.
func (e *testEnv) requireNoS3Secret() {
	for _, tbl := range []string{"credentials", "storage_targets", "audit_events", "events"} {
		var rows []map[string]any
		require.NoError(e.t, e.db.NewSelect().Table(tbl).Scan(context.Background(), &rows))
		for _, row := range rows {
			for col, v := range row {
				s := fmt.Sprintf("%s", v)
				require.NotContains(e.t, s, testSecretKey, "%s.%s holds the secret", tbl, col)
				require.NotContains(e.t, s, testAccessKey, "%s.%s holds the access key id", tbl, col)
			}
		}
	}
}

func TestS3CredentialSealed(t *testing.T) {
	forEachDialect(t, func(t *testing.T, e *testEnv) {
		a := e.newTenant("acme")
		status, body := e.do("POST", "/api/v1/credentials", a.Owner, s3Credential("minio"))
		require.Equal(t, 201, status, "%s", body)
		require.NotContains(t, string(body), testSecretKey)
		require.NotContains(t, string(body), testAccessKey)
		var cred sdk.Credential
		status, body = e.do("POST", "/api/v1/admin/credentials", e.admin, s3Credential("platform"))
		require.Equal(t, 201, status, "%s", body)
		require.NotContains(t, string(body), testSecretKey)
		require.NoError(t, json.Unmarshal(body, &cred))

		// The platform credential opens with AD = ("", id) and no other.
		row, err := store.GetPlatformCredential(context.Background(), e.db, cred.ID)
		require.NoError(t, err)
		plain, err := e.srv.cfg.Keys.Open(row.Ciphertext, keys.CredentialAD("", cred.ID), row.KEKID)
		require.NoError(t, err)
		require.Contains(t, string(plain), testSecretKey)
		_, err = e.srv.cfg.Keys.Open(row.Ciphertext, keys.CredentialAD(a.ID, cred.ID), row.KEKID)
		require.Error(t, err)
		e.requireNoS3Secret()
	})
}

func TestStorageValidationNamesFields(t *testing.T) {
	forEachDialect(t, func(t *testing.T, e *testEnv) {
		a := e.newTenant("acme")
		bad := sdk.CreateCredentialRequest{Name: "x", Kind: sdk.CredentialS3AccessKey, AccessKeyID: "has space",
			SecretAccessKey: "", Password: "pw"}
		er := e.apiErr("POST", "/api/v1/credentials", a.Owner, bad, 400)
		require.Contains(t, er.Fields, "access_key_id")
		require.Contains(t, er.Fields["secret_access_key"], "secret access key")
		require.Contains(t, er.Fields["password"], "not used")
		er = e.apiErr("POST", "/api/v1/credentials", a.Owner, sdk.CreateCredentialRequest{Name: "p",
			Kind: sdk.CredentialPassword, Password: "pw", SecretAccessKey: testSecretKey}, 400)
		require.Contains(t, er.Fields["secret_access_key"], "only for s3_access_key")
		require.NotContains(t, fmt.Sprint(er), testSecretKey)

		req := sdk.CreateStorageTargetRequest{Name: "", Type: "gcs", Endpoint: "s3.example.com", Bucket: "Bad_Bucket",
			Region: "eu west", Prefix: "../up", CredentialID: a.Credential}
		er = e.apiErr("POST", "/api/v1/storage-targets", a.Owner, req, 400)
		for _, field := range []string{"name", "type", "endpoint", "bucket", "region", "prefix"} {
			require.Contains(t, er.Fields, field, "%v", er.Fields)
		}
		require.Contains(t, er.Fields["credential_id"], "must be an s3_access_key credential, not password")
		req = s3Target("t", "")
		req.Endpoint = "https://AKIA:hunter2pass@s3.example.com"
		er = e.apiErr("POST", "/api/v1/storage-targets", a.Owner, req, 400)
		require.Contains(t, er.Fields["endpoint"], "must not carry a user")
		require.Contains(t, er.Fields["credential_id"], "is required")
		require.NotContains(t, fmt.Sprint(er.Message, er.Fields), "hunter2pass")
		er = e.apiErr("POST", "/api/v1/storage-targets", a.Owner, s3Target("t", "no-such-id"), 400)
		require.Equal(t, "not found", er.Fields["credential_id"])
		require.Zero(t, e.count("storage_targets"))
	})
}

func TestPlatformStorageTargets(t *testing.T) {
	forEachDialect(t, func(t *testing.T, e *testEnv) {
		a := e.newTenant("acme")
		tenantCred, _ := e.newS3Target(a.Owner, "", "own")

		// Tenants cannot make platform credentials or targets.
		e.apiErr("POST", "/api/v1/admin/credentials", a.Owner, s3Credential("p"), 403)
		req := s3Target("shared", tenantCred)
		req.Platform = true
		e.apiErr("POST", "/api/v1/storage-targets", a.Owner, req, 403)
		// A platform admin must say whose target it makes.
		er := e.apiErr("POST", "/api/v1/storage-targets", e.admin, s3Target("shared", tenantCred), 400)
		require.Contains(t, er.Fields, "tenant_id")
		// A platform target needs a platform credential, not a tenant's.
		er = e.apiErr("POST", "/api/v1/storage-targets", e.admin, req, 400)
		require.Contains(t, er.Fields["credential_id"], "platform credentials")
		er = e.apiErr("POST", "/api/v1/admin/credentials", e.admin, sdk.CreateCredentialRequest{Name: "pw",
			Kind: sdk.CredentialPassword, Password: "x"}, 400)
		require.Contains(t, er.Fields["kind"], "s3_access_key")

		pCred, pTarget := e.platformTarget("shared")
		// The platform credential is invisible to tenants, and unusable for their targets.
		e.apiErr("GET", "/api/v1/credentials/"+pCred, a.Owner, nil, 404)
		e.apiErr("GET", "/api/v1/admin/credentials/"+pCred, a.Owner, nil, 403)
		er = e.apiErr("POST", "/api/v1/storage-targets", a.Owner, s3Target("mine", pCred), 400)
		require.Equal(t, "not found", er.Fields["credential_id"])
		var creds sdk.Page[sdk.Credential]
		e.call("GET", "/api/v1/credentials", a.Owner, nil, 200, &creds)
		for _, c := range creds.Items {
			require.NotEqual(t, pCred, c.ID)
		}
		e.call("GET", "/api/v1/admin/credentials", e.admin, nil, 200, &creds)
		require.Len(t, creds.Items, 1)

		// Tenants see the platform target (without its credential) and may use it.
		var tg sdk.StorageTarget
		e.call("GET", "/api/v1/storage-targets/"+pTarget, a.Member, nil, 200, &tg)
		require.True(t, tg.Platform)
		require.Empty(t, tg.CredentialID)
		var list sdk.Page[sdk.StorageTarget]
		e.call("GET", "/api/v1/storage-targets", a.Member, nil, 200, &list)
		require.Len(t, list.Items, 2)
		e.apiErr("DELETE", "/api/v1/storage-targets/"+pTarget, a.Owner, nil, 403)
		src := sftpSource("uses-platform", a.Credential)
		src.StorageID = pTarget
		e.call("POST", "/api/v1/sources", a.Owner, src, 201, nil)

		e.apiErr("DELETE", "/api/v1/storage-targets/"+pTarget, e.admin, nil, 409)
		e.apiErr("DELETE", "/api/v1/admin/credentials/"+pCred, e.admin, nil, 409)
		e.requireNoS3Secret()
	})
}

func TestStorageTenantIsolation(t *testing.T) {
	forEachDialect(t, func(t *testing.T, e *testEnv) {
		a, b := e.newTenant("alpha"), e.newTenant("bravo")
		bCred, bTarget := e.newS3Target(b.Owner, "", "b-store")

		e.apiErr("GET", "/api/v1/storage-targets/"+bTarget, a.Owner, nil, 404)
		e.apiErr("DELETE", "/api/v1/storage-targets/"+bTarget, a.Owner, nil, 404)
		e.apiErr("GET", "/api/v1/storage-targets?tenant_id="+b.ID, a.Owner, nil, 403)
		e.apiErr("GET", "/api/v1/credentials/"+bCred, a.Owner, nil, 404)
		var list sdk.Page[sdk.StorageTarget]
		e.call("GET", "/api/v1/storage-targets", a.Owner, nil, 200, &list)
		require.Empty(t, list.Items)
		// A platform admin naming A sees A's targets only.
		e.call("GET", "/api/v1/storage-targets?tenant_id="+a.ID, e.admin, nil, 200, &list)
		require.Empty(t, list.Items)

		// B's target cannot be used by A's sources, nor be A's default: the field is named.
		src := sftpSource("steal", a.Credential)
		src.StorageID = bTarget
		er := e.apiErr("POST", "/api/v1/sources", a.Owner, src, 400)
		require.Contains(t, er.Fields["storage_id"], "not found")
		er = e.apiErr("PATCH", "/api/v1/sources/"+a.Source, a.Owner, sdk.UpdateSourceRequest{StorageID: &bTarget}, 400)
		require.Contains(t, er.Fields["storage_id"], "not found")
		er = e.apiErr("PATCH", "/api/v1/tenants/"+a.ID, a.Owner, sdk.UpdateTenantRequest{DefaultStorageID: &bTarget}, 400)
		require.Contains(t, er.Fields["default_storage_id"], "not found")
		e.apiErr("PATCH", "/api/v1/tenants/"+b.ID, a.Owner, sdk.UpdateTenantRequest{DefaultStorageID: new(string)}, 404)
		// nor used by a platform admin for A's source
		er = e.apiErr("PATCH", "/api/v1/sources/"+a.Source, e.admin, sdk.UpdateSourceRequest{StorageID: &bTarget}, 400)
		require.Contains(t, er.Fields, "storage_id")
		// B's credential cannot back A's target.
		er = e.apiErr("POST", "/api/v1/storage-targets", a.Owner, s3Target("x", bCred), 400)
		require.Equal(t, "not found", er.Fields["credential_id"])
		var src2 sdk.Source
		e.call("GET", "/api/v1/sources/"+a.Source, a.Owner, nil, 200, &src2)
		require.Empty(t, src2.StorageID)
	})
}

func TestStorageTargetDeleteRefusedWhileUsed(t *testing.T) {
	forEachDialect(t, func(t *testing.T, e *testEnv) {
		a := e.newTenant("acme")
		cred, target := e.newS3Target(a.Owner, "", "primary")
		e.apiErr("DELETE", "/api/v1/credentials/"+cred, a.Owner, nil, 409)

		// a source
		var src sdk.Source
		e.call("PATCH", "/api/v1/sources/"+a.Source, a.Owner, sdk.UpdateSourceRequest{StorageID: &target}, 200, &src)
		require.Equal(t, target, src.StorageID)
		er := e.apiErr("DELETE", "/api/v1/storage-targets/"+target, a.Owner, nil, 409)
		require.Contains(t, er.Message, "1 source(s)")
		var cleared sdk.Source
		e.call("PATCH", "/api/v1/sources/"+a.Source, a.Owner, sdk.UpdateSourceRequest{StorageID: new(string)}, 200, &cleared)
		require.Empty(t, cleared.StorageID)

		// a tenant default
		var tn sdk.Tenant
		e.call("PATCH", "/api/v1/tenants/"+a.ID, a.Owner, sdk.UpdateTenantRequest{DefaultStorageID: &target}, 200, &tn)
		require.Equal(t, target, tn.DefaultStorageID)
		e.apiErr("PATCH", "/api/v1/tenants/"+a.ID, a.Member, sdk.UpdateTenantRequest{DefaultStorageID: new(string)}, 403)
		er = e.apiErr("DELETE", "/api/v1/storage-targets/"+target, a.Owner, nil, 409)
		require.Contains(t, er.Message, "1 tenant default(s)")
		var tn2 sdk.Tenant
		e.call("PATCH", "/api/v1/tenants/"+a.ID, a.Owner, sdk.UpdateTenantRequest{DefaultStorageID: new(string)}, 200, &tn2)
		require.Empty(t, tn2.DefaultStorageID)

		// a snapshot (recorded by hand: no agent writes to S3 yet)
		ag := e.enrollAgent("a1")
		snap := e.backupDone(a, ag)
		_, err := e.db.NewUpdate().Table("snapshots").Set("storage_target_id = ?", target).
			Set("storage_backend = ?", sdk.StorageBackendS3).Where("id = ?", snap).Exec(context.Background())
		require.NoError(t, err)
		var sn sdk.Snapshot
		e.call("GET", "/api/v1/snapshots/"+snap, a.Member, nil, 200, &sn)
		require.Equal(t, target, sn.StorageTargetID)
		require.Equal(t, sdk.StorageBackendS3, sn.StorageBackend)
		er = e.apiErr("DELETE", "/api/v1/storage-targets/"+target, a.Owner, nil, 409)
		require.Contains(t, er.Message, "1 snapshot(s)")
		_, err = e.db.NewUpdate().Table("snapshots").Set("storage_target_id = NULL").Where("id = ?", snap).
			Exec(context.Background())
		require.NoError(t, err)

		e.call("DELETE", "/api/v1/storage-targets/"+target, a.Owner, nil, 204, nil)
		e.call("DELETE", "/api/v1/credentials/"+cred, a.Owner, nil, 204, nil)
	})
}

// TestBackupToS3RefusedUntilAgentsSupportIt: a backup whose snapshot would
// go to an s3 target is refused at enqueue (API and scheduler both go
// through store.EnqueueBackup) until an agent advertises storage:s3.
func TestBackupToS3RefusedUntilAgentsSupportIt(t *testing.T) {
	forEachDialect(t, func(t *testing.T, e *testEnv) {
		a := e.newTenant("acme")
		_, target := e.newS3Target(a.Owner, "", "primary")
		e.enrollAgent("plain") // an agent without storage:s3

		e.call("PATCH", "/api/v1/sources/"+a.Source, a.Owner, sdk.UpdateSourceRequest{StorageID: &target}, 200, nil)
		er := e.apiErr("POST", "/api/v1/jobs", a.Owner, sdk.CreateJobRequest{SourceID: a.Source}, 409)
		require.Contains(t, er.Message, "storage target primary")
		require.Contains(t, er.Message, "is not supported by any agent yet")

		// the tenant default counts as well
		e.call("PATCH", "/api/v1/sources/"+a.Source, a.Owner, sdk.UpdateSourceRequest{StorageID: new(string)}, 200, nil)
		e.call("PATCH", "/api/v1/tenants/"+a.ID, a.Owner, sdk.UpdateTenantRequest{DefaultStorageID: &target}, 200, nil)
		e.apiErr("POST", "/api/v1/jobs", a.Owner, sdk.CreateJobRequest{SourceID: a.Source}, 409)
		job := &store.Job{TenantID: a.ID, SourceID: &a.Source}
		_, _, err := store.EnqueueBackup(context.Background(), e.db, job) // the scheduler's path
		require.ErrorIs(t, err, sdk.ErrConflict)
		require.Zero(t, e.count("jobs"))

		// once an agent can write to S3, the backup is queued
		s3agent := e.enrollAgent("s3")
		e.heartbeat(s3agent, sdk.HeartbeatRequest{Capabilities: []string{"backup:sftp", sdk.CapabilityStorageS3}})
		e.call("POST", "/api/v1/jobs", a.Owner, sdk.CreateJobRequest{SourceID: a.Source}, 201, nil)
	})
}
