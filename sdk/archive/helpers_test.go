package archive

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/klauspost/compress/zstd"
	"github.com/stretchr/testify/require"
)

// testIdentity is a fixed key so that fuzz corpora stay meaningful.
const testIdentity = "AGE-SECRET-KEY-1WSM8H45WU9A6AFKVYDWM6L9EQULFNWSFE6C4YM7DQE97PQ2AUSHSMX5ZF4"

func identity(t testing.TB) *age.X25519Identity {
	t.Helper()
	id, err := age.ParseX25519Identity(testIdentity)
	require.NoError(t, err)
	return id
}

type entry struct {
	hdr  tar.Header
	body []byte
}

// randomBytes returns n deterministic pseudo-random bytes.
func randomBytes(seed uint64, n int) []byte {
	b := make([]byte, n)
	r := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)})
	_, _ = r.Read(b)
	return b
}

// sampleEntries covers every kind of entry the format carries, in the
// depth-first order connectors produce (tar sets a directory's mtime when it
// leaves it).
func sampleEntries() []entry {
	mt := time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC)
	dir := func(name string, mode int64) entry {
		return entry{hdr: tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: mode, ModTime: mt, Uid: 1000, Gid: 1000}}
	}
	file := func(name string, mode int64, body []byte) entry {
		return entry{hdr: tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(body)),
			ModTime: mt.Add(time.Duration(len(name)) * time.Hour), Uid: 1234, Gid: 5678}, body: body}
	}
	link := func(name, target string) entry {
		return entry{hdr: tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: target, Mode: 0o777, ModTime: mt}}
	}
	long := strings.Repeat("long-directory-name/", 8) + "file.txt"
	return []entry{
		dir("docs", 0o755),
		dir("docs/empty-dir", 0o700),
		file("docs/readme.txt", 0o644, []byte("hello, xVault\n")),
		file("docs/empty.txt", 0o600, nil),
		link("docs/link", "readme.txt"),
		{hdr: tar.Header{Typeflag: tar.TypeLink, Name: "docs/hard", Linkname: "docs/readme.txt", ModTime: mt}},
		file("données/naïve — 日本語.txt", 0o640, []byte("unicode ✓\n")),
		file("bin/tool", 0o4755, []byte("#!/bin/sh\necho tool\n")),
		file(long, 0o644, []byte("long name\n")),
		file("data/random.bin", 0o600, randomBytes(1, 5<<20+123)),
		link("etc-passwd", "/etc/passwd"),
		{hdr: tar.Header{Typeflag: tar.TypeReg, Name: "big-ids", Mode: 0o644, ModTime: mt, Uid: 3_000_000, Gid: 4_000_000,
			Uname: "élodie", Gname: "staff"}},
	}
}

// writeArtifact writes entries into an in-memory artifact.
func writeArtifact(t testing.TB, entries []entry, opts Options) ([]byte, Result) {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, identity(t).Recipient(), opts)
	require.NoError(t, err)
	for _, e := range entries {
		hdr := e.hdr
		require.NoError(t, w.Add(&hdr, bytes.NewReader(e.body)))
	}
	res, err := w.Close()
	require.NoError(t, err)
	return buf.Bytes(), res
}

// readAll reads every entry of an artifact; it returns the first error that
// is not the final io.EOF.
func readAll(src io.Reader, id age.Identity, expected string) ([]entry, Result, error) {
	r, err := NewReader(src, id, ReadOptions{ExpectedSHA256: expected})
	if err != nil {
		return nil, Result{}, err
	}
	defer func() { _ = r.Close() }()
	return walk(r)
}

func walk(r *Reader) ([]entry, Result, error) {
	var out []entry
	for {
		hdr, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out, r.Result(), nil
		}
		if err != nil {
			return out, Result{}, err
		}
		body, err := io.ReadAll(r)
		if err != nil {
			return out, Result{}, err
		}
		out = append(out, entry{hdr: *hdr, body: body})
	}
}

// sealPlain builds an artifact from a raw tar stream, bypassing the Writer's
// checks: it is how a hostile or broken artifact is made.
func sealPlain(t testing.TB, tarBytes, afterZstd []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	aw, err := age.Encrypt(&out, identity(t).Recipient())
	require.NoError(t, err)
	zw, err := zstd.NewWriter(aw)
	require.NoError(t, err)
	_, err = zw.Write(tarBytes)
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	_, err = aw.Write(afterZstd)
	require.NoError(t, err)
	require.NoError(t, aw.Close())
	return out.Bytes()
}

// rawTar writes headers with archive/tar directly, without name checks.
func rawTar(t testing.TB, hdrs []tar.Header, end bool) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range hdrs {
		require.NoError(t, tw.WriteHeader(&h))
		if h.Size > 0 {
			_, err := tw.Write(bytes.Repeat([]byte{'x'}, int(h.Size)))
			require.NoError(t, err)
		}
	}
	require.NoError(t, tw.Flush())
	if end {
		require.NoError(t, tw.Close())
	}
	return buf.Bytes()
}
