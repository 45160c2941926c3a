package sshexec

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/agentd/internal/incremental"
	"github.com/xvault/xvault/sdk/archive"
)

// rec is one find record: type, depth, name, then defaults unless given.
func rec(typ string, depth int, name string, rest ...string) string {
	f := []string{typ, fmt.Sprint(depth), name, "0", "1700000000.1234567890", "1700000001.0000000009", "42", "644", "1", "2", "1", ""}
	copy(f[3:], rest)
	if typ == "l" && len(rest) < 9 {
		f[11] = "target"
	}
	return strings.Join(f, "\x00") + "\x00"
}

func end(status int) string { return fmt.Sprintf("E\x00%d\x00", status) }

func parse(t *testing.T, stream string, roots, dirs, exclude []string) ([]incremental.Record, []Warning, error) {
	t.Helper()
	return readListing(bufio.NewReader(strings.NewReader(stream)), roots, dirs, exclude, SizeHint{})
}

func paths(recs []incremental.Record) []string {
	var out []string
	for _, r := range recs {
		out = append(out, r.Path)
	}
	return out
}

func TestReadListing(t *testing.T) {
	t.Parallel()
	stream := rec("d", 0, "var", "4096") + end(0) +
		rec("d", 0, "www", "4096") +
		rec("f", 1, "a b", "12", "1700000000.1234567890", "-315619200.2500000000", "7", "4755", "33", "34", "2") +
		rec("d", 1, "sub", "4096") +
		rec("l", 2, "ln", "6", "1.5", "2", "8", "777", "0", "0", "1", "../x") +
		rec("p", 2, "fifo") +
		rec("f", 2, "x.log") +
		rec("d", 2, "cache") + rec("f", 3, "c") +
		rec("f", 1, "z") + end(1) + "TAR"
	br := bufio.NewReader(strings.NewReader(stream))
	recs, warns, err := readListing(br, []string{"/var/www"}, []string{"/var"}, []string{"*.log", "/var/www/sub/cache"}, SizeHint{})
	require.NoError(t, err)
	require.Equal(t, []string{"var", "var/www", "var/www/a b", "var/www/sub", "var/www/sub/ln", "var/www/z"}, paths(recs))
	require.Equal(t, incremental.Record{Path: "var/www/a b", Type: 'f', Flags: incremental.FlagExec, Size: 12,
		MtimeNS: 1700000000123456789, CtimeNS: -315619200250000000, Inode: 7, Mode: 0o4755, UID: 33, GID: 34, Nlink: 2}, recs[2])
	require.Equal(t, int64(0), recs[1].Size, "directories carry no size")
	require.Equal(t, "../x", recs[4].Target)
	require.Equal(t, int64(1_500_000_000), recs[4].MtimeNS)
	require.Equal(t, []Warning{{Path: "/var/www/sub/fifo", Err: warns[0].Err}}, warns)
	require.EqualError(t, warns[0].Err, "skipped: named pipe")
	rest, _ := br.ReadString(0)
	require.Equal(t, "TAR", rest, "the reader stops at the tar stream")
}

func TestReadListingRootSlash(t *testing.T) {
	t.Parallel()
	recs, _, err := parse(t, rec("d", 0, "/")+rec("d", 1, "etc")+rec("f", 2, "passwd")+end(0), []string{"/"}, nil, []string{"*"})
	require.NoError(t, err)
	require.Empty(t, recs, `"*" excludes every entry below "/"`)
	recs, _, err = parse(t, rec("d", 0, "/")+rec("d", 1, "etc")+rec("f", 2, "passwd")+end(0), []string{"/"}, nil, nil)
	require.NoError(t, err)
	require.Equal(t, []string{"etc", "etc/passwd"}, paths(recs), `"/" itself is not a record`)
}

func TestReadListingErrors(t *testing.T) {
	t.Parallel()
	root := rec("d", 0, "www")
	for _, tc := range []struct {
		name, stream, want string
	}{
		{"no find", "N\x00", "no GNU find"},
		{"field count", root + "f\x001\x00a\x00" + end(0), `listing of /var/www: record 2: malformed listing: size "E" is not a number`},
		{"unknown type", root + rec("x", 1, "a") + end(0), `record 2: malformed listing: unknown type "x"`},
		{"type E in place", rec("E", 0, "www") + end(0), "does not exist"},
		{"depth jump", root + rec("d", 1, "a") + rec("f", 3, "b") + end(0), "record 3: malformed listing: depth 3 does not follow a directory at depth 2"},
		{"below a file", root + rec("f", 1, "a") + rec("f", 2, "b") + end(0), "record 3: malformed listing: depth 2 does not follow"},
		{"second root", root + rec("d", 0, "www") + end(0), "a second entry at depth 0"},
		{"wrong root", rec("d", 0, "etc") + end(0), "the first record must be the root itself"},
		{"dotdot", root + rec("f", 1, "..") + end(0), `name ".."`},
		{"slash", root + rec("f", 1, "a/../../b") + end(0), "contains a slash"},
		{"empty", root + rec("f", 1, "") + end(0), "empty name"},
		{"size", root + rec("f", 1, "a", "-1") + end(0), `size "-1" is not a number`},
		{"size hex", root + rec("f", 1, "a", "0x10") + end(0), `size "0x10"`},
		{"mtime", root + rec("f", 1, "a", "1", "1e9") + end(0), `mtime "1e9" is not a time`},
		{"mtime two signs", root + rec("f", 1, "a", "1", "--5.0") + end(0), `mtime "--5.0"`},
		{"mtime huge", root + rec("f", 1, "a", "1", "99999999999.0") + end(0), "mtime"},
		{"mode", root + rec("f", 1, "a", "1", "1.0", "1.0", "1", "17777") + end(0), "mode 17777 above 07777"},
		{"mode octal", root + rec("f", 1, "a", "1", "1.0", "1.0", "1", "8") + end(0), `mode "8"`},
		{"uid", root + rec("f", 1, "a", "1", "1.0", "1.0", "1", "644", "4294967296") + end(0), "uid"},
		{"empty target", root + rec("l", 1, "a", "1", "1.0", "1.0", "1", "777", "0", "0", "1", "") + end(0), "symlink with an empty target"},
		{"target on file", root + rec("f", 1, "a", "1", "1.0", "1.0", "1", "644", "0", "0", "1", "x") + end(0), "a link target on an entry of type f"},
		{"status", root + "E\x00x\x00", `exit status "x"`},
		{"truncated", root + "f\x001\x00a", "ended inside a field"},
		{"ended", root, "ended early"},
		{"long field", root + "f\x001\x00" + strings.Repeat("a", maxListField+1) + "\x00", "malformed listing: a field"},
		{"missing root", end(1), "configured path /var/www does not exist"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := parse(t, tc.stream, []string{"/var/www"}, nil, nil)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestReadListingParents(t *testing.T) {
	t.Parallel()
	roots, dirs := []string{"/a/x/r", "/b/x/r"}, []string{"/a", "/a/x", "/b", "/b/x"}
	body := rec("d", 0, "r") + end(0) + rec("d", 0, "r") + end(0)
	recs, _, err := parse(t, rec("d", 0, "a")+rec("d", 0, "x")+rec("d", 0, "b")+rec("d", 0, "x")+end(0)+body, roots, dirs, nil)
	require.NoError(t, err)
	require.Equal(t, []string{"a", "a/x", "b", "b/x", "a/x/r", "b/x/r"}, paths(recs))
	_, _, err = parse(t, rec("d", 0, "a")+rec("d", 0, "b")+rec("d", 0, "x")+end(1)+body, roots, dirs, nil)
	require.ErrorContains(t, err, "stat /a/x (parent of a configured path): not found")
	_, _, err = parse(t, rec("d", 0, "a")+rec("d", 0, "x")+rec("d", 0, "b")+end(1)+body, roots, dirs, nil)
	require.ErrorContains(t, err, "stat /b/x (parent of a configured path): not found")
	_, _, err = parse(t, rec("d", 0, "a")+rec("l", 0, "x")+end(0), roots, dirs, nil)
	require.ErrorContains(t, err, "/a/x (parent of a configured path) is not a directory")
}

func TestReadBanner(t *testing.T) {
	t.Parallel()
	bn, err := readBanner(&fieldReader{br: bufio.NewReader(strings.NewReader("xv-incr 1\x00tar (GNU tar) 1.34\nCopyright\x00find (GNU findutils) 4.9.0\x001700000000\x00"))})
	require.NoError(t, err)
	require.Equal(t, "find (GNU findutils) 4.9.0", bn.findVersion)
	require.Equal(t, int64(1700000000), bn.start.Unix())
	for in, want := range map[string]string{
		"hello\n":                         `expected "xv-incr 1", got "hello\n"`,
		"xv-incr 1\x00t\x00f\x00soon\x00": `server clock "soon"`,
		"xv-incr 1\x00t\x00":              "ended early",
	} {
		_, err := readBanner(&fieldReader{br: bufio.NewReader(strings.NewReader(in))})
		require.ErrorContains(t, err, want)
	}
}

func TestListingScript(t *testing.T) {
	t.Parallel()
	s := listingScript([]string{"/var/www"}, []string{"/var"}, []string{"*.log", "/var/www/cache", "a?b", "[ab]", `x\y`, "it's"})
	require.Contains(t, s, "find -H '/var' -maxdepth 0 -printf '"+findFormat+"'; printf 'E\\0%s\\0' \"$?\"\n")
	require.Contains(t, s, `find -P '/var/www' \( -name '*.log' -o -name 'it'\''s' \) -prune -o -printf '`)
	require.Contains(t, s, "--null --no-recursion -C / -T -;;")
	require.Contains(t, listingScript([]string{"/"}, nil, []string{"*.log"}), "find -P '/' -printf")
}

// listingBytes is a listing of n entries in directories of 100 files.
func listingBytes(n int) []byte {
	var b bytes.Buffer
	b.WriteString(rec("d", 0, "www", "4096"))
	for i := range n {
		if i%100 == 0 {
			b.WriteString(rec("d", 1, fmt.Sprintf("dir-%05d", i/100), "4096"))
			continue
		}
		b.WriteString(rec("f", 2, fmt.Sprintf("wp-content-file-%06d.php", i), "12345", "1700000000.1234567890",
			"1700000000.1234567890", fmt.Sprint(1000000+i), "644", "33", "33", "1"))
	}
	b.WriteString(end(0))
	return b.Bytes()
}

func BenchmarkReadListing(b *testing.B) {
	in := listingBytes(41500)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		recs, _, err := readListing(bufio.NewReaderSize(bytes.NewReader(in), readBufferSize), []string{"/var/www"}, nil, []string{"*.log"}, SizeHint{})
		if err != nil || len(recs) != 41501 {
			b.Fatal(err, len(recs))
		}
	}
}

func FuzzReadListing(f *testing.F) {
	f.Add([]byte(rec("d", 0, "a") + end(0) + rec("d", 0, "www") + rec("f", 1, "x") + rec("l", 1, "l") + end(0)))
	f.Add([]byte(rec("d", 0, "a") + end(0) + rec("d", 0, "www") + rec("d", 1, "d") + rec("f", 2, "x.log") + rec("p", 2, "p") + end(1)))
	f.Add([]byte("N\x00"))
	f.Add(listingBytes(300))
	f.Fuzz(func(t *testing.T, stream []byte) {
		recs, _, err := readListing(bufio.NewReader(bytes.NewReader(stream)), []string{"/a/www"}, []string{"/a"}, []string{"*.log"}, SizeHint{})
		if err != nil {
			return
		}
		require.NotEmpty(t, recs)
		require.Equal(t, "a", recs[0].Path)
		for _, r := range recs[1:] {
			require.NoError(t, archive.ValidName(r.Path))
			require.True(t, r.Path == "a/www" || strings.HasPrefix(r.Path, "a/www/"), r.Path)
			require.NotContains(t, r.Path, ".log")
			require.Contains(t, "fdl", string(r.Type))
			require.LessOrEqual(t, r.Mode, uint32(0o7777))
			require.Equal(t, r.Type == 'l', r.Target != "")
		}
	})
}
