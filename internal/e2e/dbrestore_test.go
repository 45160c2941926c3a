package e2e

import (
	"bytes"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite"

	"github.com/xvault/xvault/sdk"
	"github.com/xvault/xvault/sdk/archive"
)

// restoreInto runs `xv snapshot restore SNAP --into SRC … --wait -o json`.
func (h *hub) restoreInto(t *testing.T, tenant, snap, into string, args ...string) (sdk.Restore, string, int) {
	t.Helper()
	all := append([]string{"-o", "json", "snapshot", "restore", snap, "--into", into, "--wait", "--poll-interval", "200ms"}, args...)
	out, errOut, code := h.xvCode(t, tenant, "", all...)
	var r sdk.Restore
	if strings.TrimSpace(out) != "" {
		require.NoErrorf(t, json.Unmarshal([]byte(out), &r), "restore output %q, stderr %q", out, errOut)
	}
	return r, errOut, code
}

// verifyWait runs `xv snapshot verify SNAP --wait -o json`.
func (h *hub) verifyWait(t *testing.T, tenant, snap string) (sdk.VerifyReport, int) {
	t.Helper()
	out, errOut, code := h.xvCode(t, tenant, "", "-o", "json", "snapshot", "verify", snap, "--wait", "--poll-interval", "200ms")
	var rep sdk.VerifyReport
	require.NoErrorf(t, json.Unmarshal([]byte(out), &rep), "verify output %q, stderr %q", out, errOut)
	return rep, code
}

// mysqlDatabases lists the databases of the local MariaDB with a prefix.
func mysqlDatabases(t *testing.T, prefix string) []string {
	t.Helper()
	return strings.Fields(mysqlRoot(t, "", "SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE '"+prefix+"%'"))
}

func TestMySQLDatabaseRestoreAndVerify(t *testing.T) {
	db, user, password := shopDB(t)
	// The shop's account may create databases named after its own (a
	// wildcard grant), as a hosting panel gives its customers.
	mysqlRoot(t, "", "GRANT ALL ON `"+db+"%`.* TO '"+user+"'@'%'; GRANT ALL ON `"+db+"%`.* TO '"+user+"'@'localhost';")
	// Objects defined by an account of another host: loading them as is
	// needs SUPER; the restore rewrites DEFINER to the restoring user.
	mysqlRoot(t, db, "CREATE DEFINER='root'@'otherhost' SQL SECURITY INVOKER VIEW cheap_orders AS SELECT id FROM orders WHERE total < 5;"+
		"CREATE DEFINER='root'@'otherhost' PROCEDURE log_count(OUT n INT) SQL SECURITY INVOKER SELECT COUNT(*) INTO n FROM log;")
	want := checksums(t, db)
	// A second account and databases of its own, reached through another source.
	other, otherPW := "xv_o_"+randHex(4), "pw-"+randHex(8)
	second := db + "_second"
	mysqlRoot(t, "", "CREATE USER '"+other+"'@'%' IDENTIFIED BY '"+otherPW+"'; CREATE USER '"+other+"'@'localhost' IDENTIFIED BY '"+otherPW+"';"+
		"GRANT ALL ON `"+second+"`.* TO '"+other+"'@'%'; GRANT ALL ON `"+second+"`.* TO '"+other+"'@'localhost';")
	t.Cleanup(func() {
		for _, d := range mysqlDatabases(t, db+"_") {
			mysqlRoot(t, "", "DROP DATABASE IF EXISTS `"+d+"`")
		}
		mysqlRoot(t, "", "DROP USER IF EXISTS '"+other+"'@'%'; DROP USER IF EXISTS '"+other+"'@'localhost';")
	})

	h := startHub(t, "--no-agent")
	startAgent(t, h, h.enrollToken(t, 1), "--scratch-mysql", "mysql://root@127.0.0.1:3306/")
	tenant := h.tenant(t)
	var cred, otherCred sdk.Credential
	h.xvJSON(t, tenant, password+"\n", &cred, "credential", "create", "--name", "db", "--password-stdin")
	h.xvJSON(t, tenant, otherPW+"\n", &otherCred, "credential", "create", "--name", "other", "--password-stdin")
	var shop, target sdk.Source
	h.xvJSON(t, tenant, "", &shop, "source", "create", "--type", "mysql", "--name", "shop",
		"--host", "127.0.0.1", "--user", user, "--database", db, "--credential", cred.ID)
	h.xvJSON(t, tenant, "", &target, "source", "create", "--type", "mysql", "--name", "second",
		"--host", "127.0.0.1", "--user", other, "--database", second, "--credential", otherCred.ID)
	job, code := h.backupWait(t, tenant, shop.ID)
	require.Equal(t, 0, code, job.ErrorMessage)
	snap := job.SnapshotID

	// Yesterday's rows are deleted; the snapshot brings them back under a new name.
	mysqlRoot(t, db, "DELETE FROM orders; DELETE FROM log;")
	restored := db + "_restored"
	r, errOut, code := h.restoreInto(t, tenant, snap, shop.ID, "--database", db, "--as", restored, "--create-database")
	require.Equalf(t, 0, code, "%s %+v", errOut, r)
	require.Equal(t, sdk.RestoreReady, r.Status)
	require.Len(t, r.Databases, 1)
	require.Equal(t, restored, r.Databases[0].Target)
	require.EqualValues(t, 3+2, r.Databases[0].Rows, "orders and log rows loaded")
	require.Contains(t, strings.Join(r.Databases[0].Warnings, "\n"), "DEFINER")
	require.Equal(t, want, checksums(t, restored), "CHECKSUM TABLE of the restored database")
	require.Equal(t, "1", strings.TrimSpace(mysqlRoot(t, restored, "SELECT COUNT(*) FROM cheap_orders")))
	require.Equal(t, "3", strings.TrimSpace(mysqlRoot(t, restored, "CALL order_count(@n); SELECT @n")))

	// Into another server's source (here the same MariaDB, another account).
	r, errOut, code = h.restoreInto(t, tenant, snap, target.ID, "--as", second, "--create-database")
	require.Equalf(t, 0, code, "%s %+v", errOut, r)
	require.Equal(t, want, checksums(t, second))

	// An existing database is refused without --replace, and left alone.
	mysqlRoot(t, restored, "INSERT INTO log VALUES (99, 'kept')")
	r, errOut, code = h.restoreInto(t, tenant, snap, shop.ID, "--as", restored)
	require.Equal(t, 4, code, errOut)
	require.Contains(t, r.ErrorMessage, "--replace")
	require.Equal(t, "3", strings.TrimSpace(mysqlRoot(t, restored, "SELECT COUNT(*) FROM log")))
	// --replace puts the snapshot's data back, with no temporary database left.
	r, errOut, code = h.restoreInto(t, tenant, snap, shop.ID, "--as", restored, "--replace")
	require.Equalf(t, 0, code, "%s %+v", errOut, r)
	require.Equal(t, want, checksums(t, restored))
	require.ElementsMatch(t, []string{db, restored, second}, mysqlDatabases(t, db), "no temporary database left")
	// PostgreSQL's options are refused for a MySQL snapshot by the hub.
	_, errOut, code = h.xvCode(t, tenant, "", "snapshot", "restore", snap, "--into", shop.ID, "--keep-owners")
	require.NotEqual(t, 0, code)
	require.Contains(t, errOut, "keep_owners")

	// Verify: a good snapshot loads into a throwaway database with the recorded row counts.
	rep, code := h.verifyWait(t, tenant, snap)
	require.Equalf(t, 0, code, "%+v", rep)
	require.Equal(t, sdk.VerifyOK, rep.Status)
	require.Len(t, rep.Databases, 1)
	require.Equal(t, sdk.VerifyModeLoad, rep.Databases[0].Mode)
	require.NotEmpty(t, rep.Databases[0].Tables)
	require.Empty(t, mysqlDatabases(t, "xv_verify_"), "the throwaway database is dropped")
	var shown sdk.Snapshot
	h.xvJSON(t, tenant, "", &shown, "snapshot", "show", snap)
	require.Equal(t, sdk.VerifyOK, shown.VerifyStatus)
	require.NotNil(t, shown.VerifiedAt)

	// Row counts recorded at dump time that the dump does not hold: failed.
	job2, code := h.backupWait(t, tenant, shop.ID)
	require.Equal(t, 0, code, job2.ErrorMessage)
	craftDescriptor(t, h, tenant, job2.SnapshotID, func(d *archive.Descriptor) { d.Databases[0].Tables[0].Rows += 7 })
	rep, code = h.verifyWait(t, tenant, job2.SnapshotID)
	require.Equal(t, 4, code)
	require.Equalf(t, sdk.VerifyFailed, rep.Status, "%+v", rep)
	require.Contains(t, rep.Message, "row counts")
	require.Empty(t, mysqlDatabases(t, "xv_verify_"))

	// A flipped byte in the artifact: corrupt, and no longer offered for restores.
	job3, code := h.backupWait(t, tenant, shop.ID)
	require.Equal(t, 0, code, job3.ErrorMessage)
	flipByte(t, h, tenant, job3.SnapshotID)
	rep, code = h.verifyWait(t, tenant, job3.SnapshotID)
	require.Equal(t, 4, code)
	require.Equalf(t, sdk.VerifyCorrupt, rep.Status, "%+v", rep)
	require.Empty(t, mysqlDatabases(t, "xv_verify_"))
	var failed []sdk.Snapshot
	h.xvJSON(t, tenant, "", &failed, "snapshot", "list", "--failed-verify")
	require.ElementsMatch(t, []string{job2.SnapshotID, job3.SnapshotID}, []string{failed[0].ID, failed[1].ID})
	require.Len(t, failed, 2)
	_, errOut, code = h.xvCode(t, tenant, "", "snapshot", "restore", job3.SnapshotID, "--into", shop.ID, "--as", db+"_x", "--create-database")
	require.NotEqual(t, 0, code)
	require.Contains(t, errOut, "--force")
	listing := h.xv(t, tenant, "", "snapshot", "list")
	require.Contains(t, listing, "corrupt")

	// Retention keeps the newest ok-verified snapshot while the newer ones are not ok.
	h.xv(t, tenant, "", "retention", "set", shop.ID, "--keep-last", "1")
	var dec []sdk.RetentionDecision
	h.xvJSON(t, tenant, "", &dec, "retention", "preview", shop.ID)
	kept := map[string]string{}
	for _, d := range dec {
		if d.Keep {
			kept[d.ID] = strings.Join(d.Reasons, "; ")
		}
	}
	require.Contains(t, kept, snap, "the verified snapshot is kept: %+v", dec)
	require.Contains(t, kept[snap], "verified")
	require.NotContains(t, kept, job2.SnapshotID)

	// A schedule's drill verifies on its own: sample mode, every snapshot within the window.
	var before []sdk.Job
	h.xvJSON(t, tenant, "", &before, "job", "list", "--type", "verify")
	var sch sdk.Schedule
	h.xvJSON(t, tenant, "", &sch, "schedule", "create", "--source", shop.ID, "--cron", "0 3 1 1 *",
		"--verify", "sample", "--verify-every", "1h")
	require.Equal(t, "sample", sch.Verify)
	deadline := time.Now().Add(60 * time.Second)
	for {
		var jobs []sdk.Job
		h.xvJSON(t, tenant, "", &jobs, "job", "list", "--type", "verify")
		ended := 0
		for _, j := range jobs {
			if j.Status == sdk.JobCompleted || j.Status == sdk.JobFailed {
				ended++
			}
		}
		if len(jobs) > len(before) && ended == len(jobs) {
			break
		}
		require.Truef(t, time.Now().Before(deadline), "no drill verified within 60s: %d verify jobs, %d ended", len(jobs), ended)
		time.Sleep(300 * time.Millisecond)
	}
	h.xvJSON(t, tenant, "", &shown, "snapshot", "show", snap)
	require.Equal(t, sdk.VerifyOK, shown.VerifyStatus)
}

// craftDescriptor rewrites a snapshot's artifact on the agent's disk with
// its xvault.json changed by edit, encrypted to the tenant again, and
// records the new sha256 in the hub's database: a snapshot whose recorded
// facts disagree with its dump, which only verification can notice.
func craftDescriptor(t *testing.T, h *hub, tenant, snapshotID string, edit func(*archive.Descriptor)) {
	t.Helper()
	var snap sdk.Snapshot
	h.xvJSON(t, tenant, "", &snap, "snapshot", "show", snapshotID)
	keyFile := filepath.Join(t.TempDir(), "tenant.key")
	h.xv(t, tenant, "", "tenant", "key", "export", tenant, "--output", keyFile)
	keyText, err := os.ReadFile(keyFile)
	require.NoError(t, err)
	ids, err := age.ParseIdentities(bytes.NewReader(keyText))
	require.NoError(t, err)
	id := ids[0].(*age.X25519Identity)
	path := filepath.Join(snap.LocalPath, archive.ArtifactName)
	in, err := os.Open(path)
	require.NoError(t, err)
	defer in.Close()
	rd, err := archive.NewReader(in, id, archive.ReadOptions{})
	require.NoError(t, err)
	var out bytes.Buffer
	w, err := archive.NewWriter(&out, id.Recipient(), archive.Options{})
	require.NoError(t, err)
	for {
		hdr, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		body, err := io.ReadAll(rd)
		require.NoError(t, err)
		if hdr.Name == archive.DescriptorName {
			var d archive.Descriptor
			require.NoError(t, json.Unmarshal(body, &d))
			edit(&d)
			body, err = json.Marshal(d)
			require.NoError(t, err)
		}
		h2 := *hdr
		h2.Size = int64(len(body))
		require.NoError(t, w.Add(&h2, bytes.NewReader(body)))
	}
	_, err = w.Close()
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, out.Bytes(), 0o600))
	sum := sha256.Sum256(out.Bytes())
	setSnapshotSHA(t, h, snapshotID, hex.EncodeToString(sum[:]))
}

// setSnapshotSHA changes the sha256 the hub records for a snapshot.
func setSnapshotSHA(t *testing.T, h *hub, snapshotID, sha string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(h.DataDir, "hub.db")+"?_pragma=busy_timeout(10000)")
	require.NoError(t, err)
	defer db.Close()
	res, err := db.Exec("UPDATE snapshots SET sha256 = ? WHERE id = ?", sha, snapshotID)
	require.NoError(t, err)
	n, err := res.RowsAffected()
	require.NoError(t, err)
	require.EqualValues(t, 1, n)
}

// flipByte damages one byte in the middle of a snapshot's artifact.
func flipByte(t *testing.T, h *hub, tenant, snapshotID string) {
	t.Helper()
	var snap sdk.Snapshot
	h.xvJSON(t, tenant, "", &snap, "snapshot", "show", snapshotID)
	path := filepath.Join(snap.LocalPath, archive.ArtifactName)
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	b[len(b)/2] ^= 0x40
	require.NoError(t, os.WriteFile(path, b, 0o600))
}

// pgDatabases lists the local PostgreSQL's databases with a prefix.
func pgDatabases(t *testing.T, prefix string) []string {
	t.Helper()
	return strings.Fields(psqlRoot(t, "postgres", "SELECT datname FROM pg_database WHERE datname LIKE '"+prefix+"%'"))
}

func TestPostgresDatabaseRestoreAndVerify(t *testing.T) {
	db, role, pw := "xv_pgd_"+randHex(4), "xv_pr_"+randHex(4), "pw-"+randHex(8)
	psqlRoot(t, "postgres", "CREATE ROLE "+role+" LOGIN CREATEDB PASSWORD '"+pw+"'; CREATE DATABASE "+db+" OWNER "+role)
	t.Cleanup(func() {
		for _, d := range pgDatabases(t, db) {
			psqlRoot(t, "postgres", `DROP DATABASE IF EXISTS "`+d+`" WITH (FORCE)`)
		}
		psqlRoot(t, "postgres", "DROP ROLE IF EXISTS "+role)
	})
	psqlRoot(t, db, `SET ROLE `+role+`;
CREATE TABLE items (id serial PRIMARY KEY, doc jsonb, raw bytea, tags text[]);
INSERT INTO items (doc, raw, tags) VALUES ('{"a": 1, "e": "😀"}', '\xdeadbeef', '{x,y}'), (NULL, NULL, NULL), ('[]', '\x00', '{}');
CREATE TABLE notes (id int PRIMARY KEY, body text);
INSERT INTO notes SELECT g, 'note ' || g FROM generate_series(1, 500) g;
CREATE VIEW item_docs AS SELECT id, doc FROM items;`)
	sum := func(db string) string {
		return psqlRoot(t, db, "SELECT md5(string_agg(t::text, ',' ORDER BY t::text)) FROM items t") +
			psqlRoot(t, db, "SELECT md5(string_agg(t::text, ',' ORDER BY t::text)) FROM notes t")
	}
	want := sum(db)

	h := startHub(t, "--no-agent")
	startAgent(t, h, h.enrollToken(t, 1), "--scratch-postgres", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable")
	tenant := h.tenant(t)
	var cred sdk.Credential
	h.xvJSON(t, tenant, pw+"\n", &cred, "credential", "create", "--name", "pg", "--password-stdin")
	for _, format := range []string{"plain", "custom"} {
		var src sdk.Source
		h.xvJSON(t, tenant, "", &src, "source", "create", "--type", "postgres", "--name", "pg-"+format,
			"--host", "127.0.0.1", "--user", role, "--database", db, "--format", format, "--credential", cred.ID)
		job, code := h.backupWait(t, tenant, src.ID)
		require.Equal(t, 0, code, job.ErrorMessage)

		psqlRoot(t, db, "DELETE FROM notes WHERE id > 10")
		restored := db + "_" + format
		r, errOut, code := h.restoreInto(t, tenant, job.SnapshotID, src.ID, "--as", restored, "--create-database")
		require.Equalf(t, 0, code, "%s %+v", errOut, r)
		require.EqualValues(t, 3+500, r.Databases[0].Rows)
		require.Equal(t, want, sum(restored), format)

		// --replace over a database holding other data.
		psqlRoot(t, restored, "DELETE FROM items")
		r, errOut, code = h.restoreInto(t, tenant, job.SnapshotID, src.ID, "--as", restored, "--replace")
		require.Equalf(t, 0, code, "%s %+v", errOut, r)
		require.Equal(t, want, sum(restored), format)

		rep, code := h.verifyWait(t, tenant, job.SnapshotID)
		require.Equalf(t, 0, code, "%+v", rep)
		require.Equal(t, sdk.VerifyModeLoad, rep.Databases[0].Mode)
		require.Empty(t, pgDatabases(t, "xv_verify_"), "the throwaway database is dropped")
		psqlRoot(t, db, "INSERT INTO notes SELECT g, 'note ' || g FROM generate_series(11, 500) g")
	}
	require.ElementsMatch(t, []string{db, db + "_plain", db + "_custom"}, pgDatabases(t, db), "no temporary database left")
}
