package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/hubd/internal/store"
	"github.com/xvault/xvault/hubd/internal/validate"
	"github.com/xvault/xvault/sdk"
)

// FuzzCreateStorageTarget posts arbitrary bodies to POST
// /api/v1/storage-targets on a real SQLite store: never a panic or a 5xx,
// a rejected body stores nothing, a stored target passes validation again,
// and no answer echoes the credential's secret.
func FuzzCreateStorageTarget(f *testing.F) {
	e := newEnv(f, store.DialectSQLite)
	a := e.newTenant("fuzz")
	var cred sdk.Credential
	e.call("POST", "/api/v1/credentials", a.Owner, s3Credential("s3"), 201, &cred)
	good, _ := json.Marshal(s3Target("t", cred.ID))
	for _, seed := range []string{string(good),
		`{"name":"x","type":"s3","endpoint":"https://u:p@h","bucket":"b","credential_id":"` + cred.ID + `"}`,
		`{"name":"x","type":"s3","endpoint":"http://[::1]:9000","bucket":"a..b","prefix":"../x","credential_id":""}`,
		`{"platform":true}`, `{"type":5}`, `[]`, `null`, ``,
	} {
		f.Add([]byte(seed))
	}
	h := e.srv.Handler()
	f.Fuzz(func(t *testing.T, body []byte) {
		before := countTargets(t, e)
		req := httptest.NewRequest("POST", "/api/v1/storage-targets", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+a.Owner)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		require.NotContains(t, rec.Body.String(), testSecretKey)
		switch {
		case rec.Code == http.StatusCreated:
			var tg sdk.StorageTarget
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &tg))
			_, fields := validate.StorageTarget(&sdk.CreateStorageTargetRequest{Name: tg.Name, Type: tg.Type,
				Endpoint: tg.Endpoint, Bucket: tg.Bucket, Region: tg.Region, Prefix: tg.Prefix, CredentialID: tg.CredentialID})
			require.Empty(t, fields, "stored target fails validation: %+v", tg)
			require.True(t, tg.Prefix == "" || strings.HasSuffix(tg.Prefix, "/"), tg.Prefix)
			require.NoError(t, store.DeleteStorageTarget(t.Context(), e.db, store.StorageScope{TenantID: a.ID}, tg.ID))
		case rec.Code >= 400 && rec.Code < 500:
			var eb sdk.ErrorBody
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &eb), "%s", rec.Body)
			require.NotEmpty(t, eb.Error.Message)
			require.Equal(t, before, countTargets(t, e), "a rejected body was stored")
		default:
			t.Fatalf("status %d for %q: %s", rec.Code, body, rec.Body)
		}
	})
}

func countTargets(t *testing.T, e *testEnv) int {
	n, err := e.db.NewSelect().Table("storage_targets").Count(t.Context())
	require.NoError(t, err)
	return int(n)
}
