package store_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"github.com/xvault/xvault/hubd/internal/store"
	"github.com/xvault/xvault/hubd/internal/store/storetest"
)

// forEachDialect runs fn as a subtest on every configured dialect, each with
// its own fresh database: the store conformance suite.
func forEachDialect(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	t.Helper()
	for _, d := range storetest.Dialects(t) {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			fn(t, storetest.Open(t, d))
		})
	}
}

var ctx = context.Background()

// t0 is a fixed "now" with sub-microsecond noise the store must normalise.
var t0 = time.Date(2030, 1, 2, 3, 4, 5, 123456789, time.UTC)

type fixture struct {
	tenant *store.Tenant
	cred   *store.Credential
	source *store.Source
	agent  *store.Agent
}

func newTenant(t *testing.T, db bun.IDB, name string) *store.Tenant {
	t.Helper()
	tn := &store.Tenant{Name: name}
	key := &store.TenantKey{PublicKey: "age1" + name, EncryptedPrivateKey: []byte("sealed"), KEKID: "abcd1234"}
	require.NoError(t, store.CreateTenant(ctx, db, tn, key))
	return tn
}

func newSource(t *testing.T, db bun.IDB, tenantID, name string, credID *string) *store.Source {
	t.Helper()
	s := &store.Source{TenantID: tenantID, Type: "sftp", Name: name, CredentialID: credID,
		Config: json.RawMessage(`{"host":"example.org","port":22}`)}
	require.NoError(t, store.CreateSource(ctx, db, s))
	return s
}

func newAgent(t *testing.T, db bun.IDB, name string) *store.Agent {
	t.Helper()
	a := &store.Agent{Name: name, Version: "1.0", PublicKey: "age1agent"}
	require.NoError(t, store.CreateAgent(ctx, db, a))
	return a
}

func newFixture(t *testing.T, db bun.IDB) fixture {
	t.Helper()
	tn := newTenant(t, db, "acme")
	c := &store.Credential{TenantID: tn.ID, Name: "root-pw", Kind: "password", Ciphertext: []byte{1, 2, 3}, KEKID: "k1"}
	require.NoError(t, store.CreateCredential(ctx, db, c))
	return fixture{tenant: tn, cred: c, source: newSource(t, db, tn.ID, "web1", &c.ID), agent: newAgent(t, db, "agent-1")}
}

func hash(s string) []byte { h := sha256.Sum256([]byte(s)); return h[:] }

func ptr[T any](v T) *T { return &v }
