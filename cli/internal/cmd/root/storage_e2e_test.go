package root_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/sdk"
)

// TestStorageAgainstRealHub drives `xv storage`, the s3_access_key
// credential, `xv source … --storage` and `xv tenant update
// --default-storage` against a real hubd with no agent: a backup to an S3
// target is refused while no enrolled agent supports storage:s3, never sent
// to an agent's disk.
func TestStorageAgainstRealHub(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts hubd; skipped with -short")
	}
	hubURL, admin := startHubd(t)
	env := map[string]string{"XV_HUB_URL": hubURL, "XV_TOKEN": admin}
	jsonOK := func(v any, stdin string, args ...string) {
		t.Helper()
		r := xv(t, env, stdin, append([]string{"-o", "json"}, args...)...)
		require.Equal(t, 0, r.Code, "xv %v: %s", args, r.Stderr)
		require.NotContains(t, r.Stdout+r.Stderr, "s3cr3t-value")
		if v != nil {
			require.NoError(t, json.Unmarshal([]byte(r.Stdout), v), "xv %v: %s", args, r.Stdout)
		}
	}
	var ten sdk.Tenant
	jsonOK(&ten, "", "tenant", "create", "acme")
	tf := []string{"--tenant", ten.ID}

	var cred sdk.Credential
	jsonOK(&cred, "s3cr3t-value\n", append(tf, "credential", "create", "--name", "garage-key",
		"--access-key-id", "GKexample", "--secret-access-key-stdin")...)
	require.Equal(t, sdk.CredentialS3AccessKey, cred.Kind)

	r := xv(t, env, "", append(tf, "storage", "create", "--name", "garage", "--endpoint", "http://127.0.0.1:3900")...)
	require.Equal(t, 2, r.Code, "missing --bucket is a usage error: %s", r.Stderr)
	r = xv(t, env, "", append(tf, "storage", "create", "--name", "garage", "--endpoint", "127.0.0.1:3900",
		"--bucket", "Bad_Bucket", "--credential", cred.ID)...)
	require.Equal(t, 1, r.Code, r.Stderr)
	require.Contains(t, r.Stderr, "endpoint")
	require.Contains(t, r.Stderr, "bucket")

	var tg sdk.StorageTarget
	jsonOK(&tg, "", append(tf, "storage", "create", "--type", "s3", "--name", "garage", "--endpoint",
		"http://127.0.0.1:3900", "--bucket", "backups", "--region", "garage", "--prefix", "xv", "--path-style",
		"--credential", cred.ID)...)
	require.Equal(t, "xv/", tg.Prefix)
	require.Equal(t, ten.ID, tg.TenantID)
	var list []sdk.StorageTarget
	jsonOK(&list, "", append(tf, "storage", "list")...)
	require.Len(t, list, 1)
	r = xv(t, env, "", "storage", "show", tg.ID)
	require.Equal(t, 0, r.Code, r.Stderr)
	require.Regexp(t, `Bucket:\s+backups`, r.Stdout)

	// A source pointed at the target by name: its backup is refused, loudly.
	var pw sdk.Credential
	jsonOK(&pw, "hunter2\n", append(tf, "credential", "create", "--name", "web1", "--password-stdin")...)
	r = xv(t, env, "", append(tf, "source", "create", "--type", "sftp", "--name", "web1", "--host", "127.0.0.1",
		"--user", "backup", "--path", "/var/www", "--credential", cred.ID)...)
	require.Equal(t, 1, r.Code, r.Stdout)
	require.Contains(t, r.Stderr, "only storage targets use")
	var src sdk.Source
	jsonOK(&src, "", append(tf, "source", "create", "--type", "sftp", "--name", "web1", "--host", "127.0.0.1",
		"--user", "backup", "--path", "/var/www", "--credential", pw.ID, "--storage", "garage")...)
	require.Equal(t, tg.ID, src.StorageID)
	r = xv(t, env, "", append(tf, "backup", "run", src.ID)...)
	require.Equal(t, 1, r.Code, r.Stdout)
	require.Contains(t, r.Stderr, "not supported by any agent yet")

	r = xv(t, env, "", append(tf, "storage", "delete", tg.ID)...)
	require.Equal(t, 1, r.Code, r.Stdout)
	require.Contains(t, r.Stderr, "1 source(s)")
	r = xv(t, env, "", append(tf, "source", "update", src.ID, "--storage", "nope")...)
	require.Equal(t, 3, r.Code, r.Stderr)
	var cleared sdk.Source
	jsonOK(&cleared, "", append(tf, "source", "update", src.ID, "--storage", "local_fs")...)
	require.Empty(t, cleared.StorageID)

	var withDefault, noDefault sdk.Tenant
	jsonOK(&withDefault, "", "tenant", "update", ten.ID, "--default-storage", "garage")
	require.Equal(t, tg.ID, withDefault.DefaultStorageID)
	jsonOK(&noDefault, "", "tenant", "update", ten.ID, "--default-storage", "local_fs")
	require.Empty(t, noDefault.DefaultStorageID)
	jsonOK(nil, "", append(tf, "storage", "delete", tg.ID)...)

	// Platform targets take a platform credential.
	var pc sdk.Credential
	jsonOK(&pc, "s3cr3t-value\n", "credential", "create", "--platform", "--name", "shared-key",
		"--access-key-id", "AKIAEXAMPLE", "--secret-access-key-stdin")
	require.True(t, pc.Platform)
	var pcs []sdk.Credential
	jsonOK(&pcs, "", "credential", "list", "--platform")
	require.Len(t, pcs, 1)
	var ptg sdk.StorageTarget
	jsonOK(&ptg, "", "storage", "create", "--platform", "--name", "shared", "--endpoint", "https://s3.example.com",
		"--bucket", "xvault-shared", "--credential", pc.ID)
	require.True(t, ptg.Platform)
	var visible []sdk.StorageTarget
	jsonOK(&visible, "", append(tf, "storage", "list")...)
	require.Len(t, visible, 1)
	require.True(t, visible[0].Platform)
	r = xv(t, env, "", "credential", "delete", "--platform", pc.ID)
	require.Equal(t, 1, r.Code, r.Stdout)
	jsonOK(nil, "", "storage", "delete", ptg.ID)
	jsonOK(nil, "", "credential", "delete", "--platform", pc.ID)
}
