package restore

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/klauspost/compress/zstd"
	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/sdk"
	"github.com/xvault/xvault/sdk/archive"
)

var mtime = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)

func artifact(t *testing.T) ([]byte, string, *age.X25519Identity) {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	require.NoError(t, err)
	var buf bytes.Buffer
	w, err := archive.NewWriter(&buf, id.Recipient(), archive.Options{})
	require.NoError(t, err)
	add := func(h tar.Header, body string) {
		h.ModTime = mtime
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(body))
		}
		require.NoError(t, w.Add(&h, strings.NewReader(body)))
	}
	add(tar.Header{Typeflag: tar.TypeDir, Name: "www/", Mode: 0o750}, "")
	add(tar.Header{Typeflag: tar.TypeReg, Name: "www/index.html", Mode: 0o644}, "<h1>hi</h1>")
	add(tar.Header{Typeflag: tar.TypeReg, Name: "www/run.sh", Mode: 0o755}, "#!/bin/sh\n")
	add(tar.Header{Typeflag: tar.TypeSymlink, Name: "www/link", Linkname: "index.html"}, "")
	add(tar.Header{Typeflag: tar.TypeDir, Name: "etc/", Mode: 0o755}, "")
	add(tar.Header{Typeflag: tar.TypeReg, Name: "etc/conf", Mode: 0o600}, strings.Repeat("c", 1000))
	res, err := w.Close()
	require.NoError(t, err)
	return buf.Bytes(), res.SHA256, id
}

func run(t *testing.T, art []byte, sum string, id age.Identity, opts Options) ([]byte, Stats, error) {
	t.Helper()
	rd, err := archive.NewReader(bytes.NewReader(art), id, archive.ReadOptions{ExpectedSHA256: sum})
	require.NoError(t, err)
	defer rd.Close()
	var out bytes.Buffer
	st, err := Write(rd, &out, opts)
	return out.Bytes(), st, err
}

func TestZipKeepsModesTimesSymlinks(t *testing.T) {
	art, sum, id := artifact(t)
	out, st, err := run(t, art, sum, id, Options{Format: sdk.RestoreZip})
	require.NoError(t, err)
	require.EqualValues(t, 3, st.Files)
	zr, err := zip.NewReader(bytes.NewReader(out), int64(len(out)))
	require.NoError(t, err)
	got := map[string]*zip.File{}
	for _, f := range zr.File {
		got[f.Name] = f
	}
	require.Len(t, got, 6)
	require.True(t, got["www/"].Mode().IsDir())
	require.Equal(t, "drwxr-x---", got["www/"].Mode().String())
	require.Equal(t, "-rwxr-xr-x", got["www/run.sh"].Mode().String())
	require.True(t, got["www/link"].Mode()&0o777 != 0 && got["www/link"].Mode().Type() == 1<<27, "symlink mode")
	rc, _ := got["www/link"].Open()
	target, _ := io.ReadAll(rc)
	require.Equal(t, "index.html", string(target))
	require.Equal(t, mtime.Unix(), got["etc/conf"].Modified.Unix())
}

func TestTarZstAndPathSubset(t *testing.T) {
	art, sum, id := artifact(t)
	out, _, err := run(t, art, sum, id, Options{Format: sdk.RestoreTarZst, Paths: []string{"www"}})
	require.NoError(t, err)
	zr, err := zstd.NewReader(bytes.NewReader(out))
	require.NoError(t, err)
	tr := tar.NewReader(zr)
	var names []string
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		names = append(names, h.Name)
	}
	require.Equal(t, []string{"www/", "www/index.html", "www/run.sh", "www/link"}, names)
}

func TestDamageAndLimitsFail(t *testing.T) {
	art, sum, id := artifact(t)
	flipped := bytes.Clone(art)
	flipped[len(flipped)-40] ^= 1
	_, _, err := run(t, flipped, sum, id, Options{Format: sdk.RestoreZip})
	require.ErrorIs(t, err, ErrArtifact)
	_, _, err = run(t, art[:len(art)-20], sum, id, Options{Format: sdk.RestoreZip})
	require.ErrorIs(t, err, ErrArtifact)
	_, _, err = run(t, art, strings.Repeat("0", 64), id, Options{Format: sdk.RestoreTarZst})
	require.ErrorIs(t, err, ErrArtifact)
	require.ErrorIs(t, err, archive.ErrChecksum)
	_, _, err = run(t, art, sum, id, Options{Format: sdk.RestoreZip, MaxBytes: 500})
	require.ErrorIs(t, err, ErrTooLarge)
}
