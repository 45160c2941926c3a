package store_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/hubd/internal/store"
)

func TestCredentials(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		other := newTenant(t, db, "other")
		got, err := store.GetCredential(ctx, db, f.tenant.ID, f.cred.ID)
		require.NoError(t, err)
		require.Equal(t, f.cred, got)
		_, err = store.GetCredential(ctx, db, other.ID, f.cred.ID)
		require.ErrorIs(t, err, store.ErrNotFound)

		dup := &store.Credential{TenantID: f.tenant.ID, Name: "root-pw", Kind: "password", Ciphertext: []byte{1}, KEKID: "k"}
		require.ErrorIs(t, store.CreateCredential(ctx, db, dup), store.ErrConflict)
		same := &store.Credential{TenantID: other.ID, Name: "root-pw", Kind: "ssh_private_key", Ciphertext: []byte{1}, KEKID: "k", HasPassphrase: true}
		require.NoError(t, store.CreateCredential(ctx, db, same), "names are per tenant")
		bad := &store.Credential{TenantID: other.ID, Name: "x", Kind: "token", Ciphertext: []byte{1}, KEKID: "k"}
		require.ErrorIs(t, store.CreateCredential(ctx, db, bad), store.ErrConflict, "check constraint")

		list, _, err := store.ListCredentials(ctx, db, f.tenant.ID, store.ListParams{})
		require.NoError(t, err)
		require.Len(t, list, 1)

		require.ErrorIs(t, store.DeleteCredential(ctx, db, f.tenant.ID, f.cred.ID), store.ErrConflict, "in use")
		require.ErrorIs(t, store.DeleteCredential(ctx, db, other.ID, f.cred.ID), store.ErrNotFound)
		require.NoError(t, store.DeleteSource(ctx, db, f.tenant.ID, f.source.ID))
		require.NoError(t, store.DeleteCredential(ctx, db, f.tenant.ID, f.cred.ID))
		_, err = store.GetCredential(ctx, db, f.tenant.ID, f.cred.ID)
		require.ErrorIs(t, err, store.ErrNotFound)
	})
}

func TestSources(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		other := newTenant(t, db, "other")
		got, err := store.GetSource(ctx, db, f.tenant.ID, f.source.ID)
		require.NoError(t, err)
		require.JSONEq(t, `{"host":"example.org","port":22}`, string(got.Config))
		require.Equal(t, "active", got.Status)
		_, err = store.GetSource(ctx, db, other.ID, f.source.ID)
		require.ErrorIs(t, err, store.ErrNotFound)

		dup := &store.Source{TenantID: f.tenant.ID, Type: "ssh", Name: "web1"}
		require.ErrorIs(t, store.CreateSource(ctx, db, dup), store.ErrConflict)
		foreign := &store.Source{TenantID: other.ID, Type: "ssh", Name: "steal", CredentialID: &f.cred.ID}
		require.ErrorIs(t, store.CreateSource(ctx, db, foreign), store.ErrConflict, "another tenant's credential")

		got.Name, got.Status, got.Config = "web1-renamed", "disabled", json.RawMessage(`{"host":"b"}`)
		require.NoError(t, store.UpdateSource(ctx, db, got))
		require.Equal(t, "web1-renamed", got.Name)
		moved := *got
		moved.TenantID = other.ID
		require.ErrorIs(t, store.UpdateSource(ctx, db, &moved), store.ErrNotFound)

		fp, err := store.RecordHostKey(ctx, db, f.tenant.ID, f.source.ID, "SHA256:first")
		require.NoError(t, err)
		require.Equal(t, "SHA256:first", fp)
		fp, err = store.RecordHostKey(ctx, db, f.tenant.ID, f.source.ID, "SHA256:second")
		require.NoError(t, err)
		require.Equal(t, "SHA256:first", fp, "trust on first use")
		_, err = store.RecordHostKey(ctx, db, other.ID, f.source.ID, "SHA256:x")
		require.ErrorIs(t, err, store.ErrNotFound)
		require.NoError(t, store.ResetHostKey(ctx, db, f.tenant.ID, f.source.ID))
		fp, err = store.RecordHostKey(ctx, db, f.tenant.ID, f.source.ID, "SHA256:second")
		require.NoError(t, err)
		require.Equal(t, "SHA256:second", fp)

		require.NoError(t, store.CreateSource(ctx, db, &store.Source{TenantID: f.tenant.ID, Type: "mysql", Name: "db1"}))
		list, _, err := store.ListSources(ctx, db, f.tenant.ID, store.SourceListParams{Type: "mysql"})
		require.NoError(t, err)
		require.Len(t, list, 1)
		list, _, err = store.ListSources(ctx, db, f.tenant.ID, store.SourceListParams{})
		require.NoError(t, err)
		require.Len(t, list, 2)

		j := enqueueBackup(t, db, f)
		require.ErrorIs(t, store.DeleteSource(ctx, db, f.tenant.ID, f.source.ID), store.ErrConflict, "active job")
		_, err = store.CancelJob(ctx, db, f.tenant.ID, j.ID, t0)
		require.NoError(t, err)
		newCompletedJob(t, db, f)
		require.ErrorIs(t, store.DeleteSource(ctx, db, f.tenant.ID, f.source.ID), store.ErrConflict, "has snapshots")
		require.ErrorIs(t, store.DeleteSource(ctx, db, other.ID, f.source.ID), store.ErrNotFound)
	})
}

func TestAgents(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *store.DB) {
		a := newAgent(t, db, "a1")
		got, err := store.GetAgent(ctx, db, a.ID)
		require.NoError(t, err)
		require.Equal(t, a, got)
		require.Equal(t, "online", got.Status)
		_, err = store.GetAgent(ctx, db, "nope")
		require.ErrorIs(t, err, store.ErrNotFound)

		require.NoError(t, store.TouchAgent(ctx, db, a.ID, "draining", "1.1", t0))
		got, err = store.GetAgent(ctx, db, a.ID)
		require.NoError(t, err)
		require.Equal(t, "draining", got.Status)
		require.Equal(t, "1.1", got.Version)
		require.Equal(t, t0.Truncate(time.Microsecond), *got.LastSeenAt)
		require.NoError(t, store.TouchAgent(ctx, db, a.ID, "", "", t0))
		require.ErrorIs(t, store.TouchAgent(ctx, db, "nope", "", "", t0), store.ErrNotFound)
		require.ErrorIs(t, store.TouchAgent(ctx, db, a.ID, "sleeping", "", t0), store.ErrConflict, "check constraint")

		newAgent(t, db, "a2")
		list, _, err := store.ListAgents(ctx, db, store.ListParams{Limit: 1})
		require.NoError(t, err)
		require.Len(t, list, 1)
	})
}

func TestAuditAndSettings(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		for i, action := range []string{"source.create", "source.delete", "tenant.create"} {
			e := &store.AuditEvent{TenantID: &f.tenant.ID, ActorKind: "tenant", ActorID: "tok", Action: action,
				ObjectType: "source", ObjectID: &f.source.ID, Details: json.RawMessage(`{"i":1}`),
				CreatedAt: t0.Add(time.Duration(i) * time.Second)}
			require.NoError(t, store.InsertAudit(ctx, db, e))
		}
		require.NoError(t, store.InsertAudit(ctx, db, &store.AuditEvent{ActorKind: "platform_admin", ActorID: "x",
			Action: "tenant.create", ObjectType: "tenant"}))
		list, _, err := store.ListAudit(ctx, db, f.tenant.ID, store.AuditListParams{})
		require.NoError(t, err)
		require.Len(t, list, 3)
		require.Equal(t, "tenant.create", list[0].Action, "newest first")
		list, _, err = store.ListAudit(ctx, db, f.tenant.ID, store.AuditListParams{Action: "source.delete", ObjectID: f.source.ID})
		require.NoError(t, err)
		require.Len(t, list, 1)
		list, _, err = store.ListAudit(ctx, db, "", store.AuditListParams{})
		require.NoError(t, err)
		require.Len(t, list, 4)

		settings, err := store.ListSettings(ctx, db)
		require.NoError(t, err)
		require.Len(t, settings, 2)
		s, err := store.GetSetting(ctx, db, store.SettingDownloadExpirationHours)
		require.NoError(t, err)
		require.Equal(t, "1", s.Value)
		require.NotEmpty(t, s.Description)
		require.NoError(t, store.PutSetting(ctx, db, &store.SystemSetting{Key: store.SettingDownloadExpirationHours, Value: "24"}))
		s2, err := store.GetSetting(ctx, db, store.SettingDownloadExpirationHours)
		require.NoError(t, err)
		require.Equal(t, "24", s2.Value)
		require.Equal(t, s.Description, s2.Description, "empty description keeps the old one")
		require.NoError(t, store.PutSetting(ctx, db, &store.SystemSetting{Key: "new_key", Value: "v", Description: "d"}))
		_, err = store.GetSetting(ctx, db, "missing")
		require.ErrorIs(t, err, store.ErrNotFound)
	})
}
