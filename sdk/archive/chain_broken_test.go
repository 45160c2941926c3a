package archive

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// editDumpdir returns an edit that replaces the dumpdir of dir.
func editDumpdir(dir string, kids ...DumpdirChild) func([]entry) []entry {
	return func(entries []entry) []entry {
		for i := range entries {
			if entries[i].hdr.Name == dir {
				dd, _ := EncodeDumpdir(kids)
				entries[i].hdr.PAXRecords = map[string]string{DumpdirKey: dd}
			}
		}
		return entries
	}
}

// insertBefore returns an edit that adds e before the end record.
func insertBefore(e entry) func([]entry) []entry {
	return func(entries []entry) []entry {
		n := len(entries) - 1
		return append(entries[:n:n], e, entries[n])
	}
}

func TestChainBroken(t *testing.T) {
	t.Parallel()
	cb, _ := workedExample(t)
	links := cb.chainLinks(nil) // C, B, A
	c, b, a := links[0], links[1], links[2]
	badSum := b
	badSum.SHA256 = strings.Repeat("0", 64)
	aAsB := a
	aAsB.SnapshotID = "snp_b"
	cases := []struct {
		name  string
		links []ChainArtifact
		want  string
	}{
		{"missing member", []ChainArtifact{c, a}, "chain broken: snapshot snp_c names parent snp_b, but the next link is snp_a"},
		{"wrong order", []ChainArtifact{b, c, a}, "chain broken: snapshot snp_b names parent snp_a, but the next link is snp_c"},
		{"id mismatch", []ChainArtifact{c, aAsB, a}, `chain broken: link 2 should be snapshot snp_b, but its artifact is snapshot "snp_a"`},
		{"sha256 mismatch", []ChainArtifact{c, badSum, a}, "snapshot snp_b: archive: artifact sha256 mismatch"},
		{"no full", []ChainArtifact{c, b}, "chain broken: snapshot snp_c has chain_position 2, but 1 link(s) are given below it (down to snp_b)"},
		{"full in the middle", []ChainArtifact{c, a, b}, "names parent snp_b, but the next link is snp_a"},
		{"incremental alone", []ChainArtifact{c}, "snapshot snp_c is incremental: restore its chain"},
	}
	for _, tc := range cases {
		_, err := assemble(t, tc.links, ChainOptions{})
		require.ErrorContains(t, err, tc.want, tc.name)
	}
	_, err := assemble(t, []ChainArtifact{c, badSum, a}, ChainOptions{})
	require.ErrorIs(t, err, ErrChecksum)
	_, err = assemble(t, []ChainArtifact{c}, ChainOptions{})
	var ie *IncrementalError
	require.ErrorAs(t, err, &ie)
	require.Equal(t, "snp_b", ie.ParentSnapshotID)
	_, err = NewChainReader([]ChainArtifact{c, c, a}, identity(t), ChainOptions{})
	require.ErrorContains(t, err, "snapshot snp_c is listed twice")
}

// TestChainHostileTip: a tip that breaks the rules of section 3 is refused
// with an error naming the problem.
func TestChainHostileTip(t *testing.T) {
	t.Parallel()
	a := baseTree()
	b := a.clone()
	b["srv/w/a"] = tfile("alpha 2", 0o644, 90)
	file := func(name, body string) entry {
		return entry{hdr: tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(body))}, body: []byte(body)}
	}
	n := func(name string) DumpdirChild { return DumpdirChild{Name: name, Code: DumpdirUnchanged} }
	y := func(name string) DumpdirChild { return DumpdirChild{Name: name, Code: DumpdirStored} }
	d := func(name string) DumpdirChild { return DumpdirChild{Name: name, Code: DumpdirDir} }
	rootKids := []DumpdirChild{y("a"), n("run.sh"), n("empty"), n("l"), d("d"), d("s")}
	cases := []struct {
		name string
		edit func([]entry) []entry
		want string
	}{
		{"wanted nowhere", editDumpdir("files/srv/w", append(rootKids, n("zz"))...),
			"chain broken: files/srv/w/zz not found in any artifact"},
		{"database in an incremental", insertBefore(file("databases/shop.sql", "x")),
			`snapshot snp_b is incremental but holds "databases/shop.sql": an incremental holds only files/ entries`},
		{"stored but not listed", insertBefore(file("files/srv/w/extra", "x")),
			"files/srv/w/extra is stored but not listed by the dumpdir of files/srv/w"},
		{"stored but listed N", editDumpdir("files/srv/w", append(rootKids[1:], n("a"))...),
			"files/srv/w/a is stored but listed N by the dumpdir of files/srv/w"},
		{"listed directory missing", editDumpdir("files/srv/w", append(rootKids, d("gone"))...),
			"lists the directory files/srv/w/gone, but the artifact does not hold it"},
		{"directory emptied by its dumpdir", editDumpdir("files/srv/w/d"),
			"directory files/srv/w/d/e is not listed by the dumpdir of files/srv/w/d"},
		{"directory without dumpdir", func(es []entry) []entry {
			for i := range es {
				if es[i].hdr.Name == "files/srv/w/d" {
					es[i].hdr.PAXRecords = nil
				}
			}
			return es
		}, "directory files/srv/w/d inside a configured path has no GNU.dumpdir record"},
		{"bad dumpdir", func(es []entry) []entry {
			es[2].hdr.PAXRecords = map[string]string{DumpdirKey: "Ra\x00\x00"}
			return es
		}, `has unknown code 'R'`},
		{"dumpdir on a file", func(es []entry) []entry {
			for i := range es {
				if es[i].hdr.Name == "files/srv/w/a" {
					es[i].hdr.PAXRecords = map[string]string{DumpdirKey: "\x00"}
				}
			}
			return es
		}, "files/srv/w/a carries a GNU.dumpdir record but is not a directory"},
		{"correction without dumpdir", insertBefore(entry{hdr: tar.Header{Typeflag: tar.TypeDir, Name: "files/srv/w", Mode: 0o755}}),
			"directory files/srv/w appears twice, once without a dumpdir"},
		{"entry after the end", func(es []entry) []entry { return append(es, file("files/srv/w/late", "x")) },
			`entry "files/srv/w/late" after xvault.end.json`},
	}
	for _, tc := range cases {
		cb := &chainBuilder{t: t, roots: []string{"srv/w"}}
		cb.full("snp_a", a)
		cb.incr("snp_b", b, incrOpts{edit: tc.edit})
		_, err := assemble(t, cb.chainLinks(nil), ChainOptions{})
		require.ErrorContains(t, err, tc.want, tc.name)
	}
}

// TestChainSingleFull: a chain of one full streams it unchanged.
func TestChainSingleFull(t *testing.T) {
	t.Parallel()
	cb := &chainBuilder{t: t, roots: []string{"srv/w"}}
	cb.full("snp_a", baseTree())
	want, _, err := readAll(bytes.NewReader(cb.links[0].data), identity(t), cb.links[0].sha)
	require.NoError(t, err)
	c, err := NewChainReader(cb.chainLinks(nil), identity(t), ChainOptions{})
	require.NoError(t, err)
	defer func() { _ = c.Close() }()
	var got []entry
	for {
		hdr, err := c.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		body, err := io.ReadAll(c)
		require.NoError(t, err)
		got = append(got, entry{hdr: *hdr, body: body})
	}
	require.Equal(t, len(want), len(got))
	for i := range want {
		require.Equal(t, want[i].hdr.Name, got[i].hdr.Name)
		require.Equal(t, want[i].body, got[i].body, want[i].hdr.Name)
	}
	require.Len(t, c.Results(), 1)
	require.Equal(t, cb.links[0].sha, c.Results()[0].SHA256)
}
