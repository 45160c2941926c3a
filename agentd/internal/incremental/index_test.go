package incremental

import (
	"bufio"
	"bytes"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"filippo.io/age"
	"github.com/stretchr/testify/require"
)

func sampleIndex(t testing.TB) *Index {
	recs := []Record{
		d("srv"), d("srv/w"), f("srv/w/a", 2), f("srv/w/a b\nc", math.MaxInt64), l("srv/w/l", "../x\xff"),
		d("srv/w/z"), f("srv/w/z/empty", 0),
	}
	recs[2].Flags |= FlagReread
	recs[2].MtimeNS, recs[2].CtimeNS = -1_500_000_000, math.MinInt64
	recs[3].UID, recs[3].GID, recs[3].Nlink, recs[3].Inode = math.MaxUint32, 0, math.MaxUint32, math.MaxUint64
	recs[6].Mode = 0o7777
	sftp := sftpOf(recs[5:6])[0]
	recs[5] = sftp
	h := testHeader(testIDs, ListingFind)
	h.ParentSnapshotID, h.ChainPosition = "snp_0", 3
	h.Entries = len(recs)
	return &Index{Header: h, Records: recs}
}

func encodeIndex(t testing.TB, idx *Index) (*age.X25519Identity, []byte) {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	require.NoError(t, err)
	var b bytes.Buffer
	require.NoError(t, Encode(&b, idx, id.Recipient()))
	return id, b.Bytes()
}

func TestIndexRoundTrip(t *testing.T) {
	t.Parallel()
	idx := sampleIndex(t)
	id, enc := encodeIndex(t, idx)
	got, err := Decode(bytes.NewReader(enc), id, testIDs)
	require.NoError(t, err)
	require.Equal(t, idx.Header.ListingStart.UnixNano(), got.Header.ListingStart.UnixNano())
	got.Header.ListingStart, got.Header.CreatedAt = idx.Header.ListingStart, idx.Header.CreatedAt
	require.Equal(t, idx, got)
}

func TestIndexEmptyRoundTrip(t *testing.T) {
	t.Parallel()
	idx := &Index{Header: testHeader(testIDs, ListingSFTP)}
	id, enc := encodeIndex(t, idx)
	got, err := Decode(bytes.NewReader(enc), id, testIDs)
	require.NoError(t, err)
	require.Empty(t, got.Records)
	require.Equal(t, 0, got.Header.Entries)
}

// TestIndexIsStandard decodes an index with the age and zstd tools.
func TestIndexIsStandard(t *testing.T) {
	t.Parallel()
	for _, tool := range []string{"age", "zstd"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (apt-get install age zstd)", tool)
		}
	}
	idx := sampleIndex(t)
	id, enc := encodeIndex(t, idx)
	dir := t.TempDir()
	key := filepath.Join(dir, "key.txt")
	require.NoError(t, os.WriteFile(key, []byte(id.String()+"\n"), 0o600))
	cmd := exec.Command("sh", "-c", `age -d -i "$1" | zstd -d -c`, "sh", key)
	cmd.Stdin = bytes.NewReader(enc)
	plain, err := cmd.Output()
	require.NoError(t, err)
	require.True(t, bytes.HasPrefix(plain, []byte("XVIDX\x00\x01")))
	got, err := decodePlain(bufio.NewReader(bytes.NewReader(plain)), testIDs)
	require.NoError(t, err)
	require.Len(t, got.Records, len(idx.Records))
}

func TestDecodeRefuses(t *testing.T) {
	t.Parallel()
	h := testHeader(testIDs, ListingFind)
	good := []Record{d("a"), f("a/b", 1), f("a/c", 2)}
	h.Entries = 3
	bad := func(fn func([]Record)) []byte {
		recs := []Record{d("a"), f("a/b", 1), f("a/c", 2)}
		fn(recs)
		return rawPlain(t, h, recs, -1)
	}
	plain := rawPlain(t, h, good, -1)
	hEntries, hKind := h, h
	hEntries.Entries, hKind.Listing = 2, "ftp"
	cases := []struct {
		name, want string
		data       []byte
	}{
		{"bad magic", "bad magic", append([]byte("XVIDY"), plain[5:]...)},
		{"unknown version", "unknown index version 2", append([]byte("XVIDX\x00\x02"), plain[7:]...)},
		{"out of order", `record 3: paths out of order ("a/b" after "a/c")`,
			bad(func(r []Record) { r[1].Path, r[2].Path = "a/c", "a/b" })},
		{"duplicate", `record 3: path "a/b" listed twice`, bad(func(r []Record) { r[2].Path = "a/b" })},
		{"bad name", `record 2: invalid entry name "a/../b"`, bad(func(r []Record) { r[1].Path = "a/../b" })},
		{"absolute", `record 1: invalid entry name "/a"`, bad(func(r []Record) { r[0].Path = "/a" })},
		{"mode", "mode 010000 above 07777", bad(func(r []Record) { r[1].Mode = 0o10000 })},
		{"type", `unknown type 'p'`, bad(func(r []Record) { r[1].Type = 'p' })},
		{"flags", "unknown flags 0x6", bad(func(r []Record) { r[1].Flags |= 4 })},
		{"dir size", "size 4096 not allowed", bad(func(r []Record) { r[0].Size = 4096 })},
		{"target on file", "link target on a non-symlink", bad(func(r []Record) { r[1].Target = "x" })},
		{"inode without exec", "without the exec flag", bad(func(r []Record) { r[1].Flags = 0 })},
		{"trailer count", "count mismatch: 3 records read, trailer says 4", rawPlain(t, h, good, 4)},
		{"data after end", "data after the end", append(bytes.Clone(plain), 0)},
		{"truncated in header", "header: truncated", plain[:12]},
		{"truncated in record", "record 3: ", plain[:len(plain)-6]},
		{"truncated before count", "record count: truncated", plain[:len(plain)-1]},
		{"empty", "magic: truncated", nil},
		{"header entries", "header says 2", rawPlain(t, hEntries, good, -1)},
		{"listing kind", `unknown listing "ftp"`, rawPlain(t, hKind, good, -1)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decodePlain(bufio.NewReader(bytes.NewReader(tc.data)), testIDs)
			require.ErrorContains(t, err, tc.want)
		})
	}
	_, err := decodePlain(bufio.NewReader(bytes.NewReader(plain)), testIDs)
	require.NoError(t, err, "the unmodified index decodes")
}

func TestDecodeIDsMismatch(t *testing.T) {
	t.Parallel()
	idx := sampleIndex(t)
	id, enc := encodeIndex(t, idx)
	for _, want := range []IDs{
		{TenantID: "ten_2", SourceID: "src_1", SnapshotID: "snp_a"},
		{TenantID: "ten_1", SourceID: "src_2", SnapshotID: "snp_a"},
		{TenantID: "ten_1", SourceID: "src_1", SnapshotID: "snp_b"},
	} {
		_, err := Decode(bytes.NewReader(enc), id, want)
		require.ErrorContains(t, err, "index of snapshot "+want.SnapshotID+": header names tenant")
	}
}

func TestDecodeWrongIdentity(t *testing.T) {
	t.Parallel()
	_, enc := encodeIndex(t, sampleIndex(t))
	other, err := age.GenerateX25519Identity()
	require.NoError(t, err)
	_, err = Decode(bytes.NewReader(enc), other, testIDs)
	require.ErrorContains(t, err, "index of snapshot snp_a: age: ")
	require.ErrorContains(t, err, "(was this agent re-enrolled?)")
	_, err = Decode(bytes.NewReader([]byte("not age at all")), other, testIDs)
	require.ErrorContains(t, err, "index of snapshot snp_a: age: ")
}

func TestDecodeTruncatedStream(t *testing.T) {
	t.Parallel()
	idx := sampleIndex(t)
	id, enc := encodeIndex(t, idx)
	for _, n := range []int{len(enc) - 1, len(enc) - 17, len(enc) / 2, 250} {
		_, err := Decode(bytes.NewReader(enc[:n]), id, testIDs)
		require.Error(t, err, "cut at %d of %d", n, len(enc))
		require.ErrorContains(t, err, "index of snapshot snp_a: ")
	}
	flipped := bytes.Clone(enc)
	flipped[len(flipped)-3] ^= 1
	_, err := Decode(bytes.NewReader(flipped), id, testIDs)
	require.Error(t, err)
}

func TestEncodeRefusesUnsorted(t *testing.T) {
	t.Parallel()
	idx := sampleIndex(t)
	idx.Records[1], idx.Records[2] = idx.Records[2], idx.Records[1]
	id, err := age.GenerateX25519Identity()
	require.NoError(t, err)
	err = Encode(&bytes.Buffer{}, idx, id.Recipient())
	require.ErrorContains(t, err, "encode index of snapshot snp_a: record 3: paths out of order")
}

func FuzzDecodePlain(f *testing.F) {
	idx := sampleIndex(f)
	var b bytes.Buffer
	w := bufio.NewWriter(&b)
	require.NoError(f, encodePlain(w, idx))
	require.NoError(f, w.Flush())
	f.Add(b.Bytes())
	f.Add(rawPlain(f, testHeader(testIDs, ListingSFTP), nil, -1))
	f.Add([]byte("XVIDX\x00\x01\x02{}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := decodePlain(bufio.NewReader(bytes.NewReader(data)), testIDs)
		if err != nil {
			return
		}
		// Whatever decodes re-encodes to an index that decodes the same.
		var b bytes.Buffer
		w := bufio.NewWriter(&b)
		require.NoError(t, encodePlain(w, got))
		require.NoError(t, w.Flush())
		again, err := decodePlain(bufio.NewReader(&b), testIDs)
		require.NoError(t, err)
		require.Equal(t, got.Records, again.Records)
	})
}
