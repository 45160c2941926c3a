package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/sdk"
)

// TestIncrementalEndToEnd: a second backup of an unchanged site stores
// almost nothing; after edits, deletions and renames the newest snapshot
// restores exactly to the live tree through xv (zip, tar.zst) and through
// stock age | zstd | tar --listed-incremental over the chain's artifacts;
// retention keeps every kept snapshot's chain.
func TestIncrementalEndToEnd(t *testing.T) {
	// Files changed within 2 s of a listing are read again next time (the
	// racy rule, on ctime too over exec): let the new tree settle first.
	e := newRestoreEnvAfter(t, func() { time.Sleep(2100 * time.Millisecond) })
	require.Equal(t, sdk.SnapshotFull, e.snap.Kind)
	require.Equal(t, 1, e.snap.ChainLength)

	// Unchanged: an incremental holding only directories.
	second := e.backupSnapshot(t)
	require.Equal(t, sdk.SnapshotIncremental, second.Kind)
	require.Equal(t, e.snap.ID, second.ParentSnapshotID)
	require.Equal(t, 2, second.ChainLength)
	require.Zero(t, second.FileCount, "nothing changed: no file stored")
	require.Less(t, second.SizeBytes, e.snap.SizeBytes/20, "an unchanged re-run stores almost nothing")

	// Edit, delete, rename, delete a directory, add a file.
	later := time.Now().Add(-time.Hour).Truncate(time.Second)
	edit := filepath.Join(e.root, "bin", "run.sh")
	require.NoError(t, os.WriteFile(edit, []byte("new build"), 0o755))
	require.NoError(t, os.Chtimes(edit, later, later))
	small := smallFiles(t, e.root)
	require.NoError(t, os.Remove(small[0]))
	require.NoError(t, os.Rename(small[1], small[1]+".renamed"))
	require.NoError(t, os.WriteFile(filepath.Join(e.root, "new.txt"), []byte("hello"), 0o644))
	require.NoError(t, os.RemoveAll(filepath.Join(e.root, "with space")))
	third := e.backupSnapshot(t)
	require.Equal(t, sdk.SnapshotIncremental, third.Kind)
	require.Equal(t, second.ID, third.ParentSnapshotID)
	require.Equal(t, 3, third.ChainLength)
	require.Equal(t, e.snap.SizeBytes+second.SizeBytes+third.SizeBytes, third.ChainBytes)

	want := describe(t, e.root)
	e.snap = third
	dir := t.TempDir()
	zipFile := filepath.Join(dir, "site.zip")
	_, errOut, code := e.restore(t, "--output", zipFile)
	require.Equalf(t, 0, code, "stderr: %s", errOut)
	out := filepath.Join(dir, "unzip")
	b, err := exec.Command("unzip", "-q", zipFile, "-d", out).CombinedOutput()
	require.NoErrorf(t, err, "unzip: %s", b)
	require.Equal(t, want, describe(t, filepath.Join(out, e.rel)), "zip of the newest incremental")

	tz := filepath.Join(dir, "site.tar.zst")
	_, errOut, code = e.restore(t, "--format", "tar.zst", "--output", tz)
	require.Equalf(t, 0, code, "stderr: %s", errOut)
	out = filepath.Join(dir, "untar")
	require.NoError(t, os.Mkdir(out, 0o755))
	b, err = exec.Command("sh", "-c", `zstd -d -c "$1" | tar -x -p -C "$2"`, "sh", tz, out).CombinedOutput()
	require.NoErrorf(t, err, "zstd | tar: %s", b)
	require.Equal(t, want, describe(t, filepath.Join(out, e.rel)), "tar.zst of the newest incremental")

	// Stock tools over the chain, oldest first.
	keyFile := filepath.Join(t.TempDir(), "tenant.key")
	e.hub.xv(t, e.tenant, "", "tenant", "key", "export", e.tenant, "--output", keyFile)
	stock := filepath.Join(dir, "stock")
	require.NoError(t, os.Mkdir(stock, 0o755))
	var files []string
	for _, s := range []sdk.Snapshot{e.firstOf(t, third), second, third} {
		art := filepath.Join(s.LocalPath, "backup.tar.zst.age")
		files = append(files, art)
		b, err := exec.Command("sh", "-c", `age -d -i "$1" "$2" | zstd -dq | tar -x --listed-incremental=/dev/null -C "$3"`,
			"sh", keyFile, art, stock).CombinedOutput()
		require.NoErrorf(t, err, "stock replay of %s: %s", s.ID, b)
	}
	require.Equal(t, want, describe(t, filepath.Join(stock, e.rel)), "age | zstd | tar -G over the chain")

	// xv archive extract takes the chain's files in any order.
	ext := filepath.Join(dir, "extract")
	e.hub.xv(t, "", "", "archive", "extract", files[2], files[0], files[1], "--identity", keyFile, "--to", ext)
	require.Equal(t, want, describe(t, filepath.Join(ext, e.rel)), "xv archive extract of the chain")

	// Deleting a parent is refused; retention keeps the chain of what it keeps.
	_, errOut, code = e.hub.xvCode(t, e.tenant, "", "snapshot", "delete", second.ID)
	require.NotEqual(t, 0, code)
	require.Contains(t, errOut, "is the parent of "+third.ID)
	e.hub.xv(t, e.tenant, "", "retention", "set", e.source, "--keep-last", "1")
	var decisions []sdk.RetentionDecision
	e.hub.xvJSON(t, e.tenant, "", &decisions, "retention", "preview", e.source)
	require.Len(t, decisions, 3)
	for _, d := range decisions {
		require.Truef(t, d.Keep, "%s: %v", d.ID, d.Reasons)
		if d.ID != third.ID {
			require.Contains(t, strings.Join(d.Reasons, "; "), "ancestor of kept snapshot "+third.ID)
		}
	}
}

// backupSnapshot runs a backup of the env's source and returns its snapshot.
func (e *restoreEnv) backupSnapshot(t *testing.T) sdk.Snapshot {
	t.Helper()
	job, code := e.backup(t, e.source)
	require.Equalf(t, 0, code, "backup: %+v", job)
	var s sdk.Snapshot
	e.hub.xvJSON(t, e.tenant, "", &s, "snapshot", "show", job.SnapshotID)
	return s
}

// firstOf returns the full at the start of s's chain.
func (e *restoreEnv) firstOf(t *testing.T, s sdk.Snapshot) sdk.Snapshot {
	t.Helper()
	for s.ParentSnapshotID != "" {
		var p sdk.Snapshot
		e.hub.xvJSON(t, e.tenant, "", &p, "snapshot", "show", s.ParentSnapshotID)
		s = p
	}
	return s
}

// smallFiles lists some regular files of the tree (sorted, at least two).
func smallFiles(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	require.NoError(t, filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() && strings.Contains(p, "/many/") {
			out = append(out, p)
		}
		return err
	}))
	require.GreaterOrEqual(t, len(out), 2)
	return out
}
