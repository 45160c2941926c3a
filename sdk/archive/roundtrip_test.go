package archive

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"filippo.io/age"
	"github.com/klauspost/compress/zstd"
	"github.com/stretchr/testify/require"
)

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	for _, opts := range []Options{{}, {Level: zstd.SpeedFastest, Concurrency: 1}, {Level: zstd.SpeedBestCompression, Concurrency: 4}} {
		t.Run(opts.withDefaults().Level.String(), func(t *testing.T) {
			t.Parallel()
			want := sampleEntries()
			artifact, wres := writeArtifact(t, want, opts)

			sum := sha256.Sum256(artifact)
			require.Equal(t, hex.EncodeToString(sum[:]), wres.SHA256)
			require.Equal(t, int64(len(artifact)), wres.StoredBytes)
			require.Equal(t, int64(len(want)), wres.Entries)
			require.Equal(t, int64(7), wres.Files)

			got, rres, err := readAll(iotest.HalfReader(bytes.NewReader(artifact)), identity(t), wres.SHA256)
			require.NoError(t, err)
			require.Equal(t, wres, rres)
			requireSameEntries(t, want, got)
		})
	}
}

func requireSameEntries(t *testing.T, want, got []entry) {
	t.Helper()
	require.Len(t, got, len(want))
	var plain int64
	for i, w := range want {
		g := got[i]
		require.Equal(t, w.hdr.Name, g.hdr.Name, "entry %d", i)
		require.Equal(t, w.hdr.Typeflag, g.hdr.Typeflag, w.hdr.Name)
		require.Equal(t, w.hdr.Mode, g.hdr.Mode, w.hdr.Name)
		require.True(t, w.hdr.ModTime.Equal(g.hdr.ModTime), "%s: mtime %v != %v", w.hdr.Name, w.hdr.ModTime, g.hdr.ModTime)
		require.Equal(t, w.hdr.Uid, g.hdr.Uid, w.hdr.Name)
		require.Equal(t, w.hdr.Gid, g.hdr.Gid, w.hdr.Name)
		require.Equal(t, w.hdr.Uname, g.hdr.Uname, w.hdr.Name)
		require.Equal(t, w.hdr.Linkname, g.hdr.Linkname, w.hdr.Name)
		require.Equal(t, w.hdr.Size, g.hdr.Size, w.hdr.Name)
		require.True(t, bytes.Equal(w.body, g.body), "%s: body differs", w.hdr.Name)
		plain += w.hdr.Size
	}
	require.Positive(t, plain)
}

func TestRoundTripEmptyArchive(t *testing.T) {
	t.Parallel()
	artifact, wres := writeArtifact(t, nil, Options{})
	got, rres, err := readAll(bytes.NewReader(artifact), identity(t), wres.SHA256)
	require.NoError(t, err)
	require.Empty(t, got)
	require.Equal(t, wres, rres)
	require.Equal(t, int64(1024), rres.TarBytes)
}

func TestWriterDirectoryTrailingSlash(t *testing.T) {
	t.Parallel()
	artifact, _ := writeArtifact(t, []entry{
		{hdr: tar.Header{Typeflag: tar.TypeDir, Name: "a/", Mode: 0o755}},
		{hdr: tar.Header{Typeflag: tar.TypeDir, Name: "a/b", Mode: 0o755}},
	}, Options{})
	got, _, err := readAll(bytes.NewReader(artifact), identity(t), "")
	require.NoError(t, err)
	require.Equal(t, "a", got[0].hdr.Name)
	require.Equal(t, "a/b", got[1].hdr.Name)
}

func TestWriterRefusesBadEntries(t *testing.T) {
	t.Parallel()
	reg := func(name string, size int64) *tar.Header {
		return &tar.Header{Typeflag: tar.TypeReg, Name: name, Size: size, Mode: 0o644}
	}
	tests := []struct {
		name    string
		hdr     *tar.Header
		body    io.Reader
		wantErr string
	}{
		{"absolute", reg("/etc/passwd", 0), nil, `"/etc/passwd"`},
		{"dotdot", reg("a/../../b", 0), nil, `"a/../../b"`},
		{"unclean", reg("a//b", 0), nil, `"a//b"`},
		{"empty name", reg("", 0), nil, "empty"},
		{"nul", reg("a\x00b", 0), nil, "NUL"},
		{"short body", reg("short", 10), strings.NewReader("12345"), "yielded 5 bytes, header says 10"},
		{"long body", reg("long", 3), strings.NewReader("12345"), "more than the 3 bytes"},
		{"nil body", reg("nil", 3), nil, "nil body"},
		{"body error", reg("err", 3), iotest.ErrReader(errors.New("disk on fire")), "disk on fire"},
		{"bad type", &tar.Header{Typeflag: tar.TypeXGlobalHeader, Name: "g"}, nil, "unsupported tar type"},
		{"dir with size", &tar.Header{Typeflag: tar.TypeDir, Name: "d", Size: 5}, nil, "size 5"},
		{"hard link out", &tar.Header{Typeflag: tar.TypeLink, Name: "h", Linkname: "../x"}, nil, "hard link target"},
		{"nil header", nil, nil, "nil header"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w, err := NewWriter(io.Discard, identity(t).Recipient(), Options{})
			require.NoError(t, err)
			err = w.Add(tc.hdr, tc.body)
			require.ErrorContains(t, err, tc.wantErr)
			// The writer stays poisoned and Close reports the same failure.
			require.ErrorIs(t, w.Add(reg("ok", 0), nil), err)
			_, cerr := w.Close()
			require.ErrorIs(t, cerr, err)
			_, cerr = w.Close()
			require.ErrorIs(t, cerr, errWriterClosed)
		})
	}
}

func TestWriterReportsDestinationError(t *testing.T) {
	t.Parallel()
	w, err := NewWriter(failingWriter{}, identity(t).Recipient(), Options{})
	require.NoError(t, err)
	body := randomBytes(2, 3<<20)
	err = w.Add(&tar.Header{Typeflag: tar.TypeReg, Name: "f", Size: int64(len(body))}, bytes.NewReader(body))
	if err == nil {
		_, err = w.Close()
	} else {
		_, _ = w.Close()
	}
	require.ErrorContains(t, err, "no space left")
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("no space left on device") }

func TestReaderWrongIdentity(t *testing.T) {
	t.Parallel()
	artifact, _ := writeArtifact(t, sampleEntries()[:3], Options{})
	other, err := age.GenerateX25519Identity()
	require.NoError(t, err)
	_, _, err = readAll(bytes.NewReader(artifact), other, "")
	var noMatch *age.NoIdentityMatchError
	require.ErrorAs(t, err, &noMatch)
}

func TestReaderRejectsBadExpectedSum(t *testing.T) {
	t.Parallel()
	_, err := NewReader(bytes.NewReader(nil), identity(t), ReadOptions{ExpectedSHA256: "abc"})
	require.ErrorContains(t, err, "64 hex digits")
}

func TestVerifyFile(t *testing.T) {
	t.Parallel()
	artifact, wres := writeArtifact(t, sampleEntries(), Options{})
	ctx := context.Background()

	res, err := VerifyFile(ctx, bytes.NewReader(artifact), identity(t), wres.SHA256)
	require.NoError(t, err)
	require.Equal(t, wres, res)

	res, err = VerifyFile(ctx, bytes.NewReader(artifact), nil, strings.ToUpper(wres.SHA256))
	require.NoError(t, err)
	require.Equal(t, Result{StoredBytes: wres.StoredBytes, SHA256: wres.SHA256}, res)

	wrong := strings.Repeat("0", 64)
	_, err = VerifyFile(ctx, bytes.NewReader(artifact), nil, wrong)
	require.ErrorIs(t, err, ErrChecksum)
	_, err = VerifyFile(ctx, bytes.NewReader(artifact), identity(t), wrong)
	require.ErrorIs(t, err, ErrChecksum)

	_, err = VerifyFile(ctx, strings.NewReader("not an age file"), nil, "")
	require.ErrorContains(t, err, "age header")

	canceled, cancel := context.WithCancel(ctx)
	cancel()
	_, err = VerifyFile(canceled, bytes.NewReader(artifact), identity(t), "")
	require.ErrorIs(t, err, context.Canceled)
}
