package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/hubd/internal/store"
	"github.com/xvault/xvault/hubd/internal/validate"
	"github.com/xvault/xvault/sdk"
)

// FuzzDecodeCreateSource posts arbitrary bodies to POST /api/v1/sources on
// a real SQLite store: decoding and validation never panic, every answer
// is 201 or a 4xx, a rejected body stores nothing, and what is stored
// passes validation again.
func FuzzDecodeCreateSource(f *testing.F) {
	e := newEnv(f, store.DialectSQLite)
	a := e.newTenant("fuzz")
	for _, seed := range []string{
		sftpBody(a.Credential, okConfig),
		sftpBody(a.Credential, `{"host":"10.0.0.1","port":22,"username":"u","paths":["/a","/b"],"exclude":["*.log"],"host_key":"`+fp1+`"}`),
		sftpBody(a.Credential, `{"host":"h","port":70000,"username":"u","paths":["rel"]}`),
		`{"type":"mysql","name":"db","config":{"dsn":"x"}}`,
		`{"type":"sftp","name":5}`, `{"type":`, `[]`, `null`, `{"config":null}`, ``,
	} {
		f.Add([]byte(seed))
	}
	h := e.srv.Handler()
	f.Fuzz(func(t *testing.T, body []byte) {
		before := countSources(t, e)
		req := httptest.NewRequest("POST", "/api/v1/sources", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+a.Owner)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch {
		case rec.Code == http.StatusCreated:
			var src sdk.Source
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &src))
			stored, err := store.GetSource(t.Context(), e.db, a.ID, src.ID)
			require.NoError(t, err)
			_, fields := validate.CheckSource(validate.Source{Type: sdk.SourceType(stored.Type), Name: stored.Name,
				Status: sdk.SourceStatus(stored.Status), CredentialID: deref(stored.CredentialID), Config: stored.Config})
			require.Empty(t, fields, "stored source fails validation: %s", stored.Config)
			require.NoError(t, store.DeleteSource(t.Context(), e.db, a.ID, src.ID))
		case rec.Code >= 400 && rec.Code < 500:
			var eb sdk.ErrorBody
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &eb), "%s", rec.Body)
			require.NotEmpty(t, eb.Error.Message)
			require.Equal(t, before, countSources(t, e), "a rejected body was stored")
		default:
			t.Fatalf("status %d for %q: %s", rec.Code, body, rec.Body)
		}
	})
}

// FuzzDecodeBody: the body decoder never panics and answers only with
// invalid_argument errors.
func FuzzDecodeBody(f *testing.F) {
	f.Add([]byte(`{"source_id":"x","type":"backup"}`))
	f.Add([]byte(`{"source_id":1}`))
	f.Add([]byte(`{} {}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var req sdk.CreateJobRequest
		err := decodeBytes(body, &req, false)
		if err != nil {
			e, ok := err.(*sdk.Error)
			require.True(t, ok, "%T %v", err, err)
			require.Equal(t, sdk.CodeInvalidArgument, e.Code)
		}
	})
}

func countSources(t *testing.T, e *testEnv) int {
	n, err := e.db.NewSelect().Table("sources").Count(t.Context())
	require.NoError(t, err)
	return int(n)
}
