package archive

import (
	"archive/tar"
	"bytes"
	"fmt"
	"strings"
	"testing"

	"filippo.io/age"
	"github.com/stretchr/testify/require"
)

// tamperTarget is an artifact of a few 64 KiB age chunks.
func tamperTarget(t *testing.T) ([]byte, Result, int) {
	t.Helper()
	entries := []entry{
		{hdr: tar.Header{Typeflag: tar.TypeDir, Name: "d", Mode: 0o755}},
		{hdr: tar.Header{Typeflag: tar.TypeReg, Name: "d/random", Mode: 0o644, Size: 300 << 10}, body: randomBytes(3, 300<<10)},
		{hdr: tar.Header{Typeflag: tar.TypeReg, Name: "d/last", Mode: 0o644, Size: 5}, body: []byte("last\n")},
	}
	artifact, res := writeArtifact(t, entries, Options{})
	hdr, err := age.ExtractHeader(bytes.NewReader(artifact))
	require.NoError(t, err)
	require.True(t, bytes.HasPrefix(artifact, hdr))
	return artifact, res, len(hdr)
}

// tamperOffsets are the interesting places to cut or flip: inside the age
// header, the payload nonce, on age chunk boundaries, the middle, the end.
func tamperOffsets(size, hdrLen int) []int {
	const chunk = 64<<10 + 16
	payload := hdrLen + 16
	offs := []int{0, 1, 10, hdrLen / 2, hdrLen - 1, hdrLen, hdrLen + 8, payload, payload + 1,
		payload + chunk - 1, payload + chunk, payload + 2*chunk, size / 2, size - 17, size - 16, size - 2, size - 1}
	var out []int
	for _, o := range offs {
		if o >= 0 && o < size {
			out = append(out, o)
		}
	}
	return out
}

func TestReaderDetectsTruncation(t *testing.T) {
	t.Parallel()
	artifact, res, hdrLen := tamperTarget(t)
	for _, off := range tamperOffsets(len(artifact), hdrLen) {
		for _, expected := range []string{res.SHA256, ""} {
			_, _, err := readAll(bytes.NewReader(artifact[:off]), identity(t), expected)
			require.Error(t, err, "truncated at %d of %d, expected sum %q", off, len(artifact), expected)
		}
	}
}

func TestReaderDetectsFlippedByte(t *testing.T) {
	t.Parallel()
	artifact, res, hdrLen := tamperTarget(t)
	for _, off := range tamperOffsets(len(artifact), hdrLen) {
		for _, expected := range []string{res.SHA256, ""} {
			bad := bytes.Clone(artifact)
			bad[off] ^= 0x01
			_, _, err := readAll(bytes.NewReader(bad), identity(t), expected)
			require.Error(t, err, "byte %d of %d flipped, expected sum %q", off, len(artifact), expected)
		}
	}
}

func TestReaderDetectsTrailingGarbage(t *testing.T) {
	t.Parallel()
	artifact, res, _ := tamperTarget(t)
	for _, tail := range [][]byte{{0}, []byte("garbage"), bytes.Repeat([]byte{0}, 4096)} {
		for _, expected := range []string{res.SHA256, ""} {
			bad := append(bytes.Clone(artifact), tail...)
			_, _, err := readAll(bytes.NewReader(bad), identity(t), expected)
			require.Error(t, err, "%d trailing bytes, expected sum %q", len(tail), expected)
		}
	}
}

func TestReaderDetectsWrongSum(t *testing.T) {
	t.Parallel()
	artifact, res, _ := tamperTarget(t)
	wrong := []byte(res.SHA256)
	wrong[0] ^= 0x01 // still hex: '0'..'9' and 'a'..'f' flip to hex digits or ':'..
	if !strings.ContainsRune("0123456789abcdef", rune(wrong[0])) {
		wrong[0] = '0'
		if res.SHA256[0] == '0' {
			wrong[0] = '1'
		}
	}
	entries, _, err := readAll(bytes.NewReader(artifact), identity(t), string(wrong))
	require.ErrorIs(t, err, ErrChecksum)
	require.Len(t, entries, 3, "entries are delivered, the mismatch surfaces instead of the end")
}

// TestReaderRejectsHostileArchives builds artifacts that decrypt fine (anyone
// holding the public recipient can make one) but carry hostile content.
func TestReaderRejectsHostileArchives(t *testing.T) {
	t.Parallel()
	reg := func(name string) tar.Header {
		return tar.Header{Typeflag: tar.TypeReg, Name: name, Size: 3, Mode: 0o644}
	}
	good := []tar.Header{reg("ok")}
	tests := []struct {
		name    string
		plain   []byte
		after   []byte
		wantErr string
	}{
		{"dotdot", rawTar(t, []tar.Header{reg("ok"), reg("../evil")}, true), nil, `"../evil"`},
		{"absolute", rawTar(t, []tar.Header{reg("/etc/cron.d/evil")}, true), nil, "absolute"},
		{"inner dotdot", rawTar(t, []tar.Header{reg("a/../../evil")}, true), nil, `".." path element`},
		{"dot", rawTar(t, []tar.Header{{Typeflag: tar.TypeDir, Name: "./", Mode: 0o755}}, true), nil, `"." path element`},
		{"hard link escape", rawTar(t, []tar.Header{{Typeflag: tar.TypeLink, Name: "l", Linkname: "/etc/shadow"}}, true), nil, "hard link target"},
		{"global header", rawTar(t, []tar.Header{{Typeflag: tar.TypeXGlobalHeader, Name: "g", PAXRecords: map[string]string{"comment": "x"}}}, true), nil, "unsupported tar type"},
		{"no end marker", rawTar(t, good, false), nil, "end-of-archive marker"},
		{"data after end", append(rawTar(t, good, true), []byte("smuggled")...), nil, "trailing data after the tar"},
		{"data after zstd", rawTar(t, good, true), []byte("not zstd"), ""},
		{"cut mid body", rawTar(t, good, true)[:514], nil, "unexpected EOF"},
		{"cut in padding", rawTar(t, good, true)[:600], nil, "end-of-archive marker"},
		{"cut mid header", rawTar(t, good, true)[:100], nil, "unexpected EOF"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			artifact := sealPlain(t, tc.plain, tc.after)
			_, _, err := readAll(bytes.NewReader(artifact), identity(t), "")
			require.Error(t, err)
			require.ErrorContains(t, err, tc.wantErr)
		})
	}
}

func TestReaderAcceptsZeroPadding(t *testing.T) {
	t.Parallel()
	// GNU tar pads archives to 10 KiB records; that is still a clean end.
	plain := rawTar(t, []tar.Header{{Typeflag: tar.TypeReg, Name: "ok", Size: 3}}, true)
	plain = append(plain, make([]byte, 10240-len(plain)%10240)...)
	entries, res, err := readAll(bytes.NewReader(sealPlain(t, plain, nil)), identity(t), "")
	require.NoError(t, err)
	require.Len(t, entries, 1)
	require.Equal(t, int64(len(plain)), res.TarBytes)
	require.Zero(t, len(plain)%10240, fmt.Sprint(len(plain)))
}
